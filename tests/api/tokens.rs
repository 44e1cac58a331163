//! Token counts: a count sent in an invalid form is stored as null and its
//! event is kept. Numeric strings are read as numbers, and totals stay `>= 0`.

use serde_json::{Value, json};

use crate::helpers::{S1, event, event_id, is_decimal_string, spawn_app};

/// Builds one llm event as JSON text, with `tokens` spliced in verbatim so that
/// values `serde_json::json!` cannot express (such as 10^23) reach the server.
fn raw_llm_event(n: u32, tokens: &str) -> String {
    let id = event_id(n);
    let second = n % 60;
    let mut text = format!(
        r#"{{"id":"{id}","type":"llm","model":"gpt-4o","init_timestamp":"2024-03-05T10:00:{second:02}Z","prompt":"p","completion":"c""#
    );
    if !tokens.is_empty() {
        text.push(',');
        text.push_str(tokens);
    }
    text.push('}');
    text
}

fn raw_events_body(events: &[String]) -> Vec<u8> {
    format!(r#"{{"events":[{}]}}"#, events.join(",")).into_bytes()
}

fn parse_decimal(value: &Value) -> f64 {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or(f64::NAN)
}

#[test]
fn token_counts_invalid_stored_null() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let events = [
        raw_llm_event(1, r#""prompt_tokens":12,"completion_tokens":8"#),
        raw_llm_event(2, r#""prompt_tokens":-5,"completion_tokens":10"#),
        raw_llm_event(3, r#""prompt_tokens":"42","completion_tokens":"7""#),
        raw_llm_event(4, r#""prompt_tokens":3.5"#),
        raw_llm_event(5, r#""prompt_tokens":null,"completion_tokens":null"#),
        raw_llm_event(6, r#""prompt_tokens":99999999999999999999999"#),
    ];

    let response = app.post_bytes_with_jwt("/v2/create_events", &jwt, raw_events_body(&events));
    assert_eq!(response.status, 200, "{}", response.text);
    // Rule: each invalid count is stored as null and its event is kept.
    assert_eq!(response.body["stored"], 6, "{}", response.text);
    assert_eq!(response.body["rejected"], json!([]), "{}", response.text);

    let export = app.export(S1);
    let e = |n: u32| event(&export, &event_id(n)).clone();
    assert_eq!(e(1)["prompt_tokens"], 12);
    assert_eq!(e(1)["completion_tokens"], 8);
    assert_eq!(e(2)["prompt_tokens"], Value::Null);
    assert_eq!(e(2)["completion_tokens"], 10);
    assert_eq!(e(3)["prompt_tokens"], 42);
    assert_eq!(e(3)["completion_tokens"], 7);
    assert_eq!(e(4)["prompt_tokens"], Value::Null);
    assert_eq!(e(5)["prompt_tokens"], Value::Null);
    assert_eq!(e(5)["completion_tokens"], Value::Null);
    assert_eq!(e(6)["prompt_tokens"], Value::Null);

    let end = json!({"id": S1, "end_state": "Success", "end_timestamp": "2024-03-05T10:01:00Z"});
    let response = app.update_session(&jwt, end);
    assert_eq!(response.status, 200, "{}", response.text);
    let token_cost = &response.body["token_cost"];
    assert!(
        is_decimal_string(token_cost),
        "token_cost {token_cost} is not a decimal >= 0"
    );
    assert!(
        parse_decimal(token_cost).is_finite(),
        "token_cost {token_cost} is not finite"
    );

    let stats = app.stats(S1);
    assert_eq!(stats["llms"], 6, "{stats}");
    assert_eq!(stats["prompt_tokens"], 12 + 42, "{stats}");
    assert_eq!(stats["completion_tokens"], 8 + 10 + 7, "{stats}");
    assert!(
        is_decimal_string(&stats["cost"]),
        "stats cost is not a decimal >= 0: {stats}"
    );
    assert_eq!(
        parse_decimal(&stats["cost"]),
        parse_decimal(token_cost),
        "{stats}"
    );
}

#[test]
fn token_counts_every_form_checked() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    // (JSON text of the value, what the export returns for it)
    let forms: [(&str, Value); 16] = [
        ("-1", Value::Null),
        ("-0.5", Value::Null),
        ("1.5", Value::Null),
        (r#""abc""#, Value::Null),
        (r#""""#, Value::Null),
        (r#""-3""#, Value::Null),
        (r#""4.5""#, Value::Null),
        ("true", Value::Null),
        ("{}", Value::Null),
        ("[]", Value::Null),
        ("1e30", Value::Null),
        ("9223372036854775808", Value::Null),
        ("99999999999999999999999", Value::Null),
        (r#""42""#, json!(42)),
        ("0", json!(0)),
        ("7", json!(7)),
    ];
    let fields = ["prompt_tokens", "completion_tokens"];
    let mut events = Vec::new();
    let mut expected = Vec::new();
    for field in fields {
        for (value, read_back) in &forms {
            let n = events.len() as u32 + 1;
            events.push(raw_llm_event(n, &format!(r#""{field}":{value}"#)));
            expected.push((n, field, *value, read_back.clone()));
        }
    }

    let response = app.post_bytes_with_jwt("/v2/create_events", &jwt, raw_events_body(&events));
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stored"], events.len(), "{}", response.text);

    let export = app.export(S1);
    for (n, field, value, read_back) in expected {
        let stored = &event(&export, &event_id(n))[field];
        assert_eq!(stored, &read_back, "{field}: {value} read back as {stored}");
    }
    let stats = app.stats(S1);
    assert_eq!(stats["prompt_tokens"], 42 + 7, "{stats}");
    assert_eq!(stats["completion_tokens"], 42 + 7, "{stats}");
}

#[test]
fn update_events_token_counts_normalized() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let e1 = json!({"id": event_id(1), "type": "llm", "model": "gpt-4o", "init_timestamp": "2024-03-05T10:00:01Z",
        "prompt_tokens": 10, "completion_tokens": 5});
    let created = app.create_events(&jwt, json!([e1]));
    assert_eq!(created.status, 200, "{}", created.text);

    let response = app.update_events(
        &jwt,
        json!([{"id": event_id(1), "completion_tokens": "100"}]),
    );
    assert_eq!(response.status, 200, "{}", response.text);
    let export = app.export(S1);
    assert_eq!(event(&export, &event_id(1))["completion_tokens"], 100);
    assert_eq!(event(&export, &event_id(1))["prompt_tokens"], 10);

    let response = app.update_events(&jwt, json!([{"id": event_id(1), "prompt_tokens": -4}]));
    assert_eq!(response.status, 200, "{}", response.text);
    let export = app.export(S1);
    let prompt_tokens = &event(&export, &event_id(1))["prompt_tokens"];
    let valid = prompt_tokens.is_null() || prompt_tokens.as_i64().is_some_and(|v| v >= 0);
    assert!(
        valid,
        "a negative update stored prompt_tokens {prompt_tokens}"
    );
    let stats = app.stats(S1);
    let total = stats["prompt_tokens"].as_i64();
    assert!(
        total.is_some_and(|v| v >= 0),
        "prompt_tokens total is {}",
        stats["prompt_tokens"]
    );
    assert_eq!(stats["completion_tokens"], 100, "{stats}");
}
