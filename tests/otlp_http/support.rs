//! OTLP requests built with the OpenTelemetry protobuf types, and the calls
//! the tests make: token, export, public reads.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as OtlpValue;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{Value, json};

use crate::helpers::{ApiResponse, TestApp};

pub const PROTOBUF: &str = "application/x-protobuf";
pub const JSON: &str = "application/json";

/// 2024-03-05T10:05:30.123456789Z in nanoseconds since the Unix epoch.
pub const START_NS: u64 = 1_709_633_130_123_456_789;

/// Status and raw body of one `/v1/traces` response.
#[derive(Debug)]
pub struct ExportResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl ExportResponse {
    /// Decodes a protobuf `ExportTraceServiceResponse`, failing the test
    /// unless the request succeeded.
    pub fn partial_success(&self) -> (i64, String) {
        assert_eq!(self.status, 200, "export failed: {}", self.text());
        let response = ExportTraceServiceResponse::decode(self.body.as_slice())
            .unwrap_or_else(|error| panic!("response is not protobuf ({error}): {:?}", self.body));
        response
            .partial_success
            .map(|partial| (partial.rejected_spans, partial.error_message))
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Trades an API key for a 30-day project token at `/v3/auth/token`.
pub fn project_token(app: &TestApp, key: &str) -> String {
    let response = app.post_json("/v3/auth/token", &[], &json!({ "api_key": key }));
    assert_eq!(
        response.status, 200,
        "token request failed: {}",
        response.text
    );
    response.str_field("token").to_owned()
}

/// Posts an OTLP body to `/v1/traces` with the given headers.
pub fn post_traces(
    app: &TestApp,
    token: Option<&str>,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: Vec<u8>,
) -> ExportResponse {
    let mut request = app.client.post(app.url("/v1/traces")).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    if let Some(content_encoding) = content_encoding {
        request = request.header("Content-Encoding", content_encoding);
    }
    let response = request.send().expect("POST /v1/traces completes");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .bytes()
        .expect("response body is readable")
        .to_vec();
    ExportResponse {
        status,
        content_type,
        body,
    }
}

/// Posts a protobuf request with `token`, uncompressed.
pub fn export(app: &TestApp, token: &str, request: &ExportTraceServiceRequest) -> ExportResponse {
    post_traces(
        app,
        Some(token),
        Some(PROTOBUF),
        None,
        request.encode_to_vec(),
    )
}

/// `GET path` with `Authorization: Bearer token`.
pub fn public_get(app: &TestApp, token: &str, path: &str) -> ApiResponse {
    let bearer = format!("Bearer {token}");
    app.get(path, &[("Authorization", bearer.as_str())])
}

/// `GET path` with `token`, failing the test unless it is a 200.
pub fn public_json(app: &TestApp, token: &str, path: &str) -> Value {
    let response = public_get(app, token, path);
    assert_eq!(response.status, 200, "GET {path}: {}", response.text);
    response.body
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip writes to memory");
    encoder.finish().expect("gzip finishes")
}

pub fn any(value: OtlpValue) -> AnyValue {
    AnyValue { value: Some(value) }
}

pub fn attribute(key: &str, value: OtlpValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(any(value)),
        key_strindex: 0,
    }
}

pub fn text(key: &str, value: &str) -> KeyValue {
    attribute(key, OtlpValue::StringValue(value.to_owned()))
}

/// A valid span of trace `[trace; 16]` with id `[id; 8]`, 2 ms long.
pub fn span(trace: u8, id: u8, parent: Option<u8>) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|parent| vec![parent; 8]).unwrap_or_default(),
        name: format!("step-{id}"),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: START_NS,
        end_time_unix_nano: START_NS + 2_000_000,
        ..Span::default()
    }
}

/// One resource (`service.name = tests`) with one scope holding `spans`.
pub fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name", "tests")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "tests".to_owned(),
                    version: "1.0".to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The 32 hex digits of trace `[trace; 16]`.
pub fn trace_hex(trace: u8) -> String {
    hex::encode([trace; 16])
}

/// The 16 hex digits of span `[id; 8]`.
pub fn span_hex(id: u8) -> String {
    hex::encode([id; 8])
}

/// The spans of a trace, by span id, failing the test when an id repeats.
pub fn spans_by_id(trace: &Value) -> std::collections::BTreeMap<String, Value> {
    let mut spans = std::collections::BTreeMap::new();
    for span in trace["spans"].as_array().expect("trace has a spans list") {
        let id = span["span_id"]
            .as_str()
            .expect("span has a span_id")
            .to_owned();
        assert!(
            spans.insert(id.clone(), span.clone()).is_none(),
            "span {id} listed twice"
        );
    }
    spans
}
