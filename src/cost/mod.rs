//! Cost and token accounting: the model price table, model name resolution,
//! exact cost computation in picodollars, and token count estimates.
//!
//! When an LLM event is stored, the ingest layer fills missing token counts
//! with [`fill_missing_tokens`], converts a client-sent cost with
//! [`client_cost_to_picodollars`], and calls [`price_event`]. The price
//! entry used is returned with the cost so it can be stored with the event,
//! and a price table update changes past costs only on request.

mod compute;
mod describe;
mod event;
mod money;
mod price;
mod pricer;
mod resolve;
mod table;
mod tokens;

#[cfg(test)]
mod tests;

pub use compute::{CostBreakdown, TokenSplit, compute_cost};
pub use describe::{describe_price, describe_price_in};
pub use event::{EventCost, price_event, price_resolved};
pub use money::{
    MoneyError, client_cost_to_picodollars, f64_usd_to_picodollars, parse_usd, picodollars_to_usd,
    tokens_cost, usd_to_picodollars,
};
pub use price::{ModelPrice, PriceError, PriceTier};
pub use pricer::{PRICE_FILE, Pricer, price_file};
pub use resolve::{ADDED_PREFIXES, MatchStep, Resolved, resolve_in};
pub use table::{EMBEDDED_LABEL, PriceTable, TableError};
pub use tokens::{FALLBACK_TOKENIZER, estimate_tokens, fill_missing_tokens, tokenizer_for_model};
