//! One model's per-token prices, read from a price table entry in the
//! litellm format (`input_cost_per_token`, `output_cost_per_token`, ...).
//!
//! Only the fields that price a chat or completion call by tokens are read.
//! Prices for batch, priority and flex service tiers, audio, images, seconds,
//! characters and queries are ignored, because an event's token counts cannot
//! tell which of those applied.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// Field names of the litellm format that this module reads.
pub mod field {
    pub const INPUT: &str = "input_cost_per_token";
    pub const OUTPUT: &str = "output_cost_per_token";
    pub const CACHE_READ: &str = "cache_read_input_token_cost";
    pub const CACHE_CREATION: &str = "cache_creation_input_token_cost";
    pub const REASONING: &str = "output_cost_per_reasoning_token";
    pub const PROVIDER: &str = "litellm_provider";
    pub const MODE: &str = "mode";
}

/// Significant digits kept from a price.
///
/// The litellm file was written from binary floats, so some prices carry
/// conversion noise in their 16th and 17th digits (`4.0000000000000003e-07`
/// for 4e-07). Rounding to 15 digits, the precision a float keeps exactly,
/// restores the price as written and leaves every other price unchanged.
const PRICE_SIGNIFICANT_DIGITS: u32 = 15;

/// Per-token prices in US dollars of one price table entry.
///
/// A `None` cache or reasoning price means the entry has none, and
/// [`compute_cost`](super::compute_cost) falls back as documented there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPrice {
    /// Price of an uncached input token.
    pub input: Decimal,
    /// Price of an output token.
    pub output: Decimal,
    pub cache_read: Option<Decimal>,
    pub cache_creation: Option<Decimal>,
    pub reasoning: Option<Decimal>,
    /// Higher prices that apply to the whole call once its prompt is longer
    /// than a threshold, sorted by threshold.
    pub tiers: Vec<PriceTier>,
    /// The entry's `litellm_provider`, for display.
    pub provider: Option<String>,
    /// The entry's `mode` (`chat`, `completion`, `embedding`, ...), for display.
    pub mode: Option<String>,
}

/// Prices of a long-context tier, from fields such as
/// `input_cost_per_token_above_200k_tokens`.
///
/// The tier applies when the prompt (cached tokens included) has more than
/// `above_prompt_tokens` tokens. A `None` price keeps the base price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTier {
    pub above_prompt_tokens: i64,
    pub input: Option<Decimal>,
    pub output: Option<Decimal>,
    pub cache_read: Option<Decimal>,
    pub cache_creation: Option<Decimal>,
    pub reasoning: Option<Decimal>,
}

/// Error for an invalid price table entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("invalid entry: expected a JSON object of prices")]
    NotAnObject,
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("invalid {field} {value}: expected a non-negative number of US dollars per token")]
    InvalidPrice { field: String, value: String },
    #[error("missing price: the entry has neither input_cost_per_token nor output_cost_per_token")]
    NoTokenPrice,
}

impl ModelPrice {
    /// Creates a price with only input and output prices per token.
    pub fn new(input: Decimal, output: Decimal) -> Self {
        Self {
            input,
            output,
            cache_read: None,
            cache_creation: None,
            reasoning: None,
            tiers: Vec::new(),
            provider: None,
            mode: None,
        }
    }

    /// Parses one entry in the litellm format, for example
    /// `{"input_cost_per_token": 2.5e-6, "output_cost_per_token": 1e-5}`.
    ///
    /// Prices may be JSON numbers or decimal strings; they are read from
    /// their text, not through `f64`. Returns `Ok(None)` for an entry without
    /// any per-token price (a model billed per image, second or character),
    /// and an error for a price that is negative or not a number.
    pub fn from_entry_json(json: &str) -> Result<Option<Self>, PriceError> {
        if !json.trim_start().starts_with('{') {
            return Err(PriceError::NotAnObject);
        }
        let fields: HashMap<String, &RawValue> =
            serde_json::from_str(json).map_err(|error| PriceError::Json(error.to_string()))?;
        Self::from_fields(&fields)
    }

    /// Parses one entry given as a JSON value, as the API and CLI receive it.
    /// See [`ModelPrice::from_entry_json`]; a missing price is an error here.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, PriceError> {
        if !value.is_object() {
            return Err(PriceError::NotAnObject);
        }
        Self::from_entry_json(&value.to_string())?.ok_or(PriceError::NoTokenPrice)
    }

    fn from_fields(fields: &HashMap<String, &RawValue>) -> Result<Option<Self>, PriceError> {
        let price = |name: &str| match fields.get(name) {
            Some(raw) => parse_price(name, raw),
            None => Ok(None),
        };
        let input = price(field::INPUT)?;
        let output = price(field::OUTPUT)?;
        if input.is_none() && output.is_none() {
            return Ok(None);
        }

        // litellm reads a missing input or output price as zero: the entry
        // then prices only the other kind (an embedding has no output).
        let zero = Decimal::ZERO;
        Ok(Some(Self {
            input: input.unwrap_or(zero),
            output: output.unwrap_or(zero),
            cache_read: price(field::CACHE_READ)?,
            cache_creation: price(field::CACHE_CREATION)?,
            reasoning: price(field::REASONING)?,
            tiers: parse_tiers(fields)?,
            provider: text_field(fields, field::PROVIDER),
            mode: text_field(fields, field::MODE),
        }))
    }

    /// Returns the prices in force for a call with `prompt_tokens` input
    /// tokens: the highest tier whose threshold the prompt exceeds, with the
    /// base price for every kind that tier does not set.
    pub fn for_prompt(&self, prompt_tokens: i64) -> (Self, Option<i64>) {
        let tier = self
            .tiers
            .iter()
            .rev()
            .find(|tier| prompt_tokens > tier.above_prompt_tokens);
        let Some(tier) = tier else {
            return (self.clone(), None);
        };

        let mut effective = self.clone();
        effective.tiers.clear();
        effective.input = tier.input.unwrap_or(self.input);
        effective.output = tier.output.unwrap_or(self.output);
        effective.cache_read = tier.cache_read.or(self.cache_read);
        effective.cache_creation = tier.cache_creation.or(self.cache_creation);
        effective.reasoning = tier.reasoning.or(self.reasoning);
        (effective, Some(tier.above_prompt_tokens))
    }
}

/// Writes the price in the litellm format, prices as decimal strings, so a
/// stored price reads back with [`ModelPrice::from_entry_json`].
impl Serialize for ModelPrice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(field::INPUT, &self.input)?;
        map.serialize_entry(field::OUTPUT, &self.output)?;
        for (name, price) in [
            (field::CACHE_READ, self.cache_read),
            (field::CACHE_CREATION, self.cache_creation),
            (field::REASONING, self.reasoning),
        ] {
            if let Some(price) = price {
                map.serialize_entry(name, &price)?;
            }
        }
        for tier in &self.tiers {
            for (base, price) in tier.prices() {
                if let Some(price) = price {
                    map.serialize_entry(&tier.field_name(base), &price)?;
                }
            }
        }
        if let Some(provider) = &self.provider {
            map.serialize_entry(field::PROVIDER, provider)?;
        }
        if let Some(mode) = &self.mode {
            map.serialize_entry(field::MODE, mode)?;
        }
        map.end()
    }
}

/// Reads a price written by `Serialize` or any litellm-format entry.
impl<'de> Deserialize<'de> for ModelPrice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        ModelPrice::from_value(&value).map_err(serde::de::Error::custom)
    }
}

impl PriceTier {
    fn new(above_prompt_tokens: i64) -> Self {
        Self {
            above_prompt_tokens,
            input: None,
            output: None,
            cache_read: None,
            cache_creation: None,
            reasoning: None,
        }
    }

    /// Returns each base field name with this tier's price for it.
    pub fn prices(&self) -> [(&'static str, Option<Decimal>); 5] {
        [
            (field::INPUT, self.input),
            (field::OUTPUT, self.output),
            (field::CACHE_READ, self.cache_read),
            (field::CACHE_CREATION, self.cache_creation),
            (field::REASONING, self.reasoning),
        ]
    }

    fn slot(&mut self, base: &str) -> Option<&mut Option<Decimal>> {
        match base {
            field::INPUT => Some(&mut self.input),
            field::OUTPUT => Some(&mut self.output),
            field::CACHE_READ => Some(&mut self.cache_read),
            field::CACHE_CREATION => Some(&mut self.cache_creation),
            field::REASONING => Some(&mut self.reasoning),
            _ => None,
        }
    }

    fn field_name(&self, base: &str) -> String {
        format!("{base}_above_{}k_tokens", self.above_prompt_tokens / 1000)
    }
}

/// Collects fields named `<base field>_above_<N>k_tokens` into tiers with a
/// threshold of N × 1000 prompt tokens, as litellm reads them. Variants with
/// a further suffix (`_priority`, `_batches`) or a cache lifetime
/// (`_above_1hr`) do not match and are ignored.
fn parse_tiers(fields: &HashMap<String, &RawValue>) -> Result<Vec<PriceTier>, PriceError> {
    let mut tiers: Vec<PriceTier> = Vec::new();
    for (name, raw) in fields {
        let Some((base, threshold)) = split_tier_field(name) else {
            continue;
        };
        let Some(price) = parse_price(name, raw)? else {
            continue;
        };

        let index = match tiers
            .iter()
            .position(|t| t.above_prompt_tokens == threshold)
        {
            Some(index) => index,
            None => {
                tiers.push(PriceTier::new(threshold));
                tiers.len() - 1
            }
        };
        if let Some(slot) = tiers[index].slot(base) {
            *slot = Some(price);
        }
    }
    tiers.sort_by_key(|tier| tier.above_prompt_tokens);
    Ok(tiers)
}

fn split_tier_field(name: &str) -> Option<(&'static str, i64)> {
    let (base, rest) = name.split_once("_above_")?;
    let base = [
        field::INPUT,
        field::OUTPUT,
        field::CACHE_READ,
        field::CACHE_CREATION,
        field::REASONING,
    ]
    .into_iter()
    .find(|known| *known == base)?;

    let thousands = rest.strip_suffix("k_tokens")?;
    if thousands.is_empty() || !thousands.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let threshold = thousands.parse::<i64>().ok()?.checked_mul(1000)?;
    Some((base, threshold))
}

/// Reads a price from its JSON text: a number, a decimal string, or null
/// (treated as absent).
fn parse_price(name: &str, raw: &RawValue) -> Result<Option<Decimal>, PriceError> {
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    let invalid = || PriceError::InvalidPrice {
        field: name.to_string(),
        value: text.to_string(),
    };

    let digits = match serde_json::from_str::<String>(text) {
        Ok(string) => string,
        Err(_) if text.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) => {
            text.to_string()
        }
        Err(_) => return Err(invalid()),
    };
    let price = super::money::parse_usd(&digits).map_err(|_| invalid())?;
    if price.is_sign_negative() && !price.is_zero() {
        return Err(invalid());
    }

    let rounded = price
        .round_sf(PRICE_SIGNIFICANT_DIGITS)
        .ok_or_else(invalid)?;
    Ok(Some(rounded.normalize()))
}

fn text_field(fields: &HashMap<String, &RawValue>, name: &str) -> Option<String> {
    let raw = fields.get(name)?;
    serde_json::from_str::<String>(raw.get()).ok()
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    #[test]
    fn entry_reads_token_prices() {
        let json = r#"{"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
            "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai",
            "mode": "chat", "input_cost_per_token_batches": 1.25e-06,
            "search_context_cost_per_query": {"search_context_size_low": 0.03}}"#;
        let price = ModelPrice::from_entry_json(json).unwrap().unwrap();
        assert_eq!(price.input, dec!(0.0000025));
        assert_eq!(price.output, dec!(0.00001));
        assert_eq!(price.cache_read, Some(dec!(0.00000125)));
        assert_eq!(price.cache_creation, None);
        assert_eq!(price.reasoning, None);
        assert!(price.tiers.is_empty());
        assert_eq!(price.provider.as_deref(), Some("openai"));
        assert_eq!(price.mode.as_deref(), Some("chat"));
    }

    #[test]
    fn entry_price_keeps_all_written_digits() {
        let json = r#"{"input_cost_per_token": 1.23456789012345e-07, "output_cost_per_token": "0.000001"}"#;
        let price = ModelPrice::from_entry_json(json).unwrap().unwrap();
        assert_eq!(price.input, dec!(0.000000123456789012345));
        assert_eq!(price.output, dec!(0.000001));
    }

    #[test]
    fn entry_price_drops_float_noise() {
        let json = r#"{"input_cost_per_token": 4.0000000000000003e-07, "output_cost_per_token": 1.1428571428571428e-06}"#;
        let price = ModelPrice::from_entry_json(json).unwrap().unwrap();
        assert_eq!(price.input, dec!(0.0000004));
        assert_eq!(price.output, dec!(0.00000114285714285714));
    }

    #[test]
    fn entry_without_token_price_is_none() {
        let json = r#"{"output_cost_per_image": 0.04, "mode": "image_generation"}"#;
        assert_eq!(ModelPrice::from_entry_json(json), Ok(None));
    }

    #[test]
    fn entry_missing_output_is_zero() {
        let json = r#"{"input_cost_per_token": 1e-07, "mode": "embedding"}"#;
        let price = ModelPrice::from_entry_json(json).unwrap().unwrap();
        assert_eq!(price.input, dec!(0.0000001));
        assert_eq!(price.output, Decimal::ZERO);
    }

    #[test]
    fn entry_rejects_bad_prices() {
        let negative = ModelPrice::from_entry_json(r#"{"input_cost_per_token": -1e-06}"#);
        assert!(matches!(negative, Err(PriceError::InvalidPrice { .. })));
        let word = ModelPrice::from_entry_json(r#"{"output_cost_per_token": "cheap"}"#);
        assert!(matches!(word, Err(PriceError::InvalidPrice { .. })));
        let boolean = ModelPrice::from_entry_json(r#"{"input_cost_per_token": true}"#);
        assert!(matches!(boolean, Err(PriceError::InvalidPrice { .. })));
        let list = ModelPrice::from_entry_json("[1, 2]");
        assert_eq!(list, Err(PriceError::NotAnObject));
    }

    #[test]
    fn entry_reads_long_context_tiers() {
        let json = r#"{"input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05,
            "input_cost_per_token_above_200k_tokens": 2.5e-06,
            "output_cost_per_token_above_200k_tokens": 1.5e-05,
            "input_cost_per_token_above_200k_tokens_priority": 4.5e-06,
            "cache_creation_input_token_cost_above_1hr": 2e-06,
            "input_cost_per_token_above_128k_tokens": 2e-06}"#;
        let price = ModelPrice::from_entry_json(json).unwrap().unwrap();
        assert_eq!(price.tiers.len(), 2);
        assert_eq!(price.tiers[0].above_prompt_tokens, 128_000);
        assert_eq!(price.tiers[0].input, Some(dec!(0.000002)));
        assert_eq!(price.tiers[0].output, None);
        assert_eq!(price.tiers[1].above_prompt_tokens, 200_000);
        assert_eq!(price.tiers[1].input, Some(dec!(0.0000025)));
        assert_eq!(price.tiers[1].output, Some(dec!(0.000015)));
    }

    #[test]
    fn for_prompt_picks_tier_above_threshold() {
        let json = r#"{"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
            "cache_read_input_token_cost": 1e-07,
            "input_cost_per_token_above_200k_tokens": 3e-06}"#;
        let price = ModelPrice::from_entry_json(json).unwrap().unwrap();

        let (at_threshold, tier) = price.for_prompt(200_000);
        assert_eq!(tier, None);
        assert_eq!(at_threshold.input, dec!(0.000001));

        let (above, tier) = price.for_prompt(200_001);
        assert_eq!(tier, Some(200_000));
        assert_eq!(above.input, dec!(0.000003));
        assert_eq!(above.output, dec!(0.000002));
        assert_eq!(above.cache_read, Some(dec!(0.0000001)));
    }

    #[test]
    fn serialized_price_reads_back() {
        let json = r#"{"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
            "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
            "output_cost_per_reasoning_token": 2e-05,
            "input_cost_per_token_above_200k_tokens": 6e-06,
            "litellm_provider": "anthropic", "mode": "chat"}"#;
        let price = ModelPrice::from_entry_json(json).unwrap().unwrap();
        let written = serde_json::to_string(&price).unwrap();
        assert!(written.contains(r#""input_cost_per_token":"0.000003""#));
        let read_back = ModelPrice::from_entry_json(&written).unwrap().unwrap();
        assert_eq!(read_back, price);
    }

    #[test]
    fn from_value_requires_a_price() {
        let value = json!({"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6});
        let price = ModelPrice::from_value(&value).unwrap();
        assert_eq!(price.output, dec!(0.000002));
        assert_eq!(
            ModelPrice::from_value(&json!({"mode": "chat"})),
            Err(PriceError::NoTokenPrice)
        );
        assert_eq!(
            ModelPrice::from_value(&json!("gpt-4o")),
            Err(PriceError::NotAnObject)
        );
    }
}
