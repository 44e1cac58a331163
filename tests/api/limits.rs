//! Body size: requests up to `max_body_bytes` (32 MiB by default) are stored
//! whole; larger ones get `413 payload_too_large` and the server keeps serving.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{
    S1, S2, TestApp, action_event, assert_json_error, event, event_id, find_event, group_ids,
    spawn_app,
};

/// The default `max_body_bytes`.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Returns `len` bytes of `"lorem "` repeated.
fn lorem(len: usize) -> String {
    let mut text = "lorem ".repeat(len / 6 + 1);
    text.truncate(len);
    text
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Builds `before + padding + after` whose length is exactly `total` bytes.
fn body_of_length(before: &str, after: &str, total: usize) -> Vec<u8> {
    let padding = total - before.len() - after.len();
    format!("{before}{}{after}", "x".repeat(padding)).into_bytes()
}

/// Sends a small event and checks it is stored, showing the server still serves.
fn assert_small_request_stored(app: &TestApp, jwt: &str, n: u32) {
    let small = action_event(&event_id(n), "2024-03-05T10:00:09Z");
    let response = app.create_events(jwt, json!([small]));
    assert_eq!(
        response.status, 200,
        "small request after a large one: {}",
        response.text
    );
    let export = app.export(S1);
    assert!(
        find_event(&export, &event_id(n)).is_some(),
        "small event not stored"
    );
}

#[test]
fn large_prompts_and_batches_stored() {
    let mut app = spawn_app();
    let jwt = app.create_session(S1);
    let prompt = lorem(2 * 1024 * 1024);
    let completion = lorem(1024 * 1024);
    let e1 = json!({"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z", "model": "m-1",
        "prompt": prompt, "completion": completion, "prompt_tokens": 500000, "completion_tokens": 250000});

    let response = app.create_events(&jwt, json!([e1]));
    assert_eq!(response.status, 200, "{}", response.text);
    let export = app.export(S1);
    let stored = event(&export, &event_id(1));
    let stored_prompt = stored["prompt"].as_str().unwrap_or_default();
    let stored_completion = stored["completion"].as_str().unwrap_or_default();
    assert_eq!(stored_prompt.len(), prompt.len());
    assert_eq!(sha256_hex(stored_prompt), sha256_hex(&prompt));
    assert_eq!(stored_completion.len(), completion.len());
    assert_eq!(sha256_hex(stored_completion), sha256_hex(&completion));
    assert_eq!(stored["prompt_tokens"], 500000);
    assert_eq!(stored["completion_tokens"], 250000);

    let batch_prompt = lorem(40_000);
    let batch: Vec<_> = (100..300)
        .map(|n| {
            json!({"id": event_id(n), "type": "llm", "init_timestamp": "2024-03-05T10:00:02Z",
            "model": "m-1", "prompt": batch_prompt, "completion": "ok"})
        })
        .collect();
    let response = app.create_events(&jwt, json!(batch));
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stored"], 200, "{}", response.text);
    let export = app.export(S1);
    let llms = group_ids(&export, "llms");
    assert_eq!(llms.len(), 201, "llms group has {} events", llms.len());
    for n in 100..300 {
        let stored = event(&export, &event_id(n));
        let length = stored["prompt"].as_str().map(str::len);
        assert_eq!(length, Some(40_000), "prompt of {} changed", event_id(n));
    }

    // Rule: 64 MiB is over the 32 MiB default, so it is a 413 and nothing is stored.
    let huge = json!({"events": [{"id": event_id(2), "type": "llm", "init_timestamp": "2024-03-05T10:00:03Z",
        "prompt": lorem(64 * 1024 * 1024)}]});
    let response = app.post_with_jwt("/v2/create_events", &jwt, &huge);
    assert_json_error(&response, 413, "payload_too_large");
    assert!(app.is_running(), "server exited after a 64 MiB body");
    assert_small_request_stored(&app, &jwt, 3);
    assert!(
        find_event(&app.export(S1), &event_id(2)).is_none(),
        "oversize event stored"
    );
}

#[test]
fn body_at_limit_is_stored() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let id = event_id(1);
    let before = format!(
        r#"{{"events":[{{"id":"{id}","type":"llm","init_timestamp":"2024-03-05T10:00:01Z","prompt":""#
    );
    let after = r#""}]}"#;

    let at_limit = body_of_length(&before, after, MAX_BODY_BYTES);
    let response = app.post_bytes_with_jwt("/v2/create_events", &jwt, at_limit);
    assert_eq!(
        response.status, 200,
        "body of exactly max_body_bytes: {}",
        response.text
    );
    let export = app.export(S1);
    let prompt_len = MAX_BODY_BYTES - before.len() - after.len();
    let stored = event(&export, &id)["prompt"].as_str().map(str::len);
    assert_eq!(stored, Some(prompt_len));

    let over = body_of_length(
        &before.replace(&id, &event_id(2)),
        after,
        MAX_BODY_BYTES + 1,
    );
    let response = app.post_bytes_with_jwt("/v2/create_events", &jwt, over);
    assert_json_error(&response, 413, "payload_too_large");
    assert!(
        find_event(&app.export(S1), &event_id(2)).is_none(),
        "oversize event stored"
    );
}

#[test]
fn oversize_body_rejected_everywhere() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let over = MAX_BODY_BYTES + 1;
    let session =
        format!(r#"{{"session":{{"id":"{S2}","init_timestamp":"2024-03-05T10:00:00Z","tags":[""#);
    let update = format!(r#"{{"session":{{"id":"{S1}","end_state_reason":""#);
    let created = app.create_events(
        &jwt,
        json!([action_event(&event_id(1), "2024-03-05T10:00:01Z")]),
    );
    assert_eq!(created.status, 200, "{}", created.text);
    let patch = format!(r#"{{"events":[{{"id":"{}","completion":""#, event_id(1));

    let key = [("X-Agentops-Api-Key", app.key_a.as_str())];
    let response = app.post_bytes(
        "/v2/create_session",
        &key,
        body_of_length(&session, r#""]}}"#, over),
    );
    assert_json_error(&response, 413, "payload_too_large");
    let response = app.post_bytes(
        "/create_session",
        &key,
        body_of_length(&session, r#""]}}"#, over),
    );
    assert_json_error(&response, 413, "payload_too_large");
    let response = app.post_bytes_with_jwt(
        "/v2/update_session",
        &jwt,
        body_of_length(&update, r#""}}"#, over),
    );
    assert_json_error(&response, 413, "payload_too_large");
    let response = app.post_bytes_with_jwt(
        "/v2/update_events",
        &jwt,
        body_of_length(&patch, r#""}]}"#, over),
    );
    assert_json_error(&response, 413, "payload_too_large");
    let agent = r#"{"id":"a9e00000-0000-4000-8000-0000000000a1","name":""#;
    let response = app.post_bytes_with_jwt(
        "/v2/create_agent",
        &jwt,
        body_of_length(agent, r#""}"#, over),
    );
    assert_json_error(&response, 413, "payload_too_large");

    assert_eq!(
        app.export_with(&app.key_a, S2).status,
        404,
        "oversize session stored"
    );
    let export = app.export(S1);
    assert_eq!(
        export["session"]["end_state_reason"],
        serde_json::Value::Null
    );
    assert!(
        event(&export, &event_id(1))
            .get("completion")
            .is_none_or(|c| c.is_null())
    );
    assert_eq!(export["agents"], json!([]));
    assert_small_request_stored(&app, &jwt, 2);
}
