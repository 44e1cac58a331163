//! Sessions: `create_session` in every accepted form, idempotent creation,
//! and `update_session` that changes only the fields it is sent.

use serde_json::{Value, json};

use crate::helpers::{
    ApiResponse, PROJECT_A, S1, S2, S3, TestApp, action_event, default_session, event, event_id,
    is_decimal_string, spawn_app,
};

fn assert_created(app: &TestApp, response: &ApiResponse, session_id: &str) {
    assert_eq!(
        response.status, 200,
        "create_session failed: {}",
        response.text
    );
    assert_eq!(response.body["status"], "success", "{}", response.text);
    assert_eq!(response.body["session_id"], session_id, "{}", response.text);
    let jwt = response.str_field("jwt");
    assert_eq!(jwt.split('.').count(), 3, "jwt is not a compact JWS: {jwt}");
    let url = response.str_field("session_url");
    assert!(
        url.starts_with(&app.address),
        "session_url {url} is not on {}",
        app.address
    );
    assert!(
        url.contains(session_id),
        "session_url {url} does not name {session_id}"
    );
}

#[test]
fn create_session_nested_body() {
    let app = spawn_app();
    let response = app.create_session_with(&app.key_a, default_session(S1));
    assert_created(&app, &response, S1);

    let export = app.export(S1);
    assert_eq!(export["session"]["id"], S1);
    assert_eq!(
        export["session"]["init_timestamp"],
        "2024-03-05T10:00:00.000000Z"
    );
}

#[test]
fn create_session_root_path_flat() {
    let app = spawn_app();
    let body = json!({"id": S1, "init_timestamp": "2024-03-05T10:00:00Z", "tags": ["flat"]});
    let response = app.post_with_key("/create_session", &app.key_a, &body);
    assert_created(&app, &response, S1);

    let export = app.export(S1);
    assert_eq!(export["session"]["id"], S1);
    assert_eq!(export["session"]["tags"], json!(["flat"]));
}

#[test]
fn create_session_flat_on_v2() {
    let app = spawn_app();
    let body = json!({"id": S1, "init_timestamp": "2024-03-05T10:00:00Z"});
    let response = app.post_with_key("/v2/create_session", &app.key_a, &body);
    assert_created(&app, &response, S1);
}

#[test]
fn create_session_nested_on_root_path() {
    let app = spawn_app();
    let body = json!({"session": default_session(S1)});
    let response = app.post_with_key("/create_session", &app.key_a, &body);
    assert_created(&app, &response, S1);
}

#[test]
fn create_session_session_id_field() {
    let app = spawn_app();
    let nested = json!({"session": {"session_id": S2, "init_timestamp": "2024-03-05T10:00:00Z"}});
    let response = app.post_with_key("/v2/create_session", &app.key_a, &nested);
    assert_created(&app, &response, S2);

    let flat = json!({"session_id": S3, "init_timestamp": "2024-03-05T10:00:00Z"});
    let response = app.post_with_key("/v2/create_session", &app.key_a, &flat);
    assert_created(&app, &response, S3);

    assert_eq!(app.export(S2)["session"]["id"], S2);
    assert_eq!(app.export(S3)["session"]["id"], S3);
}

#[test]
fn create_session_same_id_idempotent() {
    let app = spawn_app();
    let first = app.create_session_with(&app.key_a, default_session(S1));
    assert_created(&app, &first, S1);
    let second = app.create_session_with(&app.key_a, default_session(S1));
    assert_created(&app, &second, S1);

    let jwt = second.str_field("jwt");
    let created = app.create_events(
        jwt,
        json!([action_event(&event_id(1), "2024-03-05T10:00:01Z")]),
    );
    assert_eq!(created.status, 200, "{}", created.text);
    let export = app.export(S1);
    assert_eq!(event(&export, &event_id(1))["type"], "action");

    let listing = app.cli(&["sessions", "list", "--project", PROJECT_A]);
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert_eq!(listing.matches(S1).count(), 1, "sessions list:\n{listing}");
}

#[test]
fn update_session_response_shape() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let response = app.update_session(&jwt, json!({"id": S1, "end_state": "Success"}));

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["status"], "success", "{}", response.text);
    assert_eq!(response.body["session_id"], S1, "{}", response.text);
    let cost = &response.body["token_cost"];
    assert!(
        is_decimal_string(cost),
        "token_cost {cost} is not a decimal string"
    );
    let url = response.str_field("session_url");
    assert!(
        url.starts_with(&app.address),
        "session_url {url} is not on {}",
        app.address
    );
}

#[test]
fn update_session_missing_fields_unchanged() {
    let app = spawn_app();
    let mut session = default_session(S1);
    session["tags"] = json!(["a"]);
    let jwt = app.create_session_jwt(session);

    let full = json!({"id": S1, "end_timestamp": "2024-03-05T10:05:00Z", "end_state": "Fail",
        "end_state_reason": "boom", "tags": ["b", "c"]});
    let response = app.update_session(&jwt, full);
    assert_eq!(response.status, 200, "{}", response.text);

    let response = app.update_session(&jwt, json!({"id": S1, "tags": ["d"]}));
    assert_eq!(response.status, 200, "{}", response.text);
    let session = app.export(S1)["session"].clone();
    assert_eq!(session["tags"], json!(["d"]));
    assert_eq!(session["end_state"], "Fail");
    assert_eq!(session["end_state_reason"], "boom");
    assert_eq!(session["end_timestamp"], "2024-03-05T10:05:00.000000Z");

    let response = app.update_session(&jwt, json!({"id": S1}));
    assert_eq!(response.status, 200, "{}", response.text);
    let session = app.export(S1)["session"].clone();
    assert_eq!(session["tags"], json!(["d"]));
    assert_eq!(session["end_state"], "Fail");
    assert_eq!(session["end_state_reason"], "boom");
    assert_eq!(session["end_timestamp"], "2024-03-05T10:05:00.000000Z");
    assert_eq!(session["init_timestamp"], "2024-03-05T10:00:00.000000Z");
}

#[test]
fn update_session_flat_body() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let flat = json!({"id": S1, "end_state": "Success", "end_state_reason": "flat"});
    let response = app.post_with_jwt("/v2/update_session", &jwt, &flat);
    assert_eq!(response.status, 200, "{}", response.text);

    let session = app.export(S1)["session"].clone();
    assert_eq!(session["end_state"], "Success");
    assert_eq!(session["end_state_reason"], "flat");
}

#[test]
fn update_session_unknown_fields_merged() {
    let app = spawn_app();
    let created = app.create_session_with(
        &app.key_a,
        json!({"session_id": S1, "tags": ["a"], "event_counts": {"llms": 0}, "foo": 1}),
    );
    assert_eq!(created.status, 200, "{}", created.text);
    let jwt = created.body["jwt"].as_str().unwrap().to_owned();
    let update = json!({"event_counts": {"llms": 2}, "foo": 2, "end_state": "Success",
        "video": null, "jwt": "secret"});

    let response = app.update_session(&jwt, update);
    assert_eq!(response.status, 200, "{}", response.text);
    let session = app.export(S1)["session"].clone();
    assert_eq!(session["event_counts"], json!({"llms": 2}), "{session}");
    assert_eq!(session["foo"], 2, "{session}");
    assert_eq!(session["end_state"], "Success", "{session}");
    assert_eq!(session["tags"], json!(["a"]), "{session}");
    assert!(session.get("jwt").is_none(), "{session}");
}

#[test]
fn update_session_unknown_fields_ignored() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let update = json!({"id": S1, "end_state": "Success", "end_state_reason": "ok",
        "future_field": {"x": [1, 2]}, "video": null, "is_running": false});

    let response = app.update_session(&jwt, update);
    assert_eq!(response.status, 200, "{}", response.text);
    let session = app.export(S1)["session"].clone();
    assert_eq!(session["end_state"], "Success");
    assert_eq!(session["end_state_reason"], "ok");
}

#[test]
fn update_session_token_cost_decimal() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let response = app.update_session(&jwt, json!({"id": S1}));
    assert_eq!(response.status, 200, "{}", response.text);
    let empty_cost = &response.body["token_cost"];
    assert!(
        is_decimal_string(empty_cost),
        "token_cost {empty_cost} of an empty session"
    );

    let llm = json!({"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z",
        "model": "gpt-4o", "prompt": "p", "completion": "c",
        "prompt_tokens": 1000, "completion_tokens": 500});
    let created = app.create_events(&jwt, json!([llm]));
    assert_eq!(created.status, 200, "{}", created.text);
    let response = app.update_session(&jwt, json!({"id": S1, "end_state": "Success"}));
    assert_eq!(response.status, 200, "{}", response.text);
    let cost = &response.body["token_cost"];
    assert!(
        is_decimal_string(cost),
        "token_cost {cost} after an llm event"
    );

    let stats = app.stats(S1);
    let token_cost: f64 = cost
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or(f64::NAN);
    let stats_cost: f64 = stats["cost"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or(f64::NAN);
    assert_eq!(
        token_cost, stats_cost,
        "token_cost {cost} differs from stats cost {}",
        stats["cost"]
    );
}

#[test]
fn null_and_missing_fields_kept() {
    let app = spawn_app();
    let mut session = default_session(S1);
    session["tags"] = json!(["t1"]);
    let jwt = app.create_session_jwt(session);
    assert_eq!(app.export(S1)["session"]["end_state"], "Indeterminate");

    let events = json!([
        {"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z",
         "model": "m-1", "prompt": "hi", "completion": "yo"},
        {"id": event_id(2), "type": "action", "init_timestamp": "2024-03-05T10:00:02Z",
         "end_timestamp": null, "action_type": "click"},
        {"id": event_id(3), "type": "llm", "init_timestamp": "2024-03-05T10:00:03Z",
         "end_timestamp": "2024-03-05T10:00:04Z", "model": null, "prompt": null, "completion": null},
    ]);
    let response = app.create_events(&jwt, events);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stored"], 3, "{}", response.text);

    // Rule: an end time that was not sent, or sent as null, reads back as null.
    let export = app.export(S1);
    assert_eq!(event(&export, &event_id(1))["end_timestamp"], Value::Null);
    assert_eq!(event(&export, &event_id(2))["end_timestamp"], Value::Null);
    let third = event(&export, &event_id(3));
    assert_eq!(third["end_timestamp"], "2024-03-05T10:00:04.000000Z");
    assert_eq!(third["model"], Value::Null);
    assert_eq!(third["prompt"], Value::Null);
    assert_eq!(third["completion"], Value::Null);

    let response = app.update_session(&jwt, json!({"id": S1, "end_state_reason": "done"}));
    assert_eq!(response.status, 200, "{}", response.text);
    let session = app.export(S1)["session"].clone();
    assert_eq!(session["tags"], json!(["t1"]));
    assert_eq!(session["end_state"], "Indeterminate");
    assert_eq!(session["end_state_reason"], "done");

    // Rule: `tags: null` leaves the tags unchanged.
    let response = app.update_session(&jwt, json!({"id": S1, "tags": null}));
    assert_eq!(response.status, 200, "{}", response.text);
    let session = app.export(S1)["session"].clone();
    assert_eq!(session["tags"], json!(["t1"]));
}

#[test]
fn create_session_without_tags_lists() {
    let app = spawn_app();
    let body =
        json!({"session": {"id": S1, "init_timestamp": "2024-03-05T10:00:00Z", "tags": null}});
    let response = app.post_with_key("/v2/create_session", &app.key_a, &body);
    assert_eq!(response.status, 200, "{}", response.text);
    let body = json!({"session": {"id": S2, "init_timestamp": "2024-03-05T10:00:00Z"}});
    let response = app.post_with_key("/v2/create_session", &app.key_a, &body);
    assert_eq!(response.status, 200, "{}", response.text);

    assert_eq!(app.export(S1)["session"]["tags"], json!([]));
    assert_eq!(app.export(S2)["session"]["tags"], json!([]));
}
