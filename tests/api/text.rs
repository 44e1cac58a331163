//! Text: multi-byte UTF-8 round-trips byte for byte, and bodies that are not
//! UTF-8 are rejected as `invalid_json` on every endpoint without harming
//! the connection or stored data.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    ApiResponse, S1, S2, action_event, assert_json_error, default_session, event, event_id,
    find_event, spawn_app,
};

/// One HTTP/1.1 keep-alive connection driven by hand, so a test can send
/// bytes that no HTTP client library would let through and check that the
/// server keeps the connection open afterwards.
struct RawConnection {
    host: String,
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// Head of one response: status and whether the server asked to close.
struct RawResponse {
    response: ApiResponse,
    closes_connection: bool,
}

impl RawConnection {
    fn open(address: &str) -> Self {
        let host = address.trim_start_matches("http://").to_string();
        let stream = TcpStream::connect(&host).expect("server accepts a TCP connection");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout can be set");
        Self {
            host,
            stream,
            buffer: Vec::new(),
        }
    }

    fn post(&mut self, path: &str, jwt: &str, body: &[u8]) -> RawResponse {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {jwt}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            self.host,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.stream
            .write_all(&request)
            .unwrap_or_else(|error| panic!("writing the request to {path} failed: {error}"));
        self.read_response()
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let read = self
            .stream
            .read(&mut chunk)
            .unwrap_or_else(|error| panic!("reading the response failed: {error}"));
        assert!(read > 0, "server closed the keep-alive connection");
        self.buffer.extend_from_slice(&chunk[..read]);
    }

    fn read_response(&mut self) -> RawResponse {
        let (head_len, status, content_length, chunked, closes_connection) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed
                .parse(&self.buffer)
                .expect("response head is valid HTTP")
            {
                httparse::Status::Complete(len) => {
                    let header = |name: &str| {
                        parsed
                            .headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case(name))
                            .map(|h| String::from_utf8_lossy(h.value).to_lowercase())
                    };
                    let content_length = header("content-length").and_then(|v| v.parse().ok());
                    let chunked =
                        header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
                    let closes = header("connection").is_some_and(|v| v.contains("close"));
                    let status = parsed.code.expect("response has a status");
                    break (len, status, content_length, chunked, closes);
                }
                httparse::Status::Partial => self.fill(),
            }
        };
        self.buffer.drain(..head_len);

        let body = if chunked {
            self.read_chunked_body()
        } else {
            let length: usize =
                content_length.expect("response has Content-Length or chunked body");
            while self.buffer.len() < length {
                self.fill();
            }
            self.buffer.drain(..length).collect()
        };
        let text = String::from_utf8(body).expect("response body is valid UTF-8");
        RawResponse {
            response: ApiResponse::new(status, text),
            closes_connection,
        }
    }

    fn read_chunked_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let (start, size) = loop {
                match httparse::parse_chunk_size(&self.buffer) {
                    Ok(httparse::Status::Complete(found)) => break found,
                    Ok(httparse::Status::Partial) => self.fill(),
                    Err(_) => panic!("invalid chunk size line in the response"),
                }
            };
            let size = size as usize;
            // Chunk data is followed by CRLF; the last chunk by CRLF with no trailers.
            while self.buffer.len() < start + size + 2 {
                self.fill();
            }
            body.extend_from_slice(&self.buffer[start..start + size]);
            self.buffer.drain(..start + size + 2);
            if size == 0 {
                return body;
            }
        }
    }
}

#[test]
fn multibyte_text_round_trips_exactly() {
    let app = spawn_app();
    let tags = json!(["🧪 test", "東京", "e\u{301}"]);
    let mut session = default_session(S1);
    session["tags"] = tags.clone();
    let jwt = app.create_session_jwt(session);
    let mixed = "naïve café — 東京 🧑🏽‍💻 مرحبا";
    let long_prompt = format!("a{}", "😀".repeat(262_144));
    assert_eq!(long_prompt.len(), 1_048_577);
    let events = json!([
        {"id": event_id(1), "type": "llm", "init_timestamp": "2024-03-05T10:00:01Z", "prompt": mixed, "completion": "👍"},
        {"id": event_id(2), "type": "llm", "init_timestamp": "2024-03-05T10:00:02Z", "prompt": long_prompt, "completion": "x"},
    ]);

    let response = app.create_events(&jwt, events);
    assert_eq!(response.status, 200, "{}", response.text);

    let export = app.export(S1);
    assert_eq!(export["session"]["tags"], tags);
    let e1 = event(&export, &event_id(1));
    assert_eq!(e1["prompt"], mixed);
    assert_eq!(e1["completion"], "👍");
    // Rule: long fields are stored whole, never truncated.
    let stored = event(&export, &event_id(2))["prompt"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        stored.len(),
        long_prompt.len(),
        "long prompt changed length"
    );
    assert!(!stored.contains('\u{FFFD}'), "long prompt gained U+FFFD");
    assert!(
        stored == long_prompt,
        "long prompt differs from what was sent"
    );
}

#[test]
fn invalid_utf8_keeps_connection_serving() {
    let mut app = spawn_app();
    let jwt = app.create_session(S1);
    let mut connection = RawConnection::open(&app.address);

    let before = format!(
        r#"{{"events":[{{"id":"{}","type":"llm","init_timestamp":"2024-03-05T10:00:01Z","completion":"bad "#,
        event_id(1)
    );
    let bad = with_bytes(&before, &[0xC3, 0x28], r#" byte"}]}"#);
    let first = connection.post("/v2/create_events", &jwt, &bad);
    assert_json_error(&first.response, 400, "invalid_json");
    assert!(
        !first.closes_connection,
        "server closed the connection after invalid UTF-8"
    );

    let second = connection.post("/v2/create_events", &jwt, b"not json at all");
    assert_json_error(&second.response, 400, "invalid_json");
    assert!(
        !second.closes_connection,
        "server closed the connection after invalid JSON"
    );

    let good = json!({"events": [{"id": event_id(2), "type": "llm", "init_timestamp": "2024-03-05T10:00:02Z",
        "completion": "fine"}]});
    let third = connection.post("/v2/create_events", &jwt, good.to_string().as_bytes());
    assert_eq!(third.response.status, 200, "{}", third.response.text);

    let export = app.export(S1);
    assert_eq!(event(&export, &event_id(2))["completion"], "fine");
    assert!(
        find_event(&export, &event_id(1)).is_none(),
        "E1 with invalid UTF-8 stored: {export}"
    );
    assert!(app.is_running(), "server exited");
}

/// Joins `before`, the raw bytes and `after` into one body.
fn with_bytes(before: &str, raw: &[u8], after: &str) -> Vec<u8> {
    let mut body = before.as_bytes().to_vec();
    body.extend_from_slice(raw);
    body.extend_from_slice(after.as_bytes());
    body
}

#[test]
fn invalid_utf8_rejected_everywhere() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let created = app.create_events(
        &jwt,
        json!([{"id": event_id(1), "type": "llm",
        "init_timestamp": "2024-03-05T10:00:01Z", "completion": "original"}]),
    );
    assert_eq!(created.status, 200, "{}", created.text);
    let key = app.key_a.clone();
    let session_body = format!(
        r#"{{"session":{{"id":"{S2}","init_timestamp":"2024-03-05T10:00:00Z","tags":["bad "#
    );
    let e1 = event_id(1);
    let e5 = event_id(5);
    // (endpoint, API key or JWT, body)
    let cases: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        (
            "/v2/create_session",
            Some(&key),
            with_bytes(&session_body, &[0xC3, 0x28], r#""]}}"#),
        ),
        (
            "/create_session",
            Some(&key),
            with_bytes(&session_body, &[0xFF], r#""]}}"#),
        ),
        (
            "/v2/update_session",
            None,
            with_bytes(
                &format!(r#"{{"session":{{"id":"{S1}","end_state_reason":""#),
                &[0xFF, 0xFE],
                r#""}}"#,
            ),
        ),
        (
            "/v2/update_events",
            None,
            with_bytes(
                &format!(r#"{{"events":[{{"id":"{e1}","completion":""#),
                &[0xED, 0xA0, 0x80],
                r#""}]}"#,
            ),
        ),
        (
            "/v2/create_agent",
            None,
            with_bytes(
                r#"{"id":"a9e00000-0000-4000-8000-0000000000a1","name":""#,
                &[0x80],
                r#""}"#,
            ),
        ),
        (
            "/v2/create_events",
            None,
            with_bytes(
                &format!(
                    r#"{{"events":[{{"id":"{e5}","type":"llm","init_timestamp":"2024-03-05T10:00:05Z","completion":""#
                ),
                &[0xC0, 0xAF],
                r#""}]}"#,
            ),
        ),
        (
            "/v2/create_events",
            None,
            with_bytes(
                &format!(
                    r#"{{"events":[{{"id":"{e5}","type":"llm","init_timestamp":"2024-03-05T10:00:05Z",""#
                ),
                &[0xFF],
                r#"":1}]}"#,
            ),
        ),
        (
            "/v2/create_events",
            None,
            with_bytes(
                &format!(
                    r#"{{"events":[{{"id":"{e5}","type":"llm","init_timestamp":"2024-03-05T10:00:05Z","completion":""#
                ),
                &[0xE6, 0x9D],
                r#""}]}"#,
            ),
        ),
    ];

    for (path, key, body) in cases {
        let response = match key {
            Some(key) => app.post_bytes(path, &[("X-Agentops-Api-Key", key)], body),
            None => app.post_bytes_with_jwt(path, &jwt, body),
        };
        assert_eq!(response.status, 400, "{path}: {}", response.text);
        assert_json_error(&response, 400, "invalid_json");
    }

    assert_eq!(
        app.export_with(&app.key_a, S2).status,
        404,
        "session with invalid UTF-8 stored"
    );
    let export = app.export(S1);
    assert_eq!(export["session"]["end_state_reason"], Value::Null);
    assert_eq!(event(&export, &event_id(1))["completion"], "original");
    assert!(
        find_event(&export, &event_id(5)).is_none(),
        "event with invalid UTF-8 stored"
    );
    assert_eq!(
        export["agents"],
        json!([]),
        "agent with invalid UTF-8 stored"
    );
}

#[test]
fn action_after_bad_body_stored() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let bad = with_bytes(
        r#"{"events":[{"type":"action","action_type":""#,
        &[0xFF],
        r#""}]}"#,
    );

    let response = app.post_bytes_with_jwt("/v2/create_events", &jwt, bad);
    assert_json_error(&response, 400, "invalid_json");
    let response = app.create_events(
        &jwt,
        json!([action_event(&event_id(1), "2024-03-05T10:00:01Z")]),
    );
    assert_eq!(response.status, 200, "{}", response.text);
    let export = app.export(S1);
    let actions = export["actions"].as_array().expect("actions is a list");
    assert_eq!(actions.len(), 1, "{export}");
}

#[test]
fn lone_surrogate_escape_rejected() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let good = action_event(&event_id(1), "2024-03-05T10:00:01Z");
    // `\ud800` is an unpaired UTF-16 surrogate: no UTF-8 text can hold it.
    let body = format!(
        r#"{{"events":[{good},{{"id":"{}","type":"llm","init_timestamp":"2024-03-05T10:00:05Z","completion":"\ud800"}}]}}"#,
        event_id(5)
    );

    // Rule: text that cannot be UTF-8 rejects the whole body as invalid JSON.
    let response = app.post_bytes_with_jwt("/v2/create_events", &jwt, body.into_bytes());
    assert_json_error(&response, 400, "invalid_json");
    let export = app.export(S1);
    assert!(
        find_event(&export, &event_id(1)).is_none(),
        "part of an invalid body was stored"
    );
    assert!(
        find_event(&export, &event_id(5)).is_none(),
        "lone surrogate stored"
    );
}
