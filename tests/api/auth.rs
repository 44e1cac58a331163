//! Authentication: API keys (format, unknown, revoked) and session JWTs
//! (claims, expiry, reauthorization, forged and unsigned tokens).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{
    PROJECT_A, S1, S2, TestApp, UNKNOWN_KEY, action_event, assert_error_body, assert_json_error,
    default_session, event_id, find_event, sign_jwt_with, spawn_app, unix_now,
};

const DAY_SECONDS: i64 = 24 * 60 * 60;

/// Returns the claims of `jwt` with new `iat`, `exp` and `jti`.
fn reissued_claims(app: &TestApp, jwt: &str, iat: i64, exp: i64) -> Value {
    let mut claims = app.decode_jwt(jwt);
    claims["iat"] = json!(iat);
    claims["exp"] = json!(exp);
    claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
    claims
}

/// Builds an unsigned token with header `{"alg":"none"}`.
fn unsigned_token(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

fn count_uuids(text: &str) -> usize {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .filter(|word| word.len() == 36 && uuid::Uuid::parse_str(word).is_ok())
        .count()
}

#[test]
fn session_jwt_claims_match_contract() {
    let app = spawn_app();
    let before = unix_now();
    let jwt = app.create_session(S1);
    let after = unix_now();

    let header = jsonwebtoken::decode_header(&jwt).expect("token header decodes");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
    let claims = app.decode_jwt(&jwt);
    assert_eq!(claims["session_id"], S1);
    assert_eq!(claims["typ"], "session");
    assert!(
        claims["project_id"].is_i64(),
        "project_id is not an integer: {claims}"
    );
    let jti = claims["jti"].as_str().unwrap_or_default();
    assert!(
        uuid::Uuid::parse_str(jti).is_ok(),
        "jti {jti:?} is not a UUID"
    );
    let iat = claims["iat"].as_i64().expect("iat is an integer");
    let exp = claims["exp"].as_i64().expect("exp is an integer");
    assert!(
        iat >= before - 1 && iat <= after + 1,
        "iat {iat} is not the issue time"
    );
    assert_eq!(exp - iat, DAY_SECONDS, "token does not live 24 h");
}

#[test]
fn expired_token_reauthorized_same_session() {
    let app = spawn_app();
    let jwt1 = app.create_session(S1);
    let now = unix_now();
    let expired = app.sign_jwt(&reissued_claims(
        &app,
        &jwt1,
        now - DAY_SECONDS - 1,
        now - 1,
    ));
    let e1 = json!([{"id": event_id(1), "type": "action", "init_timestamp": "2024-03-06T10:00:01Z",
        "action_type": "x"}]);

    let response = app.create_events(&expired, e1.clone());
    assert_json_error(&response, 401, "token_expired");
    let message = response.str_field("message").to_lowercase();
    assert!(
        message.contains("expired"),
        "message does not say the token expired: {message}"
    );
    assert!(
        message.contains("/v2/reauthorize_jwt"),
        "message does not name the fix: {message}"
    );
    assert!(
        find_event(&app.export(S1), &event_id(1)).is_none(),
        "E1 stored with an expired token"
    );

    let response = app.reauthorize(&app.key_a, S1);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["status"], "success", "{}", response.text);
    let jwt2 = response.str_field("jwt").to_string();
    assert_ne!(jwt2, jwt1, "reauthorize_jwt returned the old token");
    let claims = app.decode_jwt(&jwt2);
    assert_eq!(claims["session_id"], S1);
    let exp = claims["exp"].as_i64().unwrap_or_default();
    let iat = claims["iat"].as_i64().unwrap_or_default();
    assert_eq!(exp - iat, DAY_SECONDS, "new token does not live 24 h");
    assert!(
        exp >= now + DAY_SECONDS - 5,
        "new token expires at {exp}, before now + 24 h"
    );

    let response = app.create_events(&jwt2, e1);
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(
        find_event(&app.export(S1), &event_id(1)).is_some(),
        "E1 not in S1"
    );
    let listing = app.cli(&["sessions", "list", "--project", PROJECT_A]);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert_eq!(count_uuids(&listing), 1, "expected only {S1}:\n{listing}");

    let response = app.reauthorize(UNKNOWN_KEY, S1);
    assert_json_error(&response, 401, "invalid_api_key");
    let response = app.reauthorize(&app.key_a, "00000000-0000-4000-8000-00000000dead");
    assert_error_body(&response, 404);
}

#[test]
fn token_under_day_old_accepted() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let now = unix_now();
    let old = app.sign_jwt(&reissued_claims(
        &app,
        &jwt,
        now - DAY_SECONDS + 60,
        now + 60,
    ));

    let response = app.create_events(
        &old,
        json!([action_event(&event_id(1), "2024-03-05T10:00:01Z")]),
    );
    assert_eq!(response.status, 200, "{}", response.text);
}

#[test]
fn expired_token_rejected_everywhere() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let now = unix_now();
    let expired = app.sign_jwt(&reissued_claims(&app, &jwt, now - DAY_SECONDS - 1, now - 1));
    let requests = [
        (
            "/v2/create_events",
            json!({"events": [action_event(&event_id(1), "2024-03-05T10:00:01Z")]}),
        ),
        (
            "/v2/update_session",
            json!({"session": {"id": S1, "end_state": "Fail"}}),
        ),
        (
            "/v2/update_events",
            json!({"events": [{"id": event_id(1), "completion": "x"}]}),
        ),
        (
            "/v2/create_agent",
            json!({"id": "a9e00000-0000-4000-8000-0000000000a1", "name": "r"}),
        ),
        (
            "/v2/create_thread",
            json!({"id": "7e7ead00-0000-4000-8000-000000000001"}),
        ),
    ];

    for (path, body) in requests {
        let response = app.post_with_jwt(path, &expired, &body);
        assert_eq!(response.status, 401, "{path}: {}", response.text);
        assert_json_error(&response, 401, "token_expired");
    }
    let export = app.export(S1);
    assert_eq!(export["session"]["end_state"], "Indeterminate");
    assert_eq!(export["agents"], json!([]));
}

#[test]
fn forged_tokens_rejected_401() {
    let app = spawn_app();
    let jwt = app.create_session(S1);
    let now = unix_now();
    let claims = reissued_claims(&app, &jwt, now, now + DAY_SECONDS);
    let other_secret = sign_jwt_with(b"0123456789abcdef0123456789abcdef", &claims);
    let unsigned = unsigned_token(&claims);
    let (head, _) = jwt.rsplit_once('.').expect("token has a signature");
    let stripped = format!("{head}.");
    let mut tampered_claims = app.decode_jwt(&jwt);
    tampered_claims["session_id"] = json!(S2);
    let payload = URL_SAFE_NO_PAD.encode(tampered_claims.to_string());
    let parts: Vec<&str> = jwt.split('.').collect();
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    let tokens = [
        ("signed with another secret", other_secret),
        ("alg none", unsigned),
        ("signature removed", stripped),
        ("payload changed", tampered),
        ("not a JWT", "not.a.jwt".to_string()),
        ("garbage", "abc".to_string()),
    ];

    for (case, token) in tokens {
        let events = json!([action_event(&event_id(1), "2024-03-05T10:00:01Z")]);
        let response = app.create_events(&token, events);
        assert_eq!(response.status, 401, "{case}: {}", response.text);
        assert_json_error(&response, 401, "invalid_token");
    }
    let basic = app.post_json(
        "/v2/create_events",
        &[("Authorization", "Basic dXNlcjpwYXNz")],
        &json!({"events": []}),
    );
    assert_json_error(&basic, 401, "invalid_token");
    assert!(
        find_event(&app.export(S1), &event_id(1)).is_none(),
        "forged token stored an event"
    );
}

#[test]
fn api_key_formats_checked() {
    let app = spawn_app();
    let session = json!({"session": default_session(S1)});

    for bad in [
        "not-a-uuid",
        "12345",
        "5e551011-0000-4000-8000-00000000000g",
    ] {
        let response = app.post_with_key("/v2/create_session", bad, &session);
        assert_eq!(response.status, 400, "key {bad:?}: {}", response.text);
        assert_json_error(&response, 400, "invalid_api_key_format");
        let message = response.str_field("message").to_lowercase();
        let names_field = message.contains("x-agentops-api-key") || message.contains("api key");
        assert!(names_field, "message does not name the field: {message}");
        assert!(
            message.contains(bad),
            "message does not name the value {bad:?}: {message}"
        );
    }
    let response = app.post_with_key("/v2/create_session", UNKNOWN_KEY, &session);
    assert_json_error(&response, 401, "invalid_api_key");
    let response = app.post_json("/v2/create_session", &[], &session);
    assert_error_body(&response, 401);
    let response = app.reauthorize("not-a-uuid", S1);
    assert_json_error(&response, 400, "invalid_api_key_format");
    let response = app.export_with("not-a-uuid", S1);
    assert_json_error(&response, 400, "invalid_api_key_format");
    let response = app.export_with(UNKNOWN_KEY, S1);
    assert_json_error(&response, 401, "invalid_api_key");
    let response = app.stats_with(UNKNOWN_KEY, S1);
    assert_json_error(&response, 401, "invalid_api_key");
    assert_eq!(
        app.export_with(&app.key_a, S1).status,
        404,
        "rejected create stored a session"
    );
}

#[test]
fn revoked_key_rejected_401() {
    let app = spawn_app();
    let key_c = app.create_key(PROJECT_A);
    let response = app.create_session_with(&key_c, default_session(S1));
    assert_eq!(response.status, 200, "{}", response.text);

    let revoke = app.cli(&["keys", "revoke", &key_c[..8]]);
    assert!(
        revoke.status.success(),
        "keys revoke failed: {}",
        String::from_utf8_lossy(&revoke.stderr)
    );

    let response = app.create_session_with(&key_c, default_session(S2));
    assert_json_error(&response, 401, "invalid_api_key");
    let response = app.reauthorize(&key_c, S1);
    assert_json_error(&response, 401, "invalid_api_key");
    let response = app.export_with(&key_c, S1);
    assert_json_error(&response, 401, "invalid_api_key");
    let response = app.create_session_with(&app.key_a, default_session(S2));
    assert_eq!(
        response.status, 200,
        "key of the same project stopped working: {}",
        response.text
    );
}

#[test]
fn revoked_key_ends_its_tokens() {
    let app = spawn_app();
    let key_c = app.create_key(PROJECT_A);
    let response = app.create_session_with(&key_c, default_session(S1));
    assert_eq!(response.status, 200, "{}", response.text);
    let jwt = response.body["jwt"].as_str().unwrap().to_owned();
    let token_response = app.post_json("/v3/auth/token", &[], &json!({"api_key": key_c}));
    assert_eq!(token_response.status, 200, "{}", token_response.text);
    let project_token = token_response.body["token"].as_str().unwrap().to_owned();
    let jwt_a = app.create_session(S2);

    let revoke = app.cli(&["keys", "revoke", &key_c[..8]]);
    assert!(
        revoke.status.success(),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    // Revocation reaches a running server within the key status cache time.
    std::thread::sleep(std::time::Duration::from_secs(6));

    let events = json!([action_event(&event_id(1), "2024-03-05T10:00:01Z")]);
    let response = app.create_events(&jwt, events.clone());
    assert_json_error(&response, 401, "api_key_revoked");
    let bearer = format!("Bearer {project_token}");
    let response = app.get("/public/v1/project", &[("Authorization", &bearer)]);
    assert_json_error(&response, 401, "api_key_revoked");
    let response = app.create_events(&jwt_a, events);
    assert_eq!(
        response.status, 200,
        "token of an active key stopped: {}",
        response.text
    );
}

#[test]
fn missing_auth_rejected_everywhere() {
    let app = spawn_app();
    let bearer_paths = [
        "/v2/create_events",
        "/v2/update_session",
        "/v2/update_events",
        "/v2/create_agent",
        "/v2/create_thread",
    ];
    for path in bearer_paths {
        let response = app.post_json(path, &[], &json!({}));
        assert_eq!(response.status, 401, "{path}: {}", response.text);
        assert_json_error(&response, 401, "invalid_token");
    }
    let response = app.post_json("/v2/reauthorize_jwt", &[], &json!({"session_id": S1}));
    assert_error_body(&response, 401);
    let response = app.get(&format!("/v2/sessions/{S1}/export"), &[]);
    assert_error_body(&response, 401);
    let response = app.get(&format!("/v2/sessions/{S1}/stats"), &[]);
    assert_error_body(&response, 401);
}
