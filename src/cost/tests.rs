//! Costs of whole events against the embedded price table, with expected
//! amounts worked out by hand from the table's prices.
//!
//! Prices per token in `data/model_prices.json` (litellm 1.110.2), in
//! picodollars (1 USD = 10^12):
//!
//! | entry                      | input     | cache read | cache creation | output     | reasoning |
//! |----------------------------|-----------|------------|----------------|------------|-----------|
//! | gpt-4o, azure/gpt-4o       | 2,500,000 | 1,250,000  | -              | 10,000,000 | -         |
//! | gpt-4o-mini(-2024-07-18)   | 150,000   | 75,000     | -              | 600,000    | -         |
//! | claude-sonnet-4-5(-20250929)| 3,000,000 | 300,000   | 3,750,000      | 15,000,000 | -         |
//! | o3-mini                    | 1,100,000 | 550,000    | -              | 4,400,000  | -         |
//! | dashscope/qwen-turbo       | 50,000    | -          | -              | 200,000    | 500,000   |
//! | gpt-4                      | 30,000,000| -          | -              | 60,000,000 | -         |
//! | gemini-2.5-pro             | 1,250,000 | 125,000    | -              | 10,000,000 | -         |
//! | gemini-2.5-pro, prompt > 200k | 2,500,000 | 250,000 | 250,000        | 15,000,000 | -         |

use rust_decimal_macros::dec;
use serde_json::json;

use super::*;
use crate::model::{CostSource, TokenUsage};

fn usage(prompt: i64, completion: i64) -> TokenUsage {
    TokenUsage {
        prompt: Some(prompt),
        completion: Some(completion),
        ..TokenUsage::default()
    }
}

fn cost_of(model: &str, usage: &TokenUsage) -> CostBreakdown {
    let resolved = PriceTable::embedded()
        .resolve(&[model])
        .unwrap_or_else(|| panic!("{model} is in the price table"));
    compute_cost(&resolved.price, usage).unwrap()
}

#[test]
fn table_prices_match_literals() {
    let table = PriceTable::embedded();
    let gpt_4o = table.get("gpt-4o").unwrap();
    assert_eq!(gpt_4o.input, dec!(2.5e-6));
    assert_eq!(gpt_4o.output, dec!(1e-5));
    assert_eq!(gpt_4o.cache_read, Some(dec!(1.25e-6)));

    let claude = table.get("claude-sonnet-4-5").unwrap();
    assert_eq!(claude.input, dec!(3e-6));
    assert_eq!(claude.cache_read, Some(dec!(3e-7)));
    assert_eq!(claude.cache_creation, Some(dec!(3.75e-6)));
    assert_eq!(claude.output, dec!(1.5e-5));

    let qwen = table.get("dashscope/qwen-turbo").unwrap();
    assert_eq!(qwen.output, dec!(2e-7));
    assert_eq!(qwen.reasoning, Some(dec!(5e-7)));

    let gpt_4 = table.get("gpt-4").unwrap();
    assert_eq!(gpt_4.cache_read, None);
}

#[test]
fn cost_table_by_token_kind() {
    struct Case {
        model: &'static str,
        usage: TokenUsage,
        uncached_input: i64,
        cache_read: i64,
        cache_creation: i64,
        output: i64,
        reasoning: i64,
    }
    let full = |prompt, completion, cache_read, cache_creation, reasoning| TokenUsage {
        prompt: Some(prompt),
        completion: Some(completion),
        cache_read: Some(cache_read),
        cache_creation: Some(cache_creation),
        reasoning: Some(reasoning),
        estimated: false,
    };
    let cases = [
        // Plain input and output.
        Case {
            model: "gpt-4o",
            usage: usage(1_000, 500),
            uncached_input: 1_000 * 2_500_000,
            cache_read: 0,
            cache_creation: 0,
            output: 500 * 10_000_000,
            reasoning: 0,
        },
        // Cache reads are part of the prompt and priced once, at the cache price.
        Case {
            model: "gpt-4o-mini",
            usage: full(10_000, 200, 8_000, 0, 0),
            uncached_input: 2_000 * 150_000,
            cache_read: 8_000 * 75_000,
            cache_creation: 0,
            output: 200 * 600_000,
            reasoning: 0,
        },
        // Anthropic cache writes and reads, both inside the prompt count.
        Case {
            model: "claude-sonnet-4-5",
            usage: full(5_000, 300, 1_000, 2_500, 0),
            uncached_input: 1_500 * 3_000_000,
            cache_read: 1_000 * 300_000,
            cache_creation: 2_500 * 3_750_000,
            output: 300 * 15_000_000,
            reasoning: 0,
        },
        // Reasoning inside the completion, no reasoning price: output price.
        Case {
            model: "o3-mini",
            usage: full(100, 1_000, 0, 0, 800),
            uncached_input: 100 * 1_100_000,
            cache_read: 0,
            cache_creation: 0,
            output: 200 * 4_400_000,
            reasoning: 800 * 4_400_000,
        },
        // An entry with a reasoning price uses it.
        Case {
            model: "dashscope/qwen-turbo",
            usage: full(1_000, 600, 0, 0, 400),
            uncached_input: 1_000 * 50_000,
            cache_read: 0,
            cache_creation: 0,
            output: 200 * 200_000,
            reasoning: 400 * 500_000,
        },
        // No cache price in the entry: cached tokens at the input price.
        Case {
            model: "gpt-4",
            usage: full(1_000, 10, 600, 0, 0),
            uncached_input: 400 * 30_000_000,
            cache_read: 600 * 30_000_000,
            cache_creation: 0,
            output: 10 * 60_000_000,
            reasoning: 0,
        },
        // Long-context tier: the whole call at the tier's prices.
        Case {
            model: "gemini-2.5-pro",
            usage: full(250_000, 1_000, 50_000, 0, 0),
            uncached_input: 200_000 * 2_500_000,
            cache_read: 50_000 * 250_000,
            cache_creation: 0,
            output: 1_000 * 15_000_000,
            reasoning: 0,
        },
        Case {
            model: "gemini-2.5-pro",
            usage: full(200_000, 1_000, 50_000, 0, 0),
            uncached_input: 150_000 * 1_250_000,
            cache_read: 50_000 * 125_000,
            cache_creation: 0,
            output: 1_000 * 10_000_000,
            reasoning: 0,
        },
    ];

    for case in cases {
        let cost = cost_of(case.model, &case.usage);
        let label = format!("{} {:?}", case.model, case.usage);
        assert_eq!(cost.uncached_input, case.uncached_input, "{label}");
        assert_eq!(cost.cache_read, case.cache_read, "{label}");
        assert_eq!(cost.cache_creation, case.cache_creation, "{label}");
        assert_eq!(cost.output, case.output, "{label}");
        assert_eq!(cost.reasoning, case.reasoning, "{label}");
        let sum = case.uncached_input
            + case.cache_read
            + case.cache_creation
            + case.output
            + case.reasoning;
        assert_eq!(cost.total, sum, "{label}");
    }
}

#[test]
fn cost_reasoning_not_double_counted() {
    let with_reasoning = TokenUsage {
        reasoning: Some(800),
        ..usage(100, 1_000)
    };
    let cost = cost_of("o3-mini", &with_reasoning);
    // 1,000 completion tokens in all, each at the output price once.
    assert_eq!(cost.total, 100 * 1_100_000 + 1_000 * 4_400_000);
    assert_eq!(cost.tokens.output + cost.tokens.reasoning, 1_000);
    assert_eq!(cost.total, cost_of("o3-mini", &usage(100, 1_000)).total);
}

#[test]
fn cost_cache_not_double_counted() {
    let cached = TokenUsage {
        cache_read: Some(900),
        ..usage(1_000, 0)
    };
    let cost = cost_of("gpt-4o", &cached);
    assert_eq!(cost.tokens.uncached_input, 100);
    assert_eq!(cost.tokens.cache_read, 900);
    assert_eq!(cost.total, 100 * 2_500_000 + 900 * 1_250_000);
}

#[test]
fn cost_inconsistent_counts_never_negative() {
    // More cached tokens than prompt tokens, more reasoning than completion.
    let odd = TokenUsage {
        prompt: Some(100),
        completion: Some(10),
        cache_read: Some(150),
        cache_creation: None,
        reasoning: Some(20),
        estimated: false,
    };
    let cost = cost_of("gpt-4o", &odd);
    assert_eq!(cost.tokens.uncached_input, 0);
    assert_eq!(cost.tokens.output, 0);
    assert_eq!(cost.total, 150 * 1_250_000 + 20 * 10_000_000);
}

#[test]
fn cost_dated_model_name() {
    let resolved = PriceTable::embedded()
        .resolve(&["gpt-4o-mini-2024-07-18"])
        .unwrap();
    assert_eq!(resolved.key, "gpt-4o-mini-2024-07-18");
    let cost = compute_cost(&resolved.price, &usage(2_000, 1_000)).unwrap();
    assert_eq!(cost.total, 2_000 * 150_000 + 1_000 * 600_000);
}

#[test]
fn cost_prefixed_model_name() {
    let cost = cost_of("anthropic/claude-sonnet-4-5-20250929", &usage(1_000, 100));
    assert_eq!(cost.total, 1_000 * 3_000_000 + 100 * 15_000_000);
}

#[test]
fn cost_azure_model_names() {
    let prefixed = PriceTable::embedded().resolve(&["azure/gpt-4o"]).unwrap();
    assert_eq!(prefixed.key, "azure/gpt-4o");
    let cost = compute_cost(&prefixed.price, &usage(1_000, 100)).unwrap();
    assert_eq!(cost.total, 1_000 * 2_500_000 + 100 * 10_000_000);

    // Azure spells gpt-3.5 as gpt-35; the table has it under azure/.
    let azure_spelling = PriceTable::embedded().resolve(&["gpt-35-turbo"]).unwrap();
    assert_eq!(azure_spelling.key, "azure/gpt-35-turbo");
    assert_eq!(azure_spelling.price.input, dec!(5e-7));
    assert_eq!(azure_spelling.price.output, dec!(1.5e-6));
}

#[test]
fn event_unknown_model_is_unpriced() {
    let table = PriceTable::embedded();
    assert_eq!(table.resolve(&["acme-llm-7b"]), None);

    let event = price_event(&[table], &["acme-llm-7b"], &usage(1_000, 100), None).unwrap();
    assert_eq!(event.cost, None);
    assert_eq!(event.source, Some(CostSource::Unpriced));
    assert_eq!(event.resolved, None);
    assert_eq!(event.breakdown, None);
}

#[test]
fn event_computed_cost_records_price() {
    let table = PriceTable::embedded();
    let models = ["gpt-4o-mini-2024-07-18", "gpt-4o-mini"];
    let event = price_event(&[table], &models, &usage(1_000, 100), None).unwrap();

    assert_eq!(event.cost, Some(1_000 * 150_000 + 100 * 600_000));
    let price_key = "gpt-4o-mini-2024-07-18".to_string();
    assert_eq!(event.source, Some(CostSource::Computed { price_key }));

    // The stored price reads back and recomputes the same cost, whatever
    // the table contains later.
    let resolved = event.resolved.unwrap();
    let stored = serde_json::to_string(&resolved).unwrap();
    let read_back: Resolved = serde_json::from_str(&stored).unwrap();
    assert_eq!(read_back, resolved);
    let recomputed = compute_cost(&read_back.price, &usage(1_000, 100)).unwrap();
    assert_eq!(Some(recomputed.total), event.cost);
}

#[test]
fn event_client_cost_wins() {
    let table = PriceTable::embedded();
    let client = client_cost_to_picodollars(&json!(0.0123)).unwrap();
    assert_eq!(client, 12_300_000_000);

    let event = price_event(&[table], &["gpt-4o"], &usage(1_000, 100), Some(client)).unwrap();
    assert_eq!(event.cost, Some(12_300_000_000));
    assert_eq!(event.source, Some(CostSource::Client));
    let computed = event.breakdown.unwrap().total;
    assert_eq!(computed, 1_000 * 2_500_000 + 100 * 10_000_000);

    // A tool event: no model, only the client's cost.
    let tool = price_event(&[table], &[], &TokenUsage::default(), Some(5)).unwrap();
    assert_eq!(tool.cost, Some(5));
    assert_eq!(tool.source, Some(CostSource::Client));
}

#[test]
fn event_without_counts_has_no_cost() {
    let table = PriceTable::embedded();
    let known = price_event(&[table], &["gpt-4o"], &TokenUsage::default(), None).unwrap();
    assert_eq!(known.cost, None);
    assert_eq!(known.source, None);
    assert_eq!(known.resolved.unwrap().key, "gpt-4o");

    let blank = price_event(&[table], &["", " "], &usage(10, 10), None).unwrap();
    assert_eq!(blank.cost, None);
    assert_eq!(blank.source, None);
}

#[test]
fn event_override_prices_custom_model() {
    let mut overrides = PriceTable::empty("project overrides");
    let price = ModelPrice::from_value(&json!({
        "input_cost_per_token": "0.0000001",
        "output_cost_per_token": 3e-7
    }))
    .unwrap();
    overrides.insert("acme-llm-7b", price);
    let tables = [&overrides, PriceTable::embedded()];

    let event = price_event(&tables, &["acme-llm-7b"], &usage(1_000, 100), None).unwrap();
    assert_eq!(event.cost, Some(1_000 * 100_000 + 100 * 300_000));
    assert_eq!(event.resolved.unwrap().table, "project overrides");
}

#[test]
fn rounding_per_kind_half_even() {
    // 2.5 picodollars per token makes every odd count end in a half.
    let price = ModelPrice::new(dec!(0.0000000000025), dec!(0.0000000000025));
    let one_each = compute_cost(&price, &usage(1, 1)).unwrap();
    assert_eq!(one_each.uncached_input, 2); // 2.5 -> 2
    assert_eq!(one_each.output, 2);
    assert_eq!(one_each.total, 4);

    let three = compute_cost(&price, &usage(3, 0)).unwrap();
    assert_eq!(three.uncached_input, 8); // 7.5 -> 8

    let five = compute_cost(&price, &usage(5, 0)).unwrap();
    assert_eq!(five.uncached_input, 12); // 12.5 -> 12
}

#[test]
fn sum_of_1000_events_exact() {
    let price = PriceTable::embedded().get("gpt-4o-mini").unwrap().clone();
    let mut stored_total: i64 = 0;
    let mut expected: i64 = 0;
    for i in 0..1_000_i64 {
        let event = TokenUsage {
            cache_read: Some(i % 300),
            ..usage(1_000 + i, 7 * i % 500)
        };
        let cost = compute_cost(&price, &event).unwrap();
        stored_total += cost.total;
        expected += (1_000 + i - i % 300) * 150_000 + (i % 300) * 75_000 + (7 * i % 500) * 600_000;
    }

    assert_eq!(stored_total, expected);
    // The same sum worked out separately: $0.3641625.
    assert_eq!(stored_total, 364_162_500_000);
    assert_eq!(picodollars_to_usd(stored_total), dec!(0.3641625));
}
