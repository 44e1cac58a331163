//! Bad input on `/v1/traces`: every request gets a clear 4xx or its spans
//! are stored, never a 5xx, and the server keeps serving.

use opentelemetry_proto::tonic::common::v1::any_value::Value as OtlpValue;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::support::{
    JSON, PROTOBUF, START_NS, any, attribute, export, gzip, post_traces, project_token, public_get,
    public_json, request, span, span_hex, text, trace_hex,
};

/// The default `max_body_bytes`.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

fn fixture() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/otlp/v04-explicit-0004.bin"),
    )
    .expect("fixture is readable")
}

/// Checks an OTLP error: `status`, and a body that names the problem, as
/// `google.rpc.Status` for protobuf requests and as the JSON error otherwise.
fn assert_otlp_error(response: &crate::support::ExportResponse, status: u16, hint: &str) {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert!(
        response.text().contains(hint),
        "error body does not mention {hint:?}: {}",
        response.text()
    );
}

/// Sends one valid span and reads it back, showing the server still serves.
fn assert_still_serving(app: &TestApp, token: &str, trace: u8) {
    let response = export(app, token, &request(vec![span(trace, 0x77, None)]));
    assert_eq!(response.partial_success(), (0, String::new()));
    let path = format!("/public/v1/traces/{}", trace_hex(trace));
    let stored = public_json(app, token, &path);
    assert_eq!(stored["spans"][0]["span_id"], span_hex(0x77));
}

#[test]
fn truncated_protobuf_never_fails_server() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    let body = fixture();

    let last = post_traces(
        &app,
        Some(&token),
        Some(PROTOBUF),
        None,
        body[..body.len() - 1].to_vec(),
    );
    assert_otlp_error(&last, 400, "ExportTraceServiceRequest");
    assert_eq!(last.content_type, PROTOBUF);

    // Cutting a protobuf message at a field boundary leaves a valid shorter
    // message, so every cut must either be rejected or store what it holds.
    for cut in (1..body.len()).step_by(97) {
        let response = post_traces(
            &app,
            Some(&token),
            Some(PROTOBUF),
            None,
            body[..cut].to_vec(),
        );
        assert!(
            response.status == 400 || response.status == 200,
            "cut at {cut}: status {} body {}",
            response.status,
            response.text()
        );
    }
    assert_still_serving(&app, &token, 0x51);
}

#[test]
fn garbage_bodies_never_get_5xx() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    // A fixed xorshift stream, so the bytes are the same on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut garbage = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    };

    for len in [1, 7, 64, 1000, 65_536] {
        let body = garbage(len);
        let response = post_traces(&app, Some(&token), Some(PROTOBUF), None, body.clone());
        assert!(
            response.status == 400 || response.status == 200,
            "{len} random bytes as protobuf: status {}",
            response.status
        );
        let response = post_traces(&app, Some(&token), Some(JSON), None, body);
        assert_eq!(response.status, 400, "{len} random bytes as JSON");
        assert_eq!(response.json()["code"], "invalid_json");
    }
    let not_otlp = post_traces(&app, Some(&token), Some(JSON), None, b"[1, 2]".to_vec());
    assert_eq!(not_otlp.status, 400, "{}", not_otlp.text());
    let wrong_type = br#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 5}]}]}]}"#;
    let response = post_traces(&app, Some(&token), Some(JSON), None, wrong_type.to_vec());
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(response.text().contains("traceId"), "{}", response.text());
    assert_still_serving(&app, &token, 0x52);
}

#[test]
fn content_type_and_encoding_checked() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    let body = fixture();

    for content_type in [Some("text/plain"), Some("application/grpc"), None] {
        let response = post_traces(&app, Some(&token), content_type, None, body.clone());
        assert_otlp_error(&response, 415, "Content-Type");
        assert_eq!(response.json()["code"], "unsupported_media_type");
    }
    let response = post_traces(&app, Some(&token), Some(PROTOBUF), Some("br"), body.clone());
    assert_otlp_error(&response, 415, "Content-Encoding");

    let mut broken_gzip = gzip(&body);
    let middle = broken_gzip.len() / 2;
    broken_gzip.truncate(middle);
    let response = post_traces(
        &app,
        Some(&token),
        Some(PROTOBUF),
        Some("gzip"),
        broken_gzip,
    );
    assert_otlp_error(&response, 400, "gzip");

    let response = post_traces(
        &app,
        Some(&token),
        Some(PROTOBUF),
        Some("gzip"),
        body.clone(),
    );
    assert_otlp_error(&response, 400, "gzip");

    let response = post_traces(
        &app,
        Some(&token),
        Some(PROTOBUF),
        Some("gzip"),
        gzip(&body),
    );
    assert_eq!(response.partial_success(), (0, String::new()));
    let response = post_traces(
        &app,
        Some(&token),
        Some("Application/X-Protobuf; charset=binary"),
        None,
        body,
    );
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn missing_or_bad_token_gets_401() {
    let app = spawn_app();
    let body = fixture();
    for token in [None, Some("not-a-jwt"), Some(app.key_a.as_str())] {
        let response = post_traces(&app, token, Some(PROTOBUF), None, body.clone());
        assert_eq!(response.status, 401, "token {token:?}: {}", response.text());
        assert_eq!(response.json()["code"], "invalid_token");
    }
    let token = project_token(&app, &app.key_a);
    assert_eq!(
        public_get(
            &app,
            &token,
            "/public/v1/traces/f3882b0cc283caa2b870946bcfd96977"
        )
        .status,
        404,
        "nothing stored without a token"
    );
}

#[test]
fn oversized_bodies_get_413() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);

    let oversized = vec![0x0a; MAX_BODY_BYTES + 1];
    let response = post_traces(&app, Some(&token), Some(PROTOBUF), None, oversized);
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()["code"], "payload_too_large");

    // A gzip bomb: a body of about 32 KiB that inflates past the limit.
    let bomb = gzip(&vec![0; MAX_BODY_BYTES + 1024]);
    assert!(bomb.len() < MAX_BODY_BYTES / 100);
    let response = post_traces(&app, Some(&token), Some(JSON), Some("gzip"), bomb);
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()["code"], "payload_too_large");
    assert_still_serving(&app, &token, 0x53);
}

#[test]
fn bad_ids_and_times_rejected_per_span() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    const TRACE: u8 = 0x61;

    let mut short_trace = span(TRACE, 0x01, None);
    short_trace.trace_id = vec![TRACE; 15];
    let mut long_span = span(TRACE, 0x02, None);
    long_span.span_id = vec![0x02; 9];
    let mut zero_span = span(TRACE, 0x03, None);
    zero_span.span_id = vec![0; 8];
    let mut bad_parent = span(TRACE, 0x04, None);
    bad_parent.parent_span_id = vec![0x01; 3];
    let mut zero_start = span(TRACE, 0x05, None);
    zero_start.start_time_unix_nano = 0;
    let mut zero_trace = span(TRACE, 0x06, None);
    zero_trace.trace_id = vec![0; 16];
    let mut no_end = span(TRACE, 0x10, None);
    no_end.end_time_unix_nano = 0;
    let mut end_before_start = span(TRACE, 0x11, Some(0x10));
    end_before_start.end_time_unix_nano = START_NS - 5;
    let mut zero_parent = span(TRACE, 0x12, None);
    zero_parent.parent_span_id = vec![0; 8];
    let mut unknown_kind = span(TRACE, 0x13, Some(0x10));
    unknown_kind.kind = 99;

    let spans = vec![
        short_trace,
        long_span,
        zero_span,
        bad_parent,
        zero_start,
        zero_trace,
        no_end,
        end_before_start,
        zero_parent,
        unknown_kind,
    ];
    let response = export(&app, &token, &request(spans));
    let (rejected, message) = response.partial_success();
    assert_eq!(rejected, 6, "{message}");
    for hint in ["traceId", "spanId", "parentSpanId", "startTimeUnixNano"] {
        assert!(
            message.contains(hint),
            "message does not name {hint}: {message}"
        );
    }

    let trace = public_json(
        &app,
        &token,
        &format!("/public/v1/traces/{}", trace_hex(TRACE)),
    );
    let spans = crate::support::spans_by_id(&trace);
    let ids: Vec<&String> = spans.keys().collect();
    assert_eq!(
        ids,
        [
            span_hex(0x10),
            span_hex(0x11),
            span_hex(0x12),
            span_hex(0x13)
        ]
        .iter()
        .collect::<Vec<_>>()
    );
    let no_end = &spans[&span_hex(0x10)];
    assert_eq!(no_end["end_time"], Value::Null);
    assert_eq!(no_end["duration"], Value::Null);
    assert_eq!(spans[&span_hex(0x11)]["duration"], Value::Null);
    assert_eq!(spans[&span_hex(0x12)]["parent_span_id"], Value::Null);
    assert_eq!(spans[&span_hex(0x13)]["otel_kind"], "99");
    let roots = trace["tree"].as_array().expect("trace has a tree");
    assert_eq!(roots.len(), 2, "spans 0x10 and 0x12 are roots: {roots:?}");
}

#[test]
fn json_ids_of_wrong_length() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    let body = json!({"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {}, "spans": [
        {"traceId": "7171", "spanId": "0101010101010101", "name": "short trace",
         "startTimeUnixNano": "1709633130123456789"},
        {"traceId": "71717171717171717171717171717171", "spanId": "abc", "name": "odd span id",
         "startTimeUnixNano": "1709633130123456789"}
    ]}]}]});
    let response = post_traces(
        &app,
        Some(&token),
        Some(JSON),
        None,
        body.to_string().into_bytes(),
    );
    assert_eq!(response.status, 400, "odd hex digits: {}", response.text());
    assert!(response.text().contains("spanId"), "{}", response.text());

    let body = json!({"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {}, "spans": [
        {"traceId": "7171", "spanId": "0101010101010101", "name": "short trace",
         "startTimeUnixNano": "1709633130123456789"},
        {"traceId": "71717171717171717171717171717171", "spanId": "0202020202020202",
         "name": "kept", "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": "1709633130123456789",
         "status": {"code": "STATUS_CODE_ERROR", "message": "boom"}}
    ]}]}]});
    let response = post_traces(
        &app,
        Some(&token),
        Some(JSON),
        None,
        body.to_string().into_bytes(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let partial = response.json();
    assert_eq!(partial["partialSuccess"]["rejectedSpans"], "1", "{partial}");
    let trace = public_json(
        &app,
        &token,
        &format!("/public/v1/traces/{}", trace_hex(0x71)),
    );
    assert_eq!(trace["spans"][0]["span_id"], span_hex(0x02));
    assert_eq!(trace["spans"][0]["status_code"], "ERROR");
    assert_eq!(trace["spans"][0]["otel_kind"], "SERVER");
}

fn array(values: Vec<AnyValue>) -> OtlpValue {
    OtlpValue::ArrayValue(ArrayValue { values })
}

fn kvlist(values: Vec<KeyValue>) -> OtlpValue {
    OtlpValue::KvlistValue(KeyValueList { values })
}

#[test]
fn every_attribute_value_type_stored() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    const TRACE: u8 = 0x62;

    let mut typed = span(TRACE, 0x01, None);
    typed.attributes = vec![
        text("t.string", "text ✓"),
        attribute("t.bool", OtlpValue::BoolValue(true)),
        attribute("t.int", OtlpValue::IntValue(i64::MIN)),
        attribute("t.double", OtlpValue::DoubleValue(0.25)),
        attribute("t.nan", OtlpValue::DoubleValue(f64::NAN)),
        attribute("t.infinity", OtlpValue::DoubleValue(f64::NEG_INFINITY)),
        attribute("t.bytes", OtlpValue::BytesValue(vec![0, 255, 16])),
        attribute(
            "t.array",
            array(vec![
                any(OtlpValue::IntValue(1)),
                any(array(vec![any(OtlpValue::StringValue("inner".into()))])),
                AnyValue { value: None },
            ]),
        ),
        attribute(
            "t.kvlist",
            kvlist(vec![
                text("name", "outer"),
                attribute(
                    "nested",
                    kvlist(vec![attribute("deep", OtlpValue::BoolValue(false))]),
                ),
            ]),
        ),
        KeyValue {
            key: "t.empty".to_owned(),
            value: None,
            key_strindex: 0,
        },
        text("t.leaf", "leaf"),
        text("t.leaf.child", "child"),
        text("", "empty key"),
        text("t..double.dot", "kept whole"),
    ];
    let response = export(&app, &token, &request(vec![typed]));
    assert_eq!(response.partial_success(), (0, String::new()));

    let detail = public_json(
        &app,
        &token,
        &format!("/public/v1/spans/{}", span_hex(0x01)),
    );
    let attributes = &detail["span_attributes"];
    let t = &attributes["t"];
    assert_eq!(t["string"], "text ✓");
    assert_eq!(t["bool"], true);
    assert_eq!(t["int"], i64::MIN);
    assert_eq!(t["double"], 0.25);
    assert_eq!(t["nan"], "NaN");
    assert_eq!(t["infinity"], "-Infinity");
    assert_eq!(t["bytes"], "AP8Q");
    assert_eq!(t["array"], json!([1, ["inner"], null]));
    assert_eq!(
        t["kvlist"],
        json!({"name": "outer", "nested": {"deep": false}})
    );
    assert_eq!(t["empty"], Value::Null);
    assert_eq!(t["leaf"], json!({"": "leaf", "child": "child"}));
    assert_eq!(attributes[""], "empty key");
    assert_eq!(attributes["t..double.dot"], "kept whole");
}

#[test]
fn deep_nesting_gets_400() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    let mut value = OtlpValue::StringValue("bottom".into());
    for _ in 0..200 {
        value = kvlist(vec![attribute("level", value)]);
    }
    let mut deep = span(0x63, 0x01, None);
    deep.attributes = vec![attribute("deep", value)];

    let response = export(&app, &token, &request(vec![deep]));
    assert_otlp_error(&response, 400, "recursion");
    assert_still_serving(&app, &token, 0x54);
}

#[test]
fn huge_token_counts_keep_reads_working() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    const TRACE: u8 = 0x64;
    let llm_span = |id: u8| -> Span {
        let mut llm = span(TRACE, id, None);
        llm.attributes = vec![
            text("gen_ai.system", "OpenAI"),
            text("gen_ai.request.model", "gpt-4o-mini"),
            attribute("gen_ai.usage.prompt_tokens", OtlpValue::IntValue(i64::MAX)),
            attribute(
                "gen_ai.usage.completion_tokens",
                OtlpValue::IntValue(i64::MAX),
            ),
            attribute("gen_ai.usage.total_cost", OtlpValue::DoubleValue(1e300)),
        ];
        llm
    };

    let response = export(&app, &token, &request(vec![llm_span(1), llm_span(2)]));
    assert_eq!(response.status, 200, "{}", response.text());
    let response = export(&app, &token, &request(vec![llm_span(3)]));
    assert_eq!(response.status, 200, "{}", response.text());

    let path = format!("/public/v1/traces/{}/metrics", trace_hex(TRACE));
    let metrics = public_json(&app, &token, &path);
    assert_eq!(metrics["span_count"], 3);
    // Rule: a count past the largest plausible one is stored as no count.
    assert_eq!(metrics["prompt_tokens"], 0, "{metrics}");
    assert_eq!(metrics["total_tokens"], 0, "{metrics}");
    let stats = app.stats(&trace_hex(TRACE));
    assert_eq!(stats["prompt_tokens"], 0, "{stats}");
    assert_eq!(stats["events"], 3);
    assert_still_serving(&app, &token, 0x55);
}

#[test]
fn protobuf_with_unknown_fields_stored() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    let mut body = request(vec![span(0x65, 0x01, None)]).encode_to_vec();
    // Field 99, varint 1: a field from a newer OTLP version.
    body.extend_from_slice(&[0xf8, 0x06, 0x01]);
    let response = post_traces(&app, Some(&token), Some(PROTOBUF), None, body);
    assert_eq!(response.partial_success(), (0, String::new()));
    let trace = public_json(
        &app,
        &token,
        &format!("/public/v1/traces/{}", trace_hex(0x65)),
    );
    assert_eq!(trace["spans"][0]["span_id"], span_hex(0x01));
}
