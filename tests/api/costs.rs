//! Cost accounting: exact expected costs for each token kind and model name
//! form, with the per-token prices of the embedded litellm table written out
//! in each case, so a wrong rule shows as a wrong digit.

use serde_json::{Value, json};

use crate::helpers::{S1, S2, event, event_id, spawn_app};

/// Builds one LLM event with `fields` merged in.
fn llm(n: u32, model: &str, fields: Value) -> Value {
    let mut event = json!({
        "id": event_id(n),
        "type": "llm",
        "model": model,
        "init_timestamp": format!("2024-03-05T10:00:{:02}Z", n % 60),
    });
    if let (Some(target), Value::Object(extra)) = (event.as_object_mut(), fields) {
        target.extend(extra);
    }
    event
}

struct Case {
    name: &'static str,
    model: &'static str,
    tokens: Value,
    cost: &'static str,
    price_key: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        // gpt-4o-mini-2024-07-18: input 0.15e-6, output 0.6e-6 per token.
        Case {
            name: "dated model in the table",
            model: "gpt-4o-mini-2024-07-18",
            tokens: json!({"prompt_tokens": 1000, "completion_tokens": 500}),
            cost: "0.00045",
            price_key: "gpt-4o-mini-2024-07-18",
        },
        // A dated version the table lacks resolves to gpt-4o: 2.5e-6 / 1e-5.
        Case {
            name: "dated model not in the table",
            model: "gpt-4o-2099-01-01",
            tokens: json!({"prompt_tokens": 100, "completion_tokens": 10}),
            cost: "0.00035",
            price_key: "gpt-4o",
        },
        Case {
            name: "provider prefix",
            model: "openai/gpt-4o-mini",
            tokens: json!({"prompt_tokens": 2000, "completion_tokens": 0}),
            cost: "0.0003",
            price_key: "gpt-4o-mini",
        },
        Case {
            name: "azure name",
            model: "azure/gpt-4o",
            tokens: json!({"prompt_tokens": 100, "completion_tokens": 10}),
            cost: "0.00035",
            price_key: "azure/gpt-4o",
        },
        // gpt-4o cache read 1.25e-6: 600 uncached + 400 cached + 100 out.
        Case {
            name: "cache read tokens",
            model: "gpt-4o",
            tokens: json!({"prompt_tokens": 1000, "cache_read_tokens": 400, "completion_tokens": 100}),
            cost: "0.003",
            price_key: "gpt-4o",
        },
        // claude-sonnet-4-5-20250929: input 3e-6, output 1.5e-5, cache read
        // 3e-7, cache creation 3.75e-6. 500 uncached, 300 read, 200 written.
        Case {
            name: "cache creation tokens",
            model: "anthropic/claude-sonnet-4-5-20250929",
            tokens: json!({"prompt_tokens": 1000, "cache_read_tokens": 300,
                "cache_creation_tokens": 200, "completion_tokens": 50}),
            cost: "0.00309",
            price_key: "claude-sonnet-4-5-20250929",
        },
        // o3-mini has no reasoning price: 800 reasoning tokens at the output
        // price 4.4e-6, 200 plain output, 100 input at 1.1e-6. Counting the
        // reasoning twice would give 0.00803.
        Case {
            name: "reasoning at output price",
            model: "o3-mini",
            tokens: json!({"prompt_tokens": 100, "completion_tokens": 1000, "reasoning_tokens": 800}),
            cost: "0.00451",
            price_key: "o3-mini",
        },
        // dashscope/qwen-turbo: input 5e-8, output 2e-7, reasoning 5e-7.
        Case {
            name: "reasoning with own price",
            model: "dashscope/qwen-turbo",
            tokens: json!({"prompt_tokens": 1000, "completion_tokens": 100, "reasoning_tokens": 60}),
            cost: "0.000088",
            price_key: "dashscope/qwen-turbo",
        },
    ]
}

#[test]
fn llm_cost_table_exact() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let cases = cases();
    let events: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| llm(i as u32 + 1, case.model, case.tokens.clone()))
        .collect();
    let response = app.create_events(&jwt, json!(events));
    assert_eq!(response.status, 200, "{}", response.text);

    let export = app.export(S1);
    for (i, case) in cases.iter().enumerate() {
        let stored = event(&export, &event_id(i as u32 + 1));
        assert_eq!(stored["cost"], case.cost, "{}: {stored}", case.name);
        assert_eq!(stored["cost_source"], "computed", "{}", case.name);
        assert_eq!(stored["price_key"], case.price_key, "{}", case.name);
    }
}

#[test]
fn cost_by_kind_splits_exactly() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let tokens = json!({"prompt_tokens": 1000, "cache_read_tokens": 300,
        "cache_creation_tokens": 200, "completion_tokens": 50});
    let response = app.create_events(&jwt, json!([llm(1, "claude-sonnet-4-5-20250929", tokens)]));
    assert_eq!(response.status, 200, "{}", response.text);

    let stats = app.stats(S1);
    let by_kind = &stats["cost_by_kind"];
    assert_eq!(by_kind["uncached_input"], "0.0015", "{stats}");
    assert_eq!(by_kind["cache_read"], "0.00009", "{stats}");
    assert_eq!(by_kind["cache_creation"], "0.00075", "{stats}");
    assert_eq!(by_kind["output"], "0.00075", "{stats}");
    assert_eq!(by_kind["reasoning"], "0.00", "{stats}");
    assert_eq!(stats["cost"], "0.00309", "{stats}");
}

#[test]
fn unknown_model_marked_unpriced() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let tokens = json!({"prompt_tokens": 10, "completion_tokens": 5});
    let events = json!([
        llm(1, "mystery-9000", tokens.clone()),
        llm(2, "gpt-4o", tokens)
    ]);
    assert_eq!(app.create_events(&jwt, events).status, 200);

    let export = app.export(S1);
    let unknown = event(&export, &event_id(1));
    assert_eq!(unknown["cost"], Value::Null, "{unknown}");
    assert_eq!(unknown["cost_source"], "unpriced", "{unknown}");
    assert_eq!(unknown["prompt_tokens"], 10, "{unknown}");
    let stats = app.stats(S1);
    assert_eq!(stats["unpriced_events"], 1, "{stats}");
    // Only gpt-4o is priced: 10 x 2.5e-6 + 5 x 1e-5.
    assert_eq!(stats["cost"], "0.000075", "{stats}");
}

#[test]
fn client_cost_wins_over_tokens() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let events = json!([
        llm(
            1,
            "gpt-4o",
            json!({"prompt_tokens": 1000, "completion_tokens": 10, "cost": 0.123})
        ),
        llm(
            2,
            "mystery-9000",
            json!({"prompt_tokens": 1, "cost": "0.5"})
        ),
    ]);
    assert_eq!(app.create_events(&jwt, events).status, 200);

    let export = app.export(S1);
    assert_eq!(event(&export, &event_id(1))["cost"], "0.123");
    assert_eq!(event(&export, &event_id(1))["cost_source"], "client");
    assert_eq!(event(&export, &event_id(2))["cost"], "0.50");
    let end = json!({"id": S1, "end_state": "Success"});
    let response = app.update_session(&jwt, end);
    assert_eq!(response.body["token_cost"], "0.623", "{}", response.text);
}

#[test]
fn session_of_many_events_sums_exactly() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    // Each: 7 x 0.15e-6 + 3 x 0.6e-6 = 2.85e-6; a float sum drifts here.
    for batch in 0..10 {
        let events: Vec<Value> = (0..100)
            .map(|i| {
                let n = 1000 + batch * 100 + i;
                llm(
                    n,
                    "gpt-4o-mini",
                    json!({"prompt_tokens": 7, "completion_tokens": 3}),
                )
            })
            .collect();
        let response = app.create_events(&jwt, json!(events));
        assert_eq!(response.status, 200, "{}", response.text);
    }
    let end = json!({"id": S1, "end_state": "Success"});
    let response = app.update_session(&jwt, end);
    assert_eq!(response.body["token_cost"], "0.00285", "{}", response.text);
    assert_eq!(app.stats(S1)["cost"], "0.00285");
}

#[test]
fn estimated_tokens_are_priced_and_marked() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let fields = json!({"prompt": [{"role": "user", "content": "Say hello to the world"}],
        "completion": {"role": "assistant", "content": "Hello, world!"}});
    assert_eq!(
        app.create_events(&jwt, json!([llm(1, "gpt-4o", fields)]))
            .status,
        200
    );

    let stored = event(&app.export(S1), &event_id(1)).clone();
    assert_eq!(stored["tokens_estimated"], true, "{stored}");
    let prompt = stored["prompt_tokens"]
        .as_i64()
        .expect("prompt tokens estimated");
    let completion = stored["completion_tokens"]
        .as_i64()
        .expect("completion tokens estimated");
    assert!(prompt > 0, "{stored}");
    assert!(completion > 0, "{stored}");
    // gpt-4o: 2.5e-6 per input token, 1e-5 per output token, exactly.
    let expected_pd = prompt * 2_500_000 + completion * 10_000_000;
    let cost = stored["cost"].as_str().expect("cost is a decimal string");
    assert_eq!(dollars_to_picodollars(cost), expected_pd, "{stored}");
}

fn dollars_to_picodollars(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = format!("{fraction:0<12}");
    whole.parse::<i64>().unwrap() * 1_000_000_000_000 + fraction.parse::<i64>().unwrap()
}

#[test]
fn override_and_recompute_change_past_costs() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let tokens = json!({"prompt_tokens": 1000, "completion_tokens": 1000});
    assert_eq!(
        app.create_events(&jwt, json!([llm(1, "gpt-4o-mini", tokens.clone())]))
            .status,
        200
    );
    // Table price: 1000 x 0.15e-6 + 1000 x 0.6e-6.
    assert_eq!(event(&app.export(S1), &event_id(1))["cost"], "0.00075");

    let set = app.cli(&[
        "prices",
        "set",
        "gpt-4o-mini",
        "--project",
        "project-a",
        "--input",
        "0.000001",
        "--output",
        "0.000002",
    ]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    // An override alone does not change a stored cost.
    assert_eq!(event(&app.export(S1), &event_id(1))["cost"], "0.00075");

    let recompute = app.cli(&[
        "prices",
        "recompute",
        "--project",
        "project-a",
        "--from",
        "2024-01-01T00:00:00Z",
        "--to",
        "2030-01-01T00:00:00Z",
    ]);
    assert!(
        recompute.status.success(),
        "{}",
        String::from_utf8_lossy(&recompute.stderr)
    );
    let stored = event(&app.export(S1), &event_id(1)).clone();
    // Override: 1000 x 1e-6 + 1000 x 2e-6.
    assert_eq!(stored["cost"], "0.003", "{stored}");
    assert_eq!(stored["price_key"], "gpt-4o-mini", "{stored}");
    assert_eq!(app.stats(S1)["cost"], "0.003");
}

#[test]
fn price_override_api_prices_new_events() {
    let app = spawn_app();
    let price = json!({"input_cost_per_token": 0.00001, "output_cost_per_token": 0.00002});
    let response = app
        .client
        .put(app.url("/api/prices/house-model"))
        .header("X-Agentops-Api-Key", &app.key_a)
        .json(&price)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let jwt = app.create_session(S1);
    let tokens = json!({"prompt_tokens": 10, "completion_tokens": 10});
    assert_eq!(
        app.create_events(&jwt, json!([llm(1, "house-model", tokens.clone())]))
            .status,
        200
    );
    assert_eq!(event(&app.export(S1), &event_id(1))["cost"], "0.0003");

    // Project B has no such override: its event stays unpriced.
    let jwt_b = app.create_session_with(&app.key_b, json!({"id": S2})).body["jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.create_events(&jwt_b, json!([llm(2, "house-model", tokens)]))
            .status,
        200
    );
    let export_b = app.export_with(&app.key_b, S2).body;
    assert_eq!(event(&export_b, &event_id(2))["cost_source"], "unpriced");
}

#[test]
fn otlp_span_costs_priced_and_summed() {
    let app = spawn_app();
    let token = app
        .post_json("/v3/auth/token", &[], &json!({"api_key": app.key_a}))
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let trace_id = "5e551011000040008000000000000003";
    let span = |id: &str, parent: Option<&str>, attributes: Value| {
        json!({"traceId": trace_id, "spanId": id, "parentSpanId": parent.unwrap_or(""),
            "name": "span", "kind": 1, "startTimeUnixNano": "1709632800000000000",
            "endTimeUnixNano": "1709632801000000000", "attributes": attributes})
    };
    let string = |key: &str, value: &str| json!({"key": key, "value": {"stringValue": value}});
    let int = |key: &str, value: i64| json!({"key": key, "value": {"intValue": value.to_string()}});
    let body = json!({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{
    "scope": {"name": "test"}, "spans": [
        span("00000000000000a1", None, json!([string("agentops.span.kind", "session")])),
        span("00000000000000a2", Some("00000000000000a1"), json!([
            string("gen_ai.system", "OpenAI"),
            string("gen_ai.request.model", "gpt-4o"),
            string("gen_ai.response.model", "gpt-4o-2024-08-06"),
            int("gen_ai.usage.prompt_tokens", 1000),
            int("gen_ai.usage.completion_tokens", 100)])),
        span("00000000000000a3", Some("00000000000000a1"), json!([
            string("agentops.span.kind", "tool"),
            {"key": "gen_ai.usage.total_cost", "value": {"doubleValue": 0.01}}])),
    ]}]}]});
    let response = app.post_bytes(
        "/v1/traces",
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Content-Type", "application/json"),
        ],
        serde_json::to_vec(&body).unwrap(),
    );
    assert_eq!(response.status, 200, "{}", response.text);

    let export = app.export(S3_TRACE);
    let llm = event(&export, "00000000000000a2");
    // gpt-4o-2024-08-06: 1000 x 2.5e-6 + 100 x 1e-5.
    assert_eq!(llm["cost"], "0.0035", "{llm}");
    let tool = event(&export, "00000000000000a3");
    assert_eq!(tool["cost"], "0.01", "{tool}");
    assert_eq!(tool["cost_source"], "client", "{tool}");
    assert_eq!(app.stats(S3_TRACE)["cost"], "0.0135");
}

const S3_TRACE: &str = "5e551011-0000-4000-8000-000000000003";

#[test]
fn absurd_costs_keep_reports_working() {
    let app = spawn_app();
    let sessions = [
        "5e551011-0000-4000-8000-0000000000a1",
        "5e551011-0000-4000-8000-0000000000a2",
    ];
    for (n, session) in sessions.iter().enumerate() {
        let jwt = app.create_session(session);
        let huge = json!({"cost": 5_000_000, "prompt_tokens": 100_000_000_000_i64,
            "completion_tokens": 100_000_000_000_i64});
        let response = app.create_events(&jwt, json!([llm(n as u32 + 1, "o1", huge)]));
        assert_eq!(response.status, 200, "{}", response.text);
    }

    // Rule: a client cost over $1,000,000 is ignored and the tokens priced.
    let stored = event(&app.export(sessions[0]), &event_id(1)).clone();
    assert_eq!(stored["cost_source"], "computed", "{stored}");
    let response = app.get(
        "/api/metrics?range=all",
        &[("X-Agentops-Api-Key", &app.key_a)],
    );
    assert_eq!(response.status, 200, "{}", response.text);
}
