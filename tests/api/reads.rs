//! Reads and small endpoints: `/health`, `developer_errors`, session stats
//! and the session export.

use serde_json::{Value, json};

use crate::helpers::{
    EVENT_GROUPS, S1, S3, assert_error_body, default_session, event, event_id, group_ids,
    is_decimal_string, spawn_app,
};

#[test]
fn health_returns_status_ok() {
    let app = spawn_app();
    let response = app.get("/health", &[]);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body, json!({"status": "ok"}));
}

#[test]
fn developer_errors_returns_no_content() {
    let app = spawn_app();
    let report = json!({"sdk_version": "0.3.26", "type": "ValueError", "message": "boom",
        "stack_trace": "Traceback ...", "host_env": {}, "session_id": S1});

    let response = app.post_json("/v2/developer_errors", &[], &report);
    assert_eq!(response.status, 204, "{}", response.text);
    assert_eq!(response.text, "", "204 has a body");
}

#[test]
fn stats_counts_each_event_kind() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let events = json!([
        {"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z", "model": "m-1",
         "prompt_tokens": 10, "completion_tokens": 5},
        {"id": event_id(2), "type": "llm", "init_timestamp": "2024-03-05T10:00:02Z", "model": "m-1",
         "prompt_tokens": 20, "completion_tokens": 7},
        {"id": event_id(3), "type": "tool", "init_timestamp": "2024-03-05T10:00:03Z", "name": "calc"},
        {"id": event_id(4), "type": "action", "init_timestamp": "2024-03-05T10:00:04Z", "action_type": "a"},
        {"id": event_id(5), "type": "error", "init_timestamp": "2024-03-05T10:00:05Z", "error_type": "E"},
    ]);
    let response = app.create_events(&jwt, events);
    assert_eq!(response.status, 200, "{}", response.text);

    let stats = app.stats(S1);
    assert_eq!(stats["session_id"], S1);
    assert_eq!(stats["events"], 5);
    assert_eq!(stats["llms"], 2);
    assert_eq!(stats["tools"], 1);
    assert_eq!(stats["actions"], 1);
    assert_eq!(stats["errors"], 1);
    assert_eq!(stats["prompt_tokens"], 30);
    assert_eq!(stats["completion_tokens"], 12);
    assert!(
        is_decimal_string(&stats["cost"]),
        "cost is not a decimal string: {stats}"
    );
}

#[test]
fn stats_of_empty_session_zero() {
    let app = spawn_app();
    app.create_session(S1);

    let stats = app.stats(S1);
    assert_eq!(stats["events"], 0);
    assert_eq!(stats["llms"], 0);
    assert_eq!(stats["prompt_tokens"], 0);
    assert_eq!(stats["completion_tokens"], 0);
    let cost: f64 = stats["cost"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or(f64::NAN);
    assert_eq!(cost, 0.0, "{stats}");
}

#[test]
fn export_lists_session_and_groups() {
    let app = spawn_app();
    let host_env = json!({"OS": {"OS": "Linux"}, "SDK": {"Python Version": "3.12.0"}});
    let mut session = default_session(S1);
    session["tags"] = json!(["prod", "x"]);
    session["host_env"] = host_env.clone();
    let jwt = app.create_session_jwt(session);
    let events = json!([
        {"id": event_id(3), "type": "llm", "init_timestamp": "2024-03-05T10:00:03Z", "custom": {"a": 1}},
        {"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z"},
        {"id": event_id(2), "type": "llm", "init_timestamp": "2024-03-05T10:00:02Z"},
    ]);
    let response = app.create_events(&jwt, events);
    assert_eq!(response.status, 200, "{}", response.text);

    let export = app.export(S1);
    let session = &export["session"];
    assert_eq!(session["id"], S1);
    assert_eq!(session["init_timestamp"], "2024-03-05T10:00:00.000000Z");
    assert_eq!(session["end_timestamp"], Value::Null);
    assert_eq!(session["end_state"], "Indeterminate");
    assert_eq!(session["end_state_reason"], Value::Null);
    assert_eq!(session["tags"], json!(["prod", "x"]));
    assert_eq!(session["host_env"], host_env);
    assert!(
        export["agents"].is_array(),
        "agents is not a list: {export}"
    );
    for group in EVENT_GROUPS {
        assert!(export[group].is_array(), "{group} is not a list: {export}");
    }
    // Events within a group are ordered by init time, not by arrival.
    let expected: Vec<String> = (1..=3).map(event_id).collect();
    assert_eq!(group_ids(&export, "llms"), expected);
    assert_eq!(event(&export, &event_id(3))["custom"], json!({"a": 1}));
}

#[test]
fn export_unknown_session_404() {
    let app = spawn_app();
    let response = app.export_with(&app.key_a, S3);
    assert_error_body(&response, 404);
    let response = app.stats_with(&app.key_a, S3);
    assert_error_body(&response, 404);
}
