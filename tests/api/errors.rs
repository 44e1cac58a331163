//! Error bodies: every 4xx carries `error`, `message` and a snake_case
//! `code`, and no malformed input ever gets a 5xx.

use serde_json::json;

use crate::helpers::{S1, UNKNOWN_KEY, assert_error_body, event_id, spawn_app};

/// Credentials one request carries.
#[derive(Clone, Copy)]
enum Credential {
    None,
    KeyA,
    Key(&'static str),
    Jwt,
}

/// One malformed request and the error it must get.
struct BadRequest {
    method: &'static str,
    path: String,
    credential: Credential,
    body: &'static str,
    status: u16,
    /// The code, where the contract fixes one.
    code: Option<&'static str>,
}

fn post(path: &str, credential: Credential, body: &'static str, status: u16) -> BadRequest {
    BadRequest {
        method: "POST",
        path: path.to_string(),
        credential,
        body,
        status,
        code: None,
    }
}

fn get(path: &str, credential: Credential, status: u16) -> BadRequest {
    BadRequest {
        method: "GET",
        ..post(path, credential, "", status)
    }
}

impl BadRequest {
    fn code(self, code: &'static str) -> Self {
        Self {
            code: Some(code),
            ..self
        }
    }
}

#[test]
fn error_bodies_carry_code() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let bearer = format!("Bearer {jwt}");
    let unknown_export = format!("/v2/sessions/{}/export", event_id(9));
    let cases = [
        post("/v2/create_session", Credential::None, "{}", 401),
        post("/v2/create_session", Credential::Key("abc"), "{}", 400)
            .code("invalid_api_key_format"),
        post(
            "/v2/create_session",
            Credential::Key(UNKNOWN_KEY),
            "{}",
            401,
        )
        .code("invalid_api_key"),
        post("/v2/create_session", Credential::KeyA, "not json", 400).code("invalid_json"),
        post("/create_session", Credential::KeyA, "", 400).code("invalid_json"),
        post("/v2/create_events", Credential::Jwt, "not json", 400).code("invalid_json"),
        post("/v2/create_events", Credential::Jwt, "{\"events\":[", 400).code("invalid_json"),
        post("/v2/update_session", Credential::Jwt, "{", 400).code("invalid_json"),
        post("/v2/update_events", Credential::Jwt, "[1,2", 400).code("invalid_json"),
        post("/v2/create_agent", Credential::Jwt, "nope", 400).code("invalid_json"),
        post("/v2/create_thread", Credential::Jwt, "nope", 400).code("invalid_json"),
        post("/v2/reauthorize_jwt", Credential::KeyA, "nope", 400).code("invalid_json"),
        post(
            "/v2/reauthorize_jwt",
            Credential::Key(UNKNOWN_KEY),
            "{}",
            401,
        )
        .code("invalid_api_key"),
        get(&unknown_export, Credential::KeyA, 404),
        get("/v2/no_such_endpoint", Credential::None, 404),
        get("/v2/create_session", Credential::KeyA, 405),
    ];

    for case in cases {
        let headers: Vec<(&str, &str)> = match case.credential {
            Credential::None => vec![],
            Credential::KeyA => vec![("X-Agentops-Api-Key", app.key_a.as_str())],
            Credential::Key(key) => vec![("X-Agentops-Api-Key", key)],
            Credential::Jwt => vec![("Authorization", bearer.as_str())],
        };
        let response = match case.method {
            "GET" => app.get(&case.path, &headers),
            _ => app.post_bytes(&case.path, &headers, case.body.as_bytes().to_vec()),
        };
        let request = format!("{} {} {:?}", case.method, case.path, case.body);
        assert_eq!(response.status, case.status, "{request}: {}", response.text);
        assert_error_body(&response, case.status);
        if let Some(code) = case.code {
            assert_eq!(response.body["code"], code, "{request}: {}", response.text);
        }
    }
}

#[test]
fn wrong_shapes_never_server_error() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let key_bodies = [
        ("/v2/create_session", json!({"session": "text"})),
        ("/v2/create_session", json!({"session": {"id": 123}})),
        (
            "/v2/create_session",
            json!({"session": {"id": S1, "tags": "not a list"}}),
        ),
        (
            "/v2/create_session",
            json!({"session": {"id": S1, "init_timestamp": 1709632800}}),
        ),
        ("/v2/create_session", json!([])),
        ("/v2/reauthorize_jwt", json!({"session_id": 5})),
        ("/v2/reauthorize_jwt", json!({})),
    ];
    let jwt_bodies = [
        ("/v2/create_events", json!({})),
        ("/v2/create_events", json!({"events": "not a list"})),
        ("/v2/create_events", json!({"events": [1, "x", null]})),
        (
            "/v2/create_events",
            json!({"events": [{"id": 5, "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z"}]}),
        ),
        (
            "/v2/create_events",
            json!({"events": [{"type": 7, "init_timestamp": "2024-03-05T10:00:01Z"}]}),
        ),
        (
            "/v2/create_events",
            json!({"events": [{"type": "llm", "init_timestamp": ["2024"]}]}),
        ),
        (
            "/v2/update_session",
            json!({"session": {"id": S1, "end_state": 5, "tags": {"a": 1}}}),
        ),
        (
            "/v2/update_session",
            json!({"session": {"id": S1, "end_timestamp": 12}}),
        ),
        (
            "/v2/update_events",
            json!({"events": [{"completion": "no id"}]}),
        ),
        ("/v2/update_events", json!({"events": {"id": "x"}})),
        ("/v2/create_agent", json!({"name": "no id"})),
        ("/v2/create_agent", json!([1, 2])),
    ];

    for (path, body) in key_bodies {
        let response = app.post_with_key(path, &app.key_a, &body);
        assert!(
            response.status < 500,
            "{path} {body}: {} {}",
            response.status,
            response.text
        );
        if response.status >= 400 {
            assert_error_body(&response, response.status);
        }
    }
    for (path, body) in jwt_bodies {
        let response = app.post_with_jwt(path, &jwt, &body);
        assert!(
            response.status < 500,
            "{path} {body}: {} {}",
            response.status,
            response.text
        );
        if response.status >= 400 {
            assert_error_body(&response, response.status);
        }
    }
    assert_eq!(
        app.get("/health", &[]).status,
        200,
        "server stopped serving"
    );
}
