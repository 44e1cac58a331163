//! Timestamps: every RFC 3339 form is stored as the same UTC instant and read
//! back as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. Values that are not RFC 3339 are
//! rejected with the field named.

use serde_json::{Value, json};

use crate::helpers::{
    S1, action_event, assert_error_body, default_session, event, event_id, group_ids, spawn_app,
};

/// Walks `value` and returns every number or null stored under a key that
/// names a duration or latency, with its path.
fn derived_durations(value: &Value, path: &str, found: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = format!("{path}.{key}");
                let lower = key.to_lowercase();
                if lower.contains("duration") || lower.contains("latency") {
                    found.push((child_path.clone(), child.clone()));
                }
                derived_durations(child, &child_path, found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                derived_durations(child, &format!("{path}[{index}]"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn event_offsets_stored_as_utc() {
    let app = spawn_app();
    let mut session = default_session(S1);
    session["init_timestamp"] = json!("2024-03-05T10:15:30.123Z");
    let jwt = app.create_session_jwt(session);
    let events = json!([
        {"id": event_id(1), "type": "action", "action_type": "a",
         "init_timestamp": "2024-03-05T10:15:31.000Z", "end_timestamp": "2024-03-05T10:15:31.100Z"},
        {"id": event_id(2), "type": "action", "action_type": "b",
         "init_timestamp": "2024-03-05T10:15:32.123456+00:00", "end_timestamp": "2024-03-05T10:15:32.223456+00:00"},
        {"id": event_id(3), "type": "action", "action_type": "c",
         "init_timestamp": "2024-03-05T15:45:33.000+05:30", "end_timestamp": "2024-03-05T15:45:33.500+05:30"},
        {"id": event_id(4), "type": "action", "action_type": "d",
         "init_timestamp": "2024-03-05T10:15:34.000001", "end_timestamp": "2024-03-05T10:15:34.000002"},
        {"id": event_id(5), "type": "action", "action_type": "e",
         "init_timestamp": "2024-03-05T10:15:35.999999999Z", "end_timestamp": "2024-03-05T10:15:36.000000000Z"},
    ]);

    let response = app.create_events(&jwt, events);
    assert_eq!(
        response.status, 200,
        "create_events failed: {}",
        response.text
    );
    assert_eq!(response.body["stored"], 5, "{}", response.text);

    let export = app.export(S1);
    assert_eq!(
        export["session"]["init_timestamp"],
        "2024-03-05T10:15:30.123000Z"
    );
    let e = |n: u32| event(&export, &event_id(n)).clone();
    assert_eq!(e(1)["init_timestamp"], "2024-03-05T10:15:31.000000Z");
    assert_eq!(e(1)["end_timestamp"], "2024-03-05T10:15:31.100000Z");
    assert_eq!(e(2)["init_timestamp"], "2024-03-05T10:15:32.123456Z");
    assert_eq!(e(2)["end_timestamp"], "2024-03-05T10:15:32.223456Z");
    // The +05:30 offset is applied: 15:45:33 local is 10:15:33 UTC.
    assert_eq!(e(3)["init_timestamp"], "2024-03-05T10:15:33.000000Z");
    assert_eq!(e(3)["end_timestamp"], "2024-03-05T10:15:33.500000Z");
    // A naive timestamp is read as UTC.
    assert_eq!(e(4)["init_timestamp"], "2024-03-05T10:15:34.000001Z");
    assert_eq!(e(4)["end_timestamp"], "2024-03-05T10:15:34.000002Z");
    // Nanoseconds are truncated to microseconds, never rounded up to :36.
    assert_eq!(e(5)["init_timestamp"], "2024-03-05T10:15:35.999999Z");
    assert_eq!(e(5)["end_timestamp"], "2024-03-05T10:15:36.000000Z");

    // Ordered by instant; a string sort would put E3 (15:45 local) last.
    let expected: Vec<String> = (1..=5).map(event_id).collect();
    assert_eq!(group_ids(&export, "actions"), expected);
}

#[test]
fn event_timestamp_forms_stored_as_utc() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let cases = [
        ("2024-03-05T11:00:00+01:00", "2024-03-05T10:00:00.000000Z"),
        ("2024-03-05T02:00:00.5-08:00", "2024-03-05T10:00:00.500000Z"),
        ("2024-03-06T01:30:00+05:30", "2024-03-05T20:00:00.000000Z"),
        ("2024-03-05T10:00:04-00:00", "2024-03-05T10:00:04.000000Z"),
        ("2024-03-05t10:00:01z", "2024-03-05T10:00:01.000000Z"),
        (
            "2024-03-05t10:00:01.25+00:00",
            "2024-03-05T10:00:01.250000Z",
        ),
        ("2024-03-05T10:00:04.1Z", "2024-03-05T10:00:04.100000Z"),
        ("2024-03-05T10:00:02.123Z", "2024-03-05T10:00:02.123000Z"),
        ("2024-03-05T10:00:02.123456Z", "2024-03-05T10:00:02.123456Z"),
        (
            "2024-03-05T10:00:02.123456789Z",
            "2024-03-05T10:00:02.123456Z",
        ),
        (
            "2024-03-05T23:59:59.9999999+00:00",
            "2024-03-05T23:59:59.999999Z",
        ),
        (
            "2024-03-05T10:00:59.999999999Z",
            "2024-03-05T10:00:59.999999Z",
        ),
        ("2024-03-05T10:00:03", "2024-03-05T10:00:03.000000Z"),
        (
            "2024-03-05T10:00:03.123456789",
            "2024-03-05T10:00:03.123456Z",
        ),
    ];
    let events: Vec<Value> = cases
        .iter()
        .zip(1..)
        .map(|((input, _), n)| action_event(&event_id(n), input))
        .collect();

    let response = app.create_events(&jwt, Value::from(events));
    assert_eq!(
        response.status, 200,
        "create_events failed: {}",
        response.text
    );

    let export = app.export(S1);
    for ((input, expected), n) in cases.iter().zip(1..) {
        let stored = &event(&export, &event_id(n))["init_timestamp"];
        assert_eq!(
            stored, expected,
            "init_timestamp {input:?} read back as {stored}"
        );
    }
}

#[test]
fn event_invalid_timestamps_rejected_individually() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let mut end_date_only = action_event(&event_id(3), "2024-03-05T10:00:03Z");
    end_date_only["end_timestamp"] = json!("2024-03-05");
    let events = json!([
        action_event(&event_id(1), "2024-03-05T10:00:01Z"),
        action_event(&event_id(2), "2024-03-05"),
        end_date_only,
        action_event(&event_id(4), "2024-13-05T10:00:00Z"),
        action_event(&event_id(5), "2024-03-05T10:00"),
        action_event(&event_id(6), "2024-03-05T10:00:06Z"),
    ]);

    let response = app.create_events(&jwt, events);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stored"], 2, "{}", response.text);
    assert_eq!(response.body["ids"], json!([event_id(1), event_id(6)]));

    let rejected = response.body["rejected"]
        .as_array()
        .expect("rejected is a list");
    let expected = [
        (1, "init_timestamp"),
        (2, "end_timestamp"),
        (3, "init_timestamp"),
        (4, "init_timestamp"),
    ];
    assert_eq!(rejected.len(), expected.len(), "{}", response.text);
    for (entry, (index, field)) in rejected.iter().zip(expected) {
        assert_eq!(entry["index"], index, "{entry}");
        assert_eq!(entry["id"], event_id(index + 1), "{entry}");
        assert_eq!(entry["field"], field, "{entry}");
        let message = entry["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(field),
            "message does not name {field}: {entry}"
        );
    }

    let export = app.export(S1);
    let expected_ids = vec![event_id(1), event_id(6)];
    assert_eq!(group_ids(&export, "actions"), expected_ids);
}

#[test]
fn end_before_init_kept_as_sent() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let tool = json!({"id": event_id(1), "type": "tool", "name": "search",
        "init_timestamp": "2024-03-05T10:00:05.000Z", "end_timestamp": "2024-03-05T10:00:02.000Z",
        "params": {}, "returns": "ok"});

    let created = app.create_events(&jwt, json!([tool]));
    assert_eq!(created.status, 200, "{}", created.text);
    let update =
        json!({"id": S1, "end_timestamp": "2024-03-05T09:59:58.000Z", "end_state": "Success"});
    let updated = app.update_session(&jwt, update);
    assert_eq!(updated.status, 200, "{}", updated.text);

    let export = app.export(S1);
    let stored = event(&export, &event_id(1));
    assert_eq!(stored["init_timestamp"], "2024-03-05T10:00:05.000000Z");
    assert_eq!(stored["end_timestamp"], "2024-03-05T10:00:02.000000Z");
    assert_eq!(
        export["session"]["end_timestamp"],
        "2024-03-05T09:59:58.000000Z"
    );
    assert_eq!(export["session"]["end_state"], "Success");

    let stats = app.stats(S1);
    assert_eq!(stats["events"], 1, "{stats}");
    let mut durations = Vec::new();
    derived_durations(&export, "export", &mut durations);
    derived_durations(&stats, "stats", &mut durations);
    for (path, value) in durations {
        let valid = value.is_null() || value.as_f64().is_some_and(|v| v >= 0.0);
        assert!(valid, "{path} is {value}, expected null or a number >= 0");
    }

    let listing = app.cli(&["sessions", "list", "--project", crate::helpers::PROJECT_A]);
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains(S1), "sessions list omits {S1}:\n{listing}");
}

#[test]
fn session_offsets_stored_as_utc() {
    let app = spawn_app();
    let mut session = default_session(S1);
    session["init_timestamp"] = json!("2024-03-05T15:30:00.250+05:30");
    let jwt = app.create_session_jwt(session);
    let export = app.export(S1);
    assert_eq!(
        export["session"]["init_timestamp"],
        "2024-03-05T10:00:00.250000Z"
    );

    let offset_end = json!({"id": S1, "end_timestamp": "2024-03-05T11:05:00+01:00"});
    let response = app.update_session(&jwt, offset_end);
    assert_eq!(response.status, 200, "{}", response.text);
    let export = app.export(S1);
    assert_eq!(
        export["session"]["end_timestamp"],
        "2024-03-05T10:05:00.000000Z"
    );

    let naive_end = json!({"id": S1, "end_timestamp": "2024-03-05T10:06:00.123456789"});
    let response = app.update_session(&jwt, naive_end);
    assert_eq!(response.status, 200, "{}", response.text);
    let export = app.export(S1);
    assert_eq!(
        export["session"]["end_timestamp"],
        "2024-03-05T10:06:00.123456Z"
    );
}

#[test]
fn update_session_date_only_rejected() {
    let app = spawn_app();
    let jwt = app.create_session(S1);

    let response = app.update_session(&jwt, json!({"id": S1, "end_timestamp": "2024-03-05"}));
    assert_error_body(&response, 400);
    let message = response.str_field("message");
    assert!(
        message.contains("end_timestamp"),
        "message does not name the field: {message}"
    );

    let export = app.export(S1);
    assert_eq!(export["session"]["end_timestamp"], Value::Null);
}

#[test]
fn create_session_date_only_rejected() {
    let app = spawn_app();
    let mut session = default_session(S1);
    session["init_timestamp"] = json!("2024-03-05");

    let response = app.create_session_with(&app.key_a, session);
    assert_error_body(&response, 400);
    let message = response.str_field("message");
    assert!(
        message.contains("init_timestamp"),
        "message does not name the field: {message}"
    );

    let read = app.export_with(&app.key_a, S1);
    assert_eq!(
        read.status, 404,
        "rejected session was stored: {}",
        read.text
    );
}

#[test]
fn update_events_offsets_stored_as_utc() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let created = app.create_events(
        &jwt,
        json!([action_event(&event_id(1), "2024-03-05T10:00:01Z")]),
    );
    assert_eq!(created.status, 200, "{}", created.text);

    let patch = json!([{"id": event_id(1), "end_timestamp": "2024-03-05T11:00:09.5+01:00"}]);
    let response = app.update_events(&jwt, patch);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["updated"], 1, "{}", response.text);

    let export = app.export(S1);
    let stored = event(&export, &event_id(1));
    assert_eq!(stored["end_timestamp"], "2024-03-05T10:00:09.500000Z");
    assert_eq!(stored["init_timestamp"], "2024-03-05T10:00:01.000000Z");
}
