//! Isolation: an API key reaches only its own project's sessions, and a
//! session JWT writes only into its own session.

use serde_json::json;

use crate::helpers::{
    S1, S2, action_event, assert_error_body, assert_json_error, default_session, event, event_id,
    find_event, spawn_app,
};

#[test]
fn other_project_cannot_read_session() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let created = app.create_events(
        &jwt,
        json!([action_event(&event_id(1), "2024-03-05T10:00:01Z")]),
    );
    assert_eq!(created.status, 200, "{}", created.text);

    let response = app.export_with(&app.key_b, S1);
    assert_error_body(&response, 404);
    assert!(
        !response.text.contains(&event_id(1)),
        "404 body leaks an event id"
    );
    let response = app.stats_with(&app.key_b, S1);
    assert_error_body(&response, 404);
    let response = app.reauthorize(&app.key_b, S1);
    assert_error_body(&response, 404);
    assert!(
        response.body.get("jwt").is_none(),
        "key B got a token for S1: {}",
        response.text
    );
}

#[test]
fn other_project_cannot_write_session() {
    let app = spawn_app();
    let mut session = default_session(S1);
    session["tags"] = json!(["owned-by-a"]);
    let jwt_a = app.create_session_jwt(session);
    let created = app.create_events(
        &jwt_a,
        json!([action_event(&event_id(1), "2024-03-05T10:00:01Z")]),
    );
    assert_eq!(created.status, 200, "{}", created.text);

    let mut intruder = default_session(S1);
    intruder["tags"] = json!(["written-by-b"]);
    let response = app.create_session_with(&app.key_b, intruder);
    assert!(
        response.status < 500,
        "create_session with key B: {}",
        response.text
    );
    if response.status >= 400 {
        assert_error_body(&response, response.status);
    }
    // Whatever key B got back, nothing sent with it may reach A's session.
    if let Some(jwt_b) = response.body["jwt"].as_str() {
        let sent = app.create_events(
            jwt_b,
            json!([action_event(&event_id(5), "2024-03-05T10:00:05Z")]),
        );
        assert!(sent.status < 500, "{}", sent.text);
        let ended =
            app.update_session(jwt_b, json!({"id": S1, "end_state": "Fail", "tags": ["b"]}));
        assert!(ended.status < 500, "{}", ended.text);
        let patched =
            app.update_events(jwt_b, json!([{"id": event_id(1), "action_type": "hijack"}]));
        assert!(
            patched.status == 404 || patched.status == 403,
            "{}",
            patched.text
        );
    }

    let export = app.export(S1);
    assert!(
        find_event(&export, &event_id(5)).is_none(),
        "key B's event is in A's session"
    );
    assert_eq!(export["session"]["tags"], json!(["owned-by-a"]));
    assert_eq!(export["session"]["end_state"], "Indeterminate");
    assert_eq!(event(&export, &event_id(1))["action_type"], "step");
}

#[test]
fn session_token_stays_in_session() {
    let app = spawn_app();
    let jwt1 = app.create_session(S1);
    let jwt2 = app.create_session(S2);
    let e2 = json!([{"id": event_id(2), "type": "llm", "init_timestamp": "2024-03-05T10:00:02Z",
        "prompt": "p", "completion": "mine"}]);
    let created = app.create_events(&jwt2, e2);
    assert_eq!(created.status, 200, "{}", created.text);

    let response = app.update_session(&jwt1, json!({"id": S2, "end_state": "Fail", "tags": ["x"]}));
    assert!(response.status < 500, "{}", response.text);
    if response.status >= 400 {
        assert_error_body(&response, response.status);
    }
    let response = app.update_events(&jwt1, json!([{"id": event_id(2), "completion": "hijack"}]));
    assert_json_error(&response, 404, "event_not_found");
    let mut e3 = action_event(&event_id(3), "2024-03-05T10:00:03Z");
    e3["session_id"] = json!(S2);
    let response = app.create_events(&jwt1, json!([e3]));
    assert!(response.status < 500, "{}", response.text);

    let export = app.export(S2);
    assert_eq!(export["session"]["end_state"], "Indeterminate");
    assert_eq!(export["session"]["tags"], json!([]));
    assert_eq!(event(&export, &event_id(2))["completion"], "mine");
    assert!(
        find_event(&export, &event_id(3)).is_none(),
        "S1's token wrote E3 into S2"
    );
}
