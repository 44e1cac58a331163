//! Events and agents: `create_events`, `update_events`, `create_agent` and
//! `create_thread`, with per-event rejection inside a batch.

use serde_json::{Value, json};

use crate::helpers::{
    PROJECT_A, PROJECT_B, S1, S2, action_event, assert_json_error, count_events, event, event_id,
    find_event, group_of, spawn_app,
};

const AGENT_ID: &str = "a9e00000-0000-4000-8000-0000000000a1";

/// True when `text` contains a word that parses as a UUID.
fn mentions_uuid(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .any(|word| word.len() == 36 && uuid::Uuid::parse_str(word).is_ok())
}

fn llm_event(n: u32, second: u32) -> Value {
    json!({"id": event_id(n), "type": "llm", "init_timestamp": format!("2024-03-05T10:00:{second:02}Z"),
        "model": "m-1", "prompt": "p", "completion": "c"})
}

#[test]
fn create_events_type_forms_grouped() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let forms = [
        ("type", "llm", "llms", "llm"),
        ("type", "tool", "tools", "tool"),
        ("type", "action", "actions", "action"),
        ("type", "error", "errors", "error"),
        ("type", "Tool", "tools", "tool"),
        ("type", "ERROR", "errors", "error"),
        ("event_type", "llms", "llms", "llm"),
        ("event_type", "tools", "tools", "tool"),
        ("event_type", "actions", "actions", "action"),
        ("event_type", "errors", "errors", "error"),
        ("event_type", "apis", "other", "api"),
        ("type", "Retrieval", "other", "retrieval"),
    ];
    let events: Vec<Value> = forms
        .iter()
        .zip(1..)
        .map(|((key, value, _, _), n)| {
            let mut event = json!({"id": event_id(n), "init_timestamp": "2024-03-05T10:00:01Z"});
            event[*key] = json!(value);
            event
        })
        .collect();

    let response = app.create_events(&jwt, Value::from(events));
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stored"], forms.len(), "{}", response.text);

    let export = app.export(S1);
    for ((key, value, group, kind), n) in forms.iter().zip(1..) {
        let id = event_id(n);
        assert_eq!(
            group_of(&export, &id),
            Some(*group),
            "{key}={value:?} landed elsewhere"
        );
        assert_eq!(
            event(&export, &id)["type"],
            *kind,
            "{key}={value:?} read back as another type"
        );
    }
}

#[test]
fn create_events_server_assigns_ids() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let events = json!([
        {"type": "action", "action_type": "first", "init_timestamp": "2024-03-05T10:00:01Z"},
        action_event(&event_id(2), "2024-03-05T10:00:02Z"),
        {"type": "action", "action_type": "third", "init_timestamp": "2024-03-05T10:00:03Z"},
    ]);

    let response = app.create_events(&jwt, events);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["status"], "success", "{}", response.text);
    assert_eq!(response.body["stored"], 3, "{}", response.text);
    assert_eq!(response.body["rejected"], json!([]), "{}", response.text);
    let ids = response.body["ids"]
        .as_array()
        .expect("ids is a list")
        .clone();
    assert_eq!(ids.len(), 3, "{}", response.text);
    assert_eq!(
        ids[1],
        event_id(2),
        "ids are not in request order: {}",
        response.text
    );
    let first = ids[0].as_str().unwrap_or_default();
    let third = ids[2].as_str().unwrap_or_default();
    assert!(
        uuid::Uuid::parse_str(first).is_ok(),
        "server id {first:?} is not a UUID"
    );
    assert!(
        uuid::Uuid::parse_str(third).is_ok(),
        "server id {third:?} is not a UUID"
    );
    assert_ne!(first, third, "two events got the same server id");

    let export = app.export(S1);
    assert_eq!(event(&export, first)["action_type"], "first");
    assert_eq!(event(&export, third)["action_type"], "third");
}

#[test]
fn create_events_same_id_stored_once() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let first = app.create_events(&jwt, json!([llm_event(1, 1)]));
    assert_eq!(first.status, 200, "{}", first.text);
    let again = app.create_events(&jwt, json!([llm_event(1, 1)]));
    assert_eq!(again.status, 200, "{}", again.text);

    let export = app.export(S1);
    assert_eq!(count_events(&export, &event_id(1)), 1, "{export}");
    assert_eq!(app.stats(S1)["events"], 1);
}

#[test]
fn create_events_all_rejected_400() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let untyped = json!({"id": event_id(1), "init_timestamp": "2024-03-05T10:00:01Z"});

    let response = app.create_events(&jwt, json!([untyped]));
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.body["stored"], 0, "{}", response.text);
    assert_eq!(response.body["ids"], json!([]), "{}", response.text);
    let rejected = &response.body["rejected"][0];
    assert_eq!(rejected["index"], 0, "{}", response.text);
    assert_eq!(rejected["id"], event_id(1), "{}", response.text);
    assert_eq!(rejected["field"], "type", "{}", response.text);
    // Every 4xx carries the error fields as well.
    crate::helpers::assert_error_body(&response, 400);

    let export = app.export(S1);
    assert!(find_event(&export, &event_id(1)).is_none(), "{export}");
}

#[test]
fn prompt_shapes_read_back_unchanged() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let e2_prompt = json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}]);
    let e2_completion = json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c1",
        "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]});
    let e3_prompt = json!([{"role": "user", "content": [{"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]);
    let e3_completion = json!({"role": "assistant", "content": "A tiny image."});
    let events = json!([
        {"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z", "model": "m-1",
         "prompt": "Say hi", "completion": "Hi"},
        {"id": event_id(2), "type": "llm", "init_timestamp": "2024-03-05T10:00:02Z", "model": "m-1",
         "prompt": e2_prompt, "completion": e2_completion},
        {"id": event_id(3), "type": "llm", "init_timestamp": "2024-03-05T10:00:03Z", "model": "m-2",
         "prompt": e3_prompt, "completion": e3_completion},
    ]);

    let response = app.create_events(&jwt, events);
    assert_eq!(response.status, 200, "{}", response.text);

    let export = app.export(S1);
    let e1 = event(&export, &event_id(1));
    assert_eq!(e1["prompt"], "Say hi");
    assert_eq!(e1["completion"], "Hi");
    let e2 = event(&export, &event_id(2));
    assert_eq!(e2["prompt"], e2_prompt);
    assert_eq!(e2["completion"], e2_completion);
    assert!(
        e2["completion"]["content"].is_null(),
        "content: null was dropped: {e2}"
    );
    let arguments = &e2["completion"]["tool_calls"][0]["function"]["arguments"];
    assert_eq!(arguments, "{\"city\":\"Oslo\"}");
    let e3 = event(&export, &event_id(3));
    assert_eq!(e3["prompt"], e3_prompt);
    assert_eq!(e3["completion"], e3_completion);
}

#[test]
fn batch_bad_event_rejected_individually() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let events = json!([
        {"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z", "prompt": "a", "completion": "b"},
        {"id": event_id(2), "type": "llm", "init_timestamp": "yesterday after lunch", "prompt": "c", "completion": "d"},
        {"id": event_id(3), "type": "tool", "init_timestamp": "2024-03-05T10:00:03Z", "name": "calc",
         "params": {"x": 1}, "returns": "2"},
    ]);

    // Rule: good events are stored and the bad one is listed as rejected.
    let response = app.create_events(&jwt, events);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stored"], 2, "{}", response.text);
    assert_eq!(
        response.body["ids"],
        json!([event_id(1), event_id(3)]),
        "{}",
        response.text
    );
    let rejected = response.body["rejected"]
        .as_array()
        .expect("rejected is a list");
    assert_eq!(rejected.len(), 1, "{}", response.text);
    assert_eq!(rejected[0]["index"], 1, "{}", response.text);
    assert_eq!(rejected[0]["id"], event_id(2), "{}", response.text);
    assert_eq!(rejected[0]["field"], "init_timestamp", "{}", response.text);
    let message = rejected[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("init_timestamp"),
        "reason does not name the field: {message}"
    );

    let export = app.export(S1);
    assert!(
        find_event(&export, &event_id(1)).is_some(),
        "E1 missing: {export}"
    );
    assert!(
        find_event(&export, &event_id(3)).is_some(),
        "E3 missing: {export}"
    );
    assert!(
        find_event(&export, &event_id(2)).is_none(),
        "E2 stored: {export}"
    );
}

#[test]
fn update_unknown_event_not_found() {
    let app = spawn_app();
    let jwt1 = app.create_session(S1);
    let jwt2 = app.create_session(S2);
    let e1 = json!({"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z",
        "prompt": "p", "completion": "c"});
    let created = app.create_events(&jwt1, json!([e1]));
    assert_eq!(created.status, 200, "{}", created.text);

    // Rule: an update of an unknown id is a 404 and stores nothing.
    let late =
        json!([{"id": event_id(9), "end_timestamp": "2024-03-05T10:00:09Z", "completion": "late"}]);
    let response = app.update_events(&jwt1, late);
    assert_json_error(&response, 404, "event_not_found");
    let message = response.str_field("message");
    assert!(
        message.contains(&event_id(9)),
        "message does not name the id: {message}"
    );

    let hijack = json!([{"id": event_id(1), "completion": "hijack"}]);
    let response = app.update_events(&jwt2, hijack);
    assert_json_error(&response, 404, "event_not_found");

    let e9 = json!({"id": event_id(9), "type": "llm", "init_timestamp": "2024-03-05T10:00:08Z", "prompt": "p9"});
    let created = app.create_events(&jwt1, json!([e9]));
    assert_eq!(created.status, 200, "{}", created.text);

    let export = app.export(S1);
    assert_eq!(count_events(&export, &event_id(9)), 1, "{export}");
    let stored_e9 = event(&export, &event_id(9));
    assert_eq!(stored_e9["prompt"], "p9");
    assert_ne!(
        stored_e9["completion"], "late",
        "rejected update was stored: {stored_e9}"
    );
    assert_eq!(event(&export, &event_id(1))["completion"], "c");
    let other = app.export(S2);
    assert!(
        find_event(&other, &event_id(1)).is_none(),
        "E1 leaked into S2: {other}"
    );
}

#[test]
fn events_before_parents_are_kept() {
    let app = spawn_app();
    let e1 = json!({"events": [{"id": event_id(1), "type": "tool", "init_timestamp": "2024-03-05T10:00:01Z",
        "agent_id": AGENT_ID, "name": "scrape", "params": {"url": "https://example.test"}, "returns": "…"}]});

    let response = app.post_json("/v2/create_events", &[], &e1);
    assert_json_error(&response, 401, "invalid_token");
    let response = app.post_json("/v2/create_events", &[("Authorization", "Bearer ")], &e1);
    assert_json_error(&response, 401, "invalid_token");
    let response = app.post_json(
        "/v2/create_events",
        &[("Authorization", "Bearer not.a.jwt")],
        &e1,
    );
    assert_json_error(&response, 401, "invalid_token");
    for project in [PROJECT_A, PROJECT_B] {
        let listing = app.cli(&["sessions", "list", "--project", project]);
        assert!(
            listing.status.success(),
            "{}",
            String::from_utf8_lossy(&listing.stderr)
        );
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(
            !mentions_uuid(&listing),
            "unauthorized events created a session:\n{listing}"
        );
    }

    let jwt = app.create_session(S1);
    let response = app.post_with_jwt("/v2/create_events", &jwt, &e1);
    assert_eq!(response.status, 200, "{}", response.text);
    let export = app.export(S1);
    assert_eq!(event(&export, &event_id(1))["agent_id"], AGENT_ID);

    let agent = json!({"id": AGENT_ID, "name": "researcher"});
    let first = app.post_with_jwt("/v2/create_agent", &jwt, &agent);
    assert_eq!(first.status, 200, "{}", first.text);
    let second = app.post_with_jwt("/v2/create_agent", &jwt, &agent);
    assert_eq!(second.status, 200, "{}", second.text);

    let export = app.export(S1);
    let agents = export["agents"].as_array().expect("agents is a list");
    assert_eq!(agents.len(), 1, "{export}");
    assert_eq!(agents[0]["id"], AGENT_ID);
    assert_eq!(agents[0]["name"], "researcher");
    assert_eq!(event(&export, &event_id(1))["agent_id"], agents[0]["id"]);
}

#[test]
fn unknown_types_and_fields_kept() {
    let app = spawn_app();
    let host_env = json!({"SDK": {"AgentOps SDK Version": "9.9.9"}, "GPU": {"count": 0}});
    let mut session = crate::helpers::default_session(S1);
    session["host_env"] = host_env.clone();
    session["video"] = Value::Null;
    session["config"] = json!({"x": 1});
    session["future_flag"] = json!(true);
    let jwt = app.create_session_jwt(session);
    let body = json!({"client": "sdk-9.9.9", "events": [
        {"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z", "prompt": "p",
         "completion": "c", "cache_read_tokens": 5, "extra": {"k": [1, 2]}},
        {"id": event_id(2), "type": "retrieval", "init_timestamp": "2024-03-05T10:00:02Z", "query": "q",
         "documents": ["d1"]},
        {"id": event_id(3), "type": "LLM", "init_timestamp": "2024-03-05T10:00:03Z", "prompt": "p3"},
        {"id": event_id(4), "init_timestamp": "2024-03-05T10:00:04Z", "action_type": "no-type"},
    ]});

    let response = app.post_with_jwt("/v2/create_events", &jwt, &body);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stored"], 3, "{}", response.text);
    let expected_ids = json!([event_id(1), event_id(2), event_id(3)]);
    assert_eq!(response.body["ids"], expected_ids, "{}", response.text);
    // Rule: an event with no type is rejected on its own, naming `type`.
    let rejected = response.body["rejected"]
        .as_array()
        .expect("rejected is a list");
    assert_eq!(rejected.len(), 1, "{}", response.text);
    assert_eq!(rejected[0]["index"], 3, "{}", response.text);
    assert_eq!(rejected[0]["id"], event_id(4), "{}", response.text);
    assert_eq!(rejected[0]["field"], "type", "{}", response.text);

    let export = app.export(S1);
    assert_eq!(export["session"]["host_env"], host_env);
    let e1 = event(&export, &event_id(1));
    assert_eq!(group_of(&export, &event_id(1)), Some("llms"));
    assert_eq!(e1["type"], "llm");
    assert_eq!(e1["cache_read_tokens"], 5);
    assert_eq!(e1["extra"], json!({"k": [1, 2]}));
    // Rule: unknown types are kept, lowercased, in the `other` group.
    let e2 = event(&export, &event_id(2));
    assert_eq!(group_of(&export, &event_id(2)), Some("other"));
    assert_eq!(e2["type"], "retrieval");
    assert_eq!(e2["query"], "q");
    assert_eq!(e2["documents"], json!(["d1"]));
    // Rule: `type` is case-insensitive, so "LLM" is an llm event.
    assert_eq!(group_of(&export, &event_id(3)), Some("llms"));
    assert_eq!(event(&export, &event_id(3))["type"], "llm");
    assert!(
        find_event(&export, &event_id(4)).is_none(),
        "untyped event stored: {export}"
    );
}

#[test]
fn update_events_both_id_keys() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let created = app.create_events(&jwt, json!([llm_event(1, 1), llm_event(2, 2)]));
    assert_eq!(created.status, 200, "{}", created.text);

    let patches = json!([
        {"event_id": event_id(1), "end_timestamp": "2024-03-05T10:00:05Z",
         "completion": "Updated completion text", "completion_tokens": 100},
        {"id": event_id(2), "completion": "second"},
    ]);
    let response = app.update_events(&jwt, patches);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["status"], "success", "{}", response.text);
    assert_eq!(response.body["updated"], 2, "{}", response.text);

    let export = app.export(S1);
    let e1 = event(&export, &event_id(1));
    assert_eq!(e1["completion"], "Updated completion text");
    assert_eq!(e1["completion_tokens"], 100);
    assert_eq!(e1["end_timestamp"], "2024-03-05T10:00:05.000000Z");
    assert_eq!(e1["prompt"], "p", "fields not sent changed: {e1}");
    assert_eq!(e1["init_timestamp"], "2024-03-05T10:00:01.000000Z");
    let e2 = event(&export, &event_id(2));
    assert_eq!(e2["completion"], "second");
    assert_eq!(e2["model"], "m-1");
}

#[test]
fn update_events_missing_next_to_good() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let created = app.create_events(&jwt, json!([llm_event(1, 1)]));
    assert_eq!(created.status, 200, "{}", created.text);

    let patches = json!([
        {"id": event_id(1), "completion": "kept"},
        {"id": event_id(9), "completion": "orphan"},
    ]);
    let response = app.update_events(&jwt, patches);
    assert_json_error(&response, 404, "event_not_found");
    let message = response.str_field("message");
    assert!(
        message.contains(&event_id(9)),
        "message does not name the id: {message}"
    );

    // Rule: "nothing changed for that id" only; the found event is updated.
    let export = app.export(S1);
    assert_eq!(event(&export, &event_id(1))["completion"], "kept");
    assert!(
        find_event(&export, &event_id(9)).is_none(),
        "orphan update stored: {export}"
    );
}

#[test]
fn create_thread_returns_ok() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let thread = json!({"id": "7e7ead00-0000-4000-8000-000000000001", "agent_ids": [AGENT_ID]});

    let response = app.post_with_jwt("/v2/create_thread", &jwt, &thread);
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(
        !response.body.is_null(),
        "create_thread body is not JSON: {}",
        response.text
    );
}

#[test]
fn create_agent_without_token_401() {
    let app = spawn_app();
    let agent = json!({"id": AGENT_ID, "name": "researcher"});

    let response = app.post_json("/v2/create_agent", &[], &agent);
    assert_json_error(&response, 401, "invalid_token");
}
