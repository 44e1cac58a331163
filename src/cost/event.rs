//! The cost of one stored event: a client-sent cost, a cost computed from
//! token counts, or an unpriced mark.

use serde::Serialize;

use super::compute::{CostBreakdown, compute_cost};
use super::money::MoneyError;
use super::resolve::{Resolved, resolve_in};
use super::table::PriceTable;
use crate::model::{CostSource, Picodollars, TokenUsage};

/// Cost of one event, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventCost {
    /// The cost to store. `None` when unpriced or when nothing could be priced.
    pub cost: Option<Picodollars>,
    /// Origin of `cost`. `None` when the event has neither a client cost nor
    /// token counts to price.
    pub source: Option<CostSource>,
    /// The entry that priced the model. Store it with the event (as JSON),
    /// so a later price table update does not change the event's cost.
    pub resolved: Option<Resolved>,
    /// The computed cost by token kind, also when a client cost won.
    pub breakdown: Option<CostBreakdown>,
}

/// Decides the cost of one event when it is stored.
///
/// - `tables`: per-project overrides first, then the price table in use.
/// - `models`: the response model first, then the request model; blank
///   names are skipped.
/// - `client_cost`: a cost the client sent, already converted with
///   [`client_cost_to_picodollars`](super::client_cost_to_picodollars) or
///   [`f64_usd_to_picodollars`](super::f64_usd_to_picodollars). It wins over
///   the computed cost.
///
/// Without a client cost, a resolved model with at least one token count
/// gets a computed cost, and a model not in any table is `Unpriced` with no
/// cost (never a zero cost). Fails only when the computed cost overflows
/// 64-bit picodollars.
pub fn price_event(
    tables: &[&PriceTable],
    models: &[&str],
    usage: &TokenUsage,
    client_cost: Option<Picodollars>,
) -> Result<EventCost, MoneyError> {
    let names: Vec<&str> = models
        .iter()
        .copied()
        .filter(|name| !name.trim().is_empty())
        .collect();
    let resolved = resolve_in(tables, &names);
    price_resolved(resolved, !names.is_empty(), usage, client_cost)
}

/// Decides the cost of one event whose model was already looked up, as
/// [`price_event`] does; `named` tells whether the event named any model.
pub fn price_resolved(
    resolved: Option<Resolved>,
    named: bool,
    usage: &TokenUsage,
    client_cost: Option<Picodollars>,
) -> Result<EventCost, MoneyError> {
    let breakdown = match &resolved {
        Some(resolved) if has_token_counts(usage) => Some(compute_cost(&resolved.price, usage)?),
        _ => None,
    };

    let (cost, source) = match (client_cost, &resolved, &breakdown) {
        (Some(cost), _, _) => (Some(cost), Some(CostSource::Client)),
        (None, Some(resolved), Some(breakdown)) => {
            let price_key = resolved.key.clone();
            (
                Some(breakdown.total),
                Some(CostSource::Computed { price_key }),
            )
        }
        (None, None, _) if named => (None, Some(CostSource::Unpriced)),
        _ => (None, None),
    };
    Ok(EventCost {
        cost,
        source,
        resolved,
        breakdown,
    })
}

fn has_token_counts(usage: &TokenUsage) -> bool {
    [
        usage.prompt,
        usage.completion,
        usage.cache_read,
        usage.cache_creation,
        usage.reasoning,
    ]
    .iter()
    .any(Option::is_some)
}
