//! The price table: model prices keyed by litellm model names, loaded from
//! the embedded copy of litellm's price file, from a newer copy of that
//! file (`tracewell prices update FILE`), or built from per-project overrides.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::price::{ModelPrice, PriceError};

/// litellm's `model_prices_and_context_window.json`, version and licence in
/// `data/NOTICE`.
static EMBEDDED_JSON: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/model_prices.json"
));

/// Label of the embedded table, shown by `prices show`.
pub const EMBEDDED_LABEL: &str = "embedded litellm 1.110.2 price table";

static EMBEDDED: LazyLock<PriceTable> = LazyLock::new(|| {
    PriceTable::parse(Cow::Borrowed(EMBEDDED_JSON), EMBEDDED_LABEL.to_string())
        .expect("the embedded price table is valid")
});

/// Entries of the litellm file that document the format and price nothing.
const NON_MODEL_KEYS: &[&str] = &["sample_spec"];

/// Model prices keyed by model name, as in the litellm file.
#[derive(Debug, Clone)]
pub struct PriceTable {
    label: String,
    entries: HashMap<String, ModelPrice>,
    /// Lowercased key to the key as written, for case-insensitive lookups.
    lowercase_keys: HashMap<String, String>,
    /// Lowercased first path segments of the keys (`azure`, `bedrock`, ...).
    providers: HashSet<String>,
    /// The JSON the table was parsed from; empty for a table built in code.
    source: Cow<'static, [u8]>,
}

/// Error for a rejected price file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("invalid price file: not valid JSON ({0})")]
    Json(String),
    #[error("invalid price file: expected a JSON object of model names to prices")]
    NotAnObject,
    #[error("invalid price file: model {model:?}: {problem}")]
    Entry { model: String, problem: PriceError },
    #[error(
        "invalid price file: no model has input_cost_per_token or output_cost_per_token; \
         expected litellm's model_prices_and_context_window.json"
    )]
    NoPricedModel,
}

impl PriceTable {
    /// Returns the table embedded in the binary, parsed on first use.
    pub fn embedded() -> &'static PriceTable {
        &EMBEDDED
    }

    /// Parses and validates a price file in litellm's format, such as a newer
    /// `model_prices_and_context_window.json` for `tracewell prices update`.
    ///
    /// Entries that are not objects, and entries without any per-token price,
    /// are skipped. Rejects a file that is not a JSON object, has an entry
    /// with a negative or non-numeric price, or prices no model by tokens.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<PriceTable, TableError> {
        let label = format!("price file sha256:{}", hex::encode(Sha256::digest(bytes)));
        Self::parse(Cow::Owned(bytes.to_vec()), label)
    }

    /// Creates an empty table, for per-project overrides.
    pub fn empty(label: impl Into<String>) -> PriceTable {
        PriceTable {
            label: label.into(),
            entries: HashMap::new(),
            lowercase_keys: HashMap::new(),
            providers: HashSet::new(),
            source: Cow::Borrowed(&[]),
        }
    }

    /// Adds or replaces the price of a model, such as a per-project override
    /// or a custom model. The key is stored as written, and lookups through
    /// [`PriceTable::resolve`] ignore case.
    pub fn insert(&mut self, model: impl Into<String>, price: ModelPrice) {
        let model = model.into();
        self.index_lowercase(&model);
        if let Some((segment, _)) = model.split_once('/') {
            self.providers.insert(segment.to_lowercase());
        }
        self.entries.insert(model, price);
    }

    /// Removes a model's price; returns it if there was one.
    pub fn remove(&mut self, model: &str) -> Option<ModelPrice> {
        let removed = self.entries.remove(model)?;
        self.lowercase_keys.remove(&model.to_lowercase());
        let others: Vec<String> = self
            .entries
            .keys()
            .filter(|key| key.to_lowercase() == model.to_lowercase())
            .cloned()
            .collect();
        for other in others {
            self.index_lowercase(&other);
        }
        Some(removed)
    }

    /// Returns the JSON the table was parsed from, byte for byte, so the
    /// caller can store a validated `prices update` file. Empty for a table
    /// built with [`PriceTable::empty`].
    pub fn to_bytes(&self) -> &[u8] {
        &self.source
    }

    /// Returns the label that names where this table came from, for display.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Returns the entry stored under exactly this key.
    pub fn get(&self, key: &str) -> Option<&ModelPrice> {
        self.entries.get(key)
    }

    /// Returns the key as written and its entry, for a key in any case.
    pub(super) fn get_ignoring_case(&self, lowercase: &str) -> Option<(&str, &ModelPrice)> {
        let key = self.lowercase_keys.get(lowercase)?;
        self.entries
            .get_key_value(key)
            .map(|(key, price)| (key.as_str(), price))
    }

    /// Returns whether some key starts with `segment/`; `segment` must be
    /// lowercase. A removed key may leave its segment listed.
    pub(super) fn has_provider(&self, segment: &str) -> bool {
        self.providers.contains(segment)
    }

    fn parse(source: Cow<'static, [u8]>, label: String) -> Result<PriceTable, TableError> {
        let text = std::str::from_utf8(&source)
            .map_err(|error| TableError::Json(format!("not UTF-8: {error}")))?;
        let trimmed = text.trim_start();
        if !trimmed.starts_with('{') {
            // Give the JSON error for text that is not JSON at all.
            serde_json::from_str::<&RawValue>(trimmed)
                .map_err(|error| TableError::Json(error.to_string()))?;
            return Err(TableError::NotAnObject);
        }

        let raw_entries: HashMap<String, &RawValue> =
            serde_json::from_str(text).map_err(|error| TableError::Json(error.to_string()))?;
        let mut table = PriceTable::empty(label);
        for (model, raw) in raw_entries {
            if NON_MODEL_KEYS.contains(&model.as_str()) || !raw.get().starts_with('{') {
                continue;
            }
            match ModelPrice::from_entry_json(raw.get()) {
                Ok(Some(price)) => table.insert(model, price),
                Ok(None) => {}
                Err(problem) => return Err(TableError::Entry { model, problem }),
            }
        }
        if table.is_empty() {
            return Err(TableError::NoPricedModel);
        }

        table.source = source;
        Ok(table)
    }

    /// Maps the lowercased key to `key`, keeping the smallest key when two
    /// keys differ only in case, so lookups do not depend on hash order.
    fn index_lowercase(&mut self, key: &str) {
        let lowercase = key.to_lowercase();
        match self.lowercase_keys.get(&lowercase) {
            Some(existing) if existing.as_str() <= key => {}
            _ => {
                self.lowercase_keys.insert(lowercase, key.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn embedded_table_loads_chat_models() {
        let table = PriceTable::embedded();
        // The file has about 4,900 entries; those without per-token prices
        // (images, audio seconds, search queries) are skipped.
        assert!(table.len() > 3_500, "only {} priced models", table.len());
        assert!(table.get("sample_spec").is_none());

        let gpt_4o = table.get("gpt-4o").unwrap();
        assert_eq!(gpt_4o.input, dec!(0.0000025));
        assert_eq!(gpt_4o.output, dec!(0.00001));
        assert_eq!(gpt_4o.cache_read, Some(dec!(0.00000125)));
        assert_eq!(table.to_bytes(), EMBEDDED_JSON);
    }

    #[test]
    fn embedded_table_skips_image_models() {
        let table = PriceTable::embedded();
        assert!(table.get("dall-e-3").is_none());
    }

    #[test]
    fn from_json_bytes_accepts_litellm_format() {
        let json = br#"{
            "sample_spec": {"input_cost_per_token": 0.0, "max_tokens": "documentation"},
            "my-model": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
            "note": "not an entry",
            "my-image-model": {"output_cost_per_image": 0.01}
        }"#;
        let table = PriceTable::from_json_bytes(json).unwrap();
        assert_eq!(table.len(), 1);
        assert_eq!(table.get("my-model").unwrap().output, dec!(0.000002));
        assert_eq!(table.to_bytes(), json.as_slice());
        assert!(table.label().starts_with("price file sha256:"));
    }

    #[test]
    fn from_json_bytes_names_the_problem() {
        let not_json = PriceTable::from_json_bytes(b"model,price\ngpt-4o,1").unwrap_err();
        assert!(matches!(not_json, TableError::Json(_)), "{not_json}");

        let list = PriceTable::from_json_bytes(b"[1, 2]").unwrap_err();
        assert_eq!(list, TableError::NotAnObject);

        let bad = br#"{"gpt-4o": {"input_cost_per_token": "free"}}"#;
        let error = PriceTable::from_json_bytes(bad).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("\"gpt-4o\""), "{message}");
        assert!(message.contains("input_cost_per_token"), "{message}");

        let nothing = PriceTable::from_json_bytes(br#"{"a": {"mode": "chat"}}"#).unwrap_err();
        assert_eq!(nothing, TableError::NoPricedModel);

        let truncated = PriceTable::from_json_bytes(br#"{"a": {"input_cost_per"#).unwrap_err();
        assert!(matches!(truncated, TableError::Json(_)));
    }

    #[test]
    fn insert_and_remove_overrides() {
        let mut overrides = PriceTable::empty("project overrides");
        overrides.insert("My-Model", ModelPrice::new(dec!(0.000001), dec!(0.000002)));
        assert_eq!(overrides.len(), 1);
        assert_eq!(
            overrides.get_ignoring_case("my-model").unwrap().0,
            "My-Model"
        );

        let removed = overrides.remove("My-Model");
        assert!(removed.is_some());
        assert!(overrides.is_empty());
        assert!(overrides.get_ignoring_case("my-model").is_none());
        assert!(overrides.to_bytes().is_empty());
    }

    #[test]
    fn case_collision_keeps_other_key() {
        let mut table = PriceTable::empty("test");
        table.insert("Model-A", ModelPrice::new(dec!(1), dec!(1)));
        table.insert("model-a", ModelPrice::new(dec!(2), dec!(2)));
        assert_eq!(table.get_ignoring_case("model-a").unwrap().0, "Model-A");

        table.remove("Model-A");
        assert_eq!(table.get_ignoring_case("model-a").unwrap().0, "model-a");
    }
}
