//! Cost of one LLM call from its token counts, split by kind.
//!
//! Token kinds, with `TokenUsage` as the ingest layer normalizes it (the
//! prompt count includes cached tokens, the completion count includes
//! reasoning tokens):
//!
//! | kind           | tokens                                         | price per token                   |
//! |----------------|------------------------------------------------|-----------------------------------|
//! | uncached input | prompt − cache read − cache creation, min 0    | input                             |
//! | cache read     | cache read                                     | cache read, else input            |
//! | cache creation | cache creation                                 | cache creation, else input        |
//! | output         | completion − reasoning, min 0                  | output                            |
//! | reasoning      | reasoning                                      | reasoning, else output            |
//!
//! So each token is priced once: a cached token never also counts as
//! uncached input, and a reasoning token never also counts as output. When
//! the prompt is longer than a long-context tier's threshold, the tier's
//! prices apply to the whole call (see [`ModelPrice::for_prompt`]).
//!
//! Each kind's cost is the exact product, rounded once to a whole
//! picodollar, half to even. The total is the sum of the rounded kinds, so
//! the parts always add up to it.

use serde::Serialize;

use super::money::{MoneyError, tokens_cost};
use super::price::ModelPrice;
use crate::model::{Picodollars, TokenUsage};

/// Token counts of one call, each token in exactly one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TokenSplit {
    pub uncached_input: i64,
    pub cache_read: i64,
    pub cache_creation: i64,
    /// Completion tokens that are not reasoning tokens.
    pub output: i64,
    pub reasoning: i64,
}

/// Cost of one call in picodollars, by token kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CostBreakdown {
    pub tokens: TokenSplit,
    pub uncached_input: Picodollars,
    pub cache_read: Picodollars,
    pub cache_creation: Picodollars,
    pub output: Picodollars,
    pub reasoning: Picodollars,
    /// Sum of the kinds above.
    pub total: Picodollars,
    /// Threshold of the long-context tier that priced the call, if any.
    pub tier_above_prompt_tokens: Option<i64>,
}

impl TokenSplit {
    /// Splits the counts into disjoint kinds. A missing count is zero.
    pub fn from_usage(usage: &TokenUsage) -> Self {
        let count = |value: Option<i64>| value.unwrap_or(0).max(0);
        let cache_read = count(usage.cache_read);
        let cache_creation = count(usage.cache_creation);
        let reasoning = count(usage.reasoning);

        let cached = cache_read.saturating_add(cache_creation);
        Self {
            uncached_input: count(usage.prompt).saturating_sub(cached).max(0),
            cache_read,
            cache_creation,
            output: count(usage.completion).saturating_sub(reasoning).max(0),
            reasoning,
        }
    }
}

/// Computes the cost of one call. Fails only when a product does not fit
/// in 64-bit picodollars (trillions of tokens).
pub fn compute_cost(price: &ModelPrice, usage: &TokenUsage) -> Result<CostBreakdown, MoneyError> {
    let tokens = TokenSplit::from_usage(usage);
    let prompt_tokens = usage.prompt.unwrap_or(0).max(0);
    let (price, tier) = price.for_prompt(prompt_tokens);

    let uncached_input = tokens_cost(tokens.uncached_input, price.input)?;
    let cache_read_price = price.cache_read.unwrap_or(price.input);
    let cache_read = tokens_cost(tokens.cache_read, cache_read_price)?;
    let cache_creation_price = price.cache_creation.unwrap_or(price.input);
    let cache_creation = tokens_cost(tokens.cache_creation, cache_creation_price)?;
    let output = tokens_cost(tokens.output, price.output)?;
    let reasoning_price = price.reasoning.unwrap_or(price.output);
    let reasoning = tokens_cost(tokens.reasoning, reasoning_price)?;

    let total = [
        uncached_input,
        cache_read,
        cache_creation,
        output,
        reasoning,
    ]
    .into_iter()
    .try_fold(0_i64, i64::checked_add)
    .ok_or(MoneyError::Overflow)?;

    Ok(CostBreakdown {
        tokens,
        uncached_input,
        cache_read,
        cache_creation,
        output,
        reasoning,
        total,
        tier_above_prompt_tokens: tier,
    })
}
