//! The public trace read API, the terminal log upload and how both show in
//! the export and the CLI.

use opentelemetry_proto::tonic::common::v1::any_value::Value as OtlpValue;
use opentelemetry_proto::tonic::trace::v1::Status;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{S1, TestApp, assert_json_error, spawn_app};
use crate::support::{
    attribute, export, project_token, public_get, public_json, request, span, span_hex,
    spans_by_id, text, trace_hex,
};

const TRACE: u8 = 0x3c;

/// Exports a small agent run: a session root (1), an LLM call (2) and a
/// failing tool (3), both children of the root.
fn export_agent_run(app: &TestApp, token: &str) {
    let mut root = span(TRACE, 1, None);
    root.name = "run.session".to_owned();
    root.attributes = vec![
        text("agentops.span.kind", "session"),
        text("operation.name", "run"),
        attribute(
            "agentops.tags",
            OtlpValue::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
                values: vec![
                    crate::support::any(OtlpValue::StringValue("red".into())),
                    crate::support::any(OtlpValue::StringValue("blue".into())),
                ],
            }),
        ),
        text("agentops.session.end_state", "Fail"),
    ];
    root.end_time_unix_nano = root.start_time_unix_nano + 9_000_000;

    let mut llm = span(TRACE, 2, Some(1));
    llm.name = "openai.chat.completion".to_owned();
    llm.kind = SpanKind::Client as i32;
    llm.status = Some(Status {
        code: StatusCode::Ok as i32,
        message: String::new(),
    });
    llm.attributes = vec![
        text("gen_ai.system", "OpenAI"),
        text("gen_ai.request.model", "gpt-4o-mini"),
        text("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
        attribute("gen_ai.usage.prompt_tokens", OtlpValue::IntValue(1000)),
        attribute("gen_ai.usage.completion_tokens", OtlpValue::IntValue(500)),
        attribute(
            "gen_ai.usage.cache_read_input_tokens",
            OtlpValue::IntValue(200),
        ),
        text("gen_ai.prompt.0.role", "user"),
        text("gen_ai.prompt.0.content", "Capital of France?"),
        text("gen_ai.completion.0.role", "assistant"),
        text("gen_ai.completion.0.content", "Paris."),
    ];

    let mut tool = span(TRACE, 3, Some(1));
    tool.name = "lookup.tool".to_owned();
    tool.status = Some(Status {
        code: StatusCode::Error as i32,
        message: "lookup failed".to_owned(),
    });
    tool.attributes = vec![text("agentops.span.kind", "tool")];

    let response = export(app, token, &request(vec![root, llm, tool]));
    assert_eq!(response.partial_success(), (0, String::new()));
}

#[test]
fn trace_lists_spans_and_tree() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    export_agent_run(&app, &token);

    let trace = public_json(
        &app,
        &token,
        &format!("/public/v1/traces/{}", trace_hex(TRACE)),
    );
    assert_eq!(trace["trace_id"], trace_hex(TRACE));
    assert_eq!(trace["tags"], json!(["red", "blue"]));
    assert_eq!(trace["end_state"], "Fail");
    assert!(trace["project_id"].is_string(), "{trace}");

    let spans = spans_by_id(&trace);
    assert_eq!(spans.len(), 3);
    let root = &spans[&span_hex(1)];
    assert_eq!(root["span_name"], "run.session");
    assert_eq!(root["span_kind"], "session");
    assert_eq!(root["parent_span_id"], Value::Null);
    assert_eq!(root["duration"], 9_000_000);
    assert_eq!(root["start_time"], "2024-03-05T10:05:30.123456789Z");
    assert_eq!(root["end_time"], "2024-03-05T10:05:30.132456789Z");
    assert_eq!(root["status_code"], "UNSET");
    assert_eq!(root["span_attributes"]["operation"]["name"], "run");

    let llm = &spans[&span_hex(2)];
    assert_eq!(llm["parent_span_id"], span_hex(1));
    assert_eq!(llm["status_code"], "OK");
    assert_eq!(llm["type"], "llm");
    let gen_ai = &llm["span_attributes"]["gen_ai"];
    assert_eq!(gen_ai["request"]["model"], "gpt-4o-mini");
    assert_eq!(gen_ai["prompt"]["0"]["content"], "Capital of France?");

    let tool = &spans[&span_hex(3)];
    assert_eq!(tool["status_code"], "ERROR");
    assert_eq!(tool["status_message"], "lookup failed");

    let tree = trace["tree"].as_array().expect("trace has a tree");
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0]["span_id"], span_hex(1));
    let children: Vec<&Value> = tree[0]["children"].as_array().unwrap().iter().collect();
    let child_ids: Vec<&str> = children
        .iter()
        .filter_map(|c| c["span_id"].as_str())
        .collect();
    assert_eq!(child_ids, [span_hex(2), span_hex(3)]);
}

#[test]
fn trace_metrics_count_tokens_and_status() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    export_agent_run(&app, &token);

    let path = format!("/public/v1/traces/{}/metrics", trace_hex(TRACE));
    let metrics = public_json(&app, &token, &path);
    assert_eq!(metrics["span_count"], 3);
    assert_eq!(metrics["trace_count"], 1);
    assert_eq!(metrics["success_count"], 1);
    assert_eq!(metrics["fail_count"], 1);
    assert_eq!(metrics["indeterminate_count"], 1);
    assert_eq!(metrics["error_count"], 1);
    assert_eq!(metrics["prompt_tokens"], 1000);
    assert_eq!(metrics["completion_tokens"], 500);
    assert_eq!(metrics["cache_read_input_tokens"], 200);
    assert_eq!(metrics["reasoning_tokens"], 0);
    assert_eq!(metrics["total_tokens"], 1500);
    assert_eq!(metrics["duration"], 9_000_000);
    for field in ["uncached_input", "cache_read", "output"] {
        assert!(
            metrics["cost_by_kind"][field].is_string(),
            "cost_by_kind.{field}: {metrics}"
        );
    }
    assert_eq!(metrics["total_cost"], metrics["average_cost_per_trace"]);
    assert_ne!(metrics["total_cost"], "0.0000000", "gpt-4o-mini is priced");

    let stats = app.stats(&trace_hex(TRACE));
    assert_eq!(stats["events"], 3);
    assert_eq!(stats["errors"], 1);
    assert_eq!(stats["prompt_tokens"], 1000);
    assert_eq!(stats["cache_read_tokens"], 200);
    assert_eq!(stats["duration_ms"], 9.0);
    assert!(stats["cost_by_kind"]["output"].is_string(), "{stats}");
}

#[test]
fn span_shows_nested_attributes() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    export_agent_run(&app, &token);

    // Span ids are read in either case.
    let path = format!("/public/v1/spans/{}", span_hex(2).to_uppercase());
    let detail = public_json(&app, &token, &path);
    assert_eq!(detail["span_id"], span_hex(2));
    assert_eq!(detail["trace_id"], trace_hex(TRACE));
    assert_eq!(detail["span_name"], "openai.chat.completion");
    assert_eq!(
        detail["span_attributes"]["gen_ai"]["usage"]["prompt_tokens"],
        1000
    );
    assert_eq!(detail["resource_attributes"]["service"]["name"], "tests");
    assert_eq!(detail["attributes"]["service"]["name"], "tests");
    assert_eq!(detail["attributes"]["gen_ai"]["system"], "OpenAI");
    assert_eq!(detail["scope"]["name"], "tests");
    assert_eq!(detail["prompt"][0]["content"], "Capital of France?");
    assert_eq!(detail["completion"][0]["content"], "Paris.");

    let path = format!("/public/v1/spans/{}/metrics", span_hex(2));
    let metrics = public_json(&app, &token, &path);
    assert_eq!(metrics["span_count"], 1);
    assert_eq!(metrics["prompt_tokens"], 1000);
    assert_eq!(metrics["completion_tokens"], 500);
    assert_eq!(metrics["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(metrics["duration"], 2_000_000);
}

#[test]
fn trace_ids_read_in_each_form() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    export_agent_run(&app, &token);
    let hex = trace_hex(TRACE);
    let uuid = uuid::Uuid::parse_str(&hex)
        .unwrap()
        .hyphenated()
        .to_string();

    for form in [hex.clone(), hex.to_uppercase(), uuid] {
        let trace = public_json(&app, &token, &format!("/public/v1/traces/{form}"));
        assert_eq!(trace["trace_id"], hex, "trace id form {form}");
    }
    for bad in ["not-a-trace", "3c3c", "zz3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c"] {
        let response = public_get(&app, &token, &format!("/public/v1/traces/{bad}"));
        assert_json_error(&response, 400, "invalid_trace_id");
    }
    for bad in ["3c3c", "g101010101010101"] {
        let response = public_get(&app, &token, &format!("/public/v1/spans/{bad}"));
        assert_json_error(&response, 400, "invalid_span_id");
    }
}

#[test]
fn other_project_reads_nothing() {
    let app = spawn_app();
    let token_a = project_token(&app, &app.key_a);
    let token_b = project_token(&app, &app.key_b);
    export_agent_run(&app, &token_a);

    let trace = format!("/public/v1/traces/{}", trace_hex(TRACE));
    let paths = [
        (trace.clone(), "trace_not_found"),
        (format!("{trace}/metrics"), "trace_not_found"),
        (
            format!("/public/v1/spans/{}", span_hex(1)),
            "span_not_found",
        ),
        (
            format!("/public/v1/spans/{}/metrics", span_hex(1)),
            "span_not_found",
        ),
    ];
    for (path, code) in &paths {
        assert_json_error(&public_get(&app, &token_b, path), 404, code);
        let response = app.get(path, &[]);
        assert_json_error(&response, 401, "invalid_token");
        let response = public_get(&app, &token_a, path);
        assert_eq!(response.status, 200, "{path} with the owner's token");
    }
    // A v2 session token is not a project token.
    let jwt = app.create_session(S1);
    assert_json_error(&public_get(&app, &jwt, &trace), 401, "invalid_token");
}

#[test]
fn rest_session_is_not_trace() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    app.create_session(S1);

    let response = public_get(&app, &token, &format!("/public/v1/traces/{S1}"));
    assert_json_error(&response, 404, "trace_not_found");
    let message = response.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("/v2/sessions/"), "{message}");
}

#[test]
fn access_token_reads_project() {
    let app = spawn_app();
    let response = app.post_json(
        "/public/v1/auth/access_token",
        &[],
        &json!({"api_key": app.key_a}),
    );
    assert_eq!(response.status, 200, "{}", response.text);
    let bearer = response.str_field("bearer").to_owned();

    let project = public_json(&app, &bearer, "/public/v1/project");
    assert_eq!(project["name"], crate::helpers::PROJECT_A);
    assert!(project["id"].is_string(), "{project}");

    export_agent_run(&app, &bearer);
    let trace = public_json(
        &app,
        &bearer,
        &format!("/public/v1/traces/{}", trace_hex(TRACE)),
    );
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(3));
}

/// `323709428503045618973508369058144807287` is trace
/// `f3882b0cc283caa2b870946bcfd96977` in decimal, as SDK 0.4 sends it.
const LOG_TRACE_DECIMAL: &str = "323709428503045618973508369058144807287";
const LOG_TRACE_HEX: &str = "f3882b0cc283caa2b870946bcfd96977";

fn upload_log(
    app: &TestApp,
    token: &str,
    trace_id: &str,
    text: &str,
) -> crate::helpers::ApiResponse {
    let bearer = format!("Bearer {token}");
    app.post_json(
        "/v4/logs/upload/",
        &[("Authorization", bearer.as_str()), ("Trace-Id", trace_id)],
        &json!({ "body": text }),
    )
}

#[test]
fn terminal_log_shows_with_session() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    let log = "2026-12-04 15:08:46,224 - INFO - hello from user code\nsecond line\n";

    let response = upload_log(&app, &token, LOG_TRACE_DECIMAL, log);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["size"], log.len());
    let fixture = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/otlp/v04-explicit-0004.bin"),
    )
    .expect("fixture is readable");
    let exported = crate::support::post_traces(
        &app,
        Some(&token),
        Some(crate::support::PROTOBUF),
        None,
        fixture,
    );
    assert_eq!(exported.status, 200, "{}", exported.text());

    let export = app.export(LOG_TRACE_HEX);
    assert_eq!(export["log"], log);
    assert_eq!(export["session"]["name"], "capture-trace");

    let output = app.cli(&[
        "sessions",
        "show",
        LOG_TRACE_HEX,
        "--project",
        crate::helpers::PROJECT_A,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown: Value = serde_json::from_slice(&output.stdout).expect("sessions show prints JSON");
    assert_eq!(shown["log"], log);
    assert_eq!(shown["session"]["end_state"], "Success");

    let output = app.cli(&[
        "sessions",
        "show",
        LOG_TRACE_HEX,
        "--project",
        crate::helpers::PROJECT_A,
        "--log",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), log);
}

#[test]
fn log_upload_rejects_bad_trace_id() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    for bad in [
        "",
        "0",
        "f3882b0cc283caa2",
        "-5",
        "340282366920938463463374607431768211456",
    ] {
        let response = upload_log(&app, &token, bad, "text");
        assert_json_error(&response, 400, "invalid_trace_id");
    }
    let no_token = app.post_json(
        "/v4/logs/upload/",
        &[("Trace-Id", LOG_TRACE_DECIMAL)],
        &json!({"body": "text"}),
    );
    assert_json_error(&no_token, 401, "invalid_token");
    // A session without a log shows null.
    app.create_session(S1);
    assert_eq!(app.export(S1)["log"], Value::Null);
}
