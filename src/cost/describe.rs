//! Text for `tracewell prices show MODEL`: which entry a model name
//! resolves to, by which rules, and what each kind of token costs.

use std::fmt::Write;

use rust_decimal::Decimal;

use super::price::ModelPrice;
use super::resolve::{Resolved, resolve_in};
use super::table::PriceTable;

/// Describes how `model` is priced by one table.
pub fn describe_price(table: &PriceTable, model: &str) -> String {
    describe_price_in(&[table], model)
}

/// Describes how `model` is priced by several tables, per-project
/// overrides first, as [`price_event`](super::price_event) would price it.
pub fn describe_price_in(tables: &[&PriceTable], model: &str) -> String {
    match resolve_in(tables, &[model]) {
        Some(resolved) => describe_resolved(&resolved),
        None => {
            let searched: Vec<&str> = tables.iter().map(|table| table.label()).collect();
            format!(
                "model {model:?} is not in the price table ({}).\n\
                 Its events are stored with their token counts and marked unpriced.\n\
                 Add a per-project price for it to price them.\n",
                searched.join(", ")
            )
        }
    }
}

fn describe_resolved(resolved: &Resolved) -> String {
    let price = &resolved.price;
    let mut text = String::new();
    let _ = writeln!(text, "model:    {}", resolved.candidate);
    let _ = writeln!(
        text,
        "matched:  {} (in the {})",
        resolved.key, resolved.table
    );
    let rules: Vec<String> = resolved.steps.iter().map(ToString::to_string).collect();
    let rule = if rules.is_empty() {
        "exact name".to_string()
    } else {
        rules.join(", then ")
    };
    let _ = writeln!(text, "rule:     {rule}");
    if let Some(provider) = &price.provider {
        let _ = writeln!(text, "provider: {provider}");
    }
    if let Some(mode) = &price.mode {
        let _ = writeln!(text, "mode:     {mode}");
    }

    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "{:<16}{:>24}{:>20}",
        "USD", "per token", "per 1M tokens"
    );
    for (kind, value, fallback) in price_rows(price) {
        let _ = writeln!(text, "{}", price_row(kind, value, fallback));
    }

    for tier in &price.tiers {
        let _ = writeln!(text);
        let _ = writeln!(
            text,
            "when the prompt has more than {} tokens, for the whole call:",
            tier.above_prompt_tokens
        );
        for (field, value) in tier.prices() {
            if let Some(value) = value {
                let _ = writeln!(text, "{}", price_row(kind_name(field), Some(value), ""));
            }
        }
    }
    text
}

fn price_rows(price: &ModelPrice) -> [(&'static str, Option<Decimal>, &'static str); 5] {
    [
        ("input", Some(price.input), ""),
        ("cache read", price.cache_read, "input price"),
        ("cache creation", price.cache_creation, "input price"),
        ("output", Some(price.output), ""),
        ("reasoning", price.reasoning, "output price"),
    ]
}

fn price_row(kind: &str, value: Option<Decimal>, fallback: &str) -> String {
    match value {
        Some(value) => {
            let per_million = (value * Decimal::from(1_000_000)).normalize();
            format!("{kind:<16}{:>24}{per_million:>20}", value.normalize())
        }
        None => format!("{kind:<16}{:>24}", format!("({fallback})")),
    }
}

fn kind_name(field: &str) -> &'static str {
    use super::price::field;
    match field {
        field::INPUT => "input",
        field::OUTPUT => "output",
        field::CACHE_READ => "cache read",
        field::CACHE_CREATION => "cache creation",
        _ => "reasoning",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_prefixed_dated_model() {
        let text = describe_price(PriceTable::embedded(), "openai/gpt-4o-2099-01-01");
        assert!(text.contains("matched:  gpt-4o (in the embedded"), "{text}");
        assert!(
            text.contains("provider prefix \"openai/\" removed"),
            "{text}"
        );
        assert!(
            text.contains("version suffix \"-2099-01-01\" removed"),
            "{text}"
        );
        assert!(text.contains("0.0000025"), "{text}");
        assert!(text.contains("2.5\n"), "{text}");
        assert!(text.contains("(output price)"), "{text}");
    }

    #[test]
    fn describe_exact_model_with_tier() {
        let text = describe_price(PriceTable::embedded(), "gemini-2.5-pro");
        assert!(text.contains("rule:     exact name"), "{text}");
        assert!(text.contains("more than 200000 tokens"), "{text}");
    }

    #[test]
    fn describe_unknown_model() {
        let text = describe_price(PriceTable::embedded(), "my-local-llama");
        assert!(text.contains("not in the price table"), "{text}");
        assert!(text.contains("unpriced"), "{text}");
    }
}
