//! OTLP/HTTP request bodies in and response bodies out: content types,
//! compression with a size bound, protobuf and OTLP/JSON.

use std::borrow::Cow;
use std::io::Read;

use axum::http::StatusCode;
use flate2::read::{MultiGzDecoder, ZlibDecoder};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatusCode;
use prost::Message;
use serde_json::Value;

const PROTOBUF_CONTENT_TYPE: &str = "application/x-protobuf";
const JSON_CONTENT_TYPE: &str = "application/json";

/// Wire encoding of an OTLP/HTTP request, and so of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// Reads a `Content-Type` header value. Parameters such as
    /// `; charset=utf-8` are ignored and the match is case-insensitive.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case(PROTOBUF_CONTENT_TYPE)
            || media_type.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Self::Protobuf)
        } else if media_type.eq_ignore_ascii_case(JSON_CONTENT_TYPE) {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// Returns the `Content-Type` of a response in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => PROTOBUF_CONTENT_TYPE,
            Self::Json => JSON_CONTENT_TYPE,
        }
    }
}

/// A request body that cannot be decoded, with the HTTP status it deserves
/// (400, 413 or 415) and a message that names the value and the fix.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct OtlpError {
    status: StatusCode,
    code: &'static str,
    message: String,
    encoding: Option<Encoding>,
}

impl OtlpError {
    fn new(status: StatusCode, code: &'static str, message: String) -> Self {
        Self {
            status,
            code,
            message,
            encoding: None,
        }
    }

    fn in_encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Stable snake_case code for the JSON error body, such as
    /// `invalid_protobuf` or `payload_too_large`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Returns the request's encoding when its `Content-Type` was recognized.
    pub fn encoding(&self) -> Option<Encoding> {
        self.encoding
    }
}

/// Decodes an OTLP/HTTP trace export body.
///
/// `content_encoding` is the `Content-Encoding` header: absent, `identity`,
/// `gzip` (`x-gzip`) or `deflate`. `max_decoded_bytes` bounds both the body as
/// received and the body after decompression, so a small gzip bomb fails with
/// 413 after at most `max_decoded_bytes + 1` bytes have been inflated.
/// Errors: 415 for an unknown content type or encoding, 413 over the limit,
/// 400 for a corrupt compressed stream, invalid protobuf or invalid OTLP/JSON.
pub fn decode_request(
    body: &[u8],
    content_type: &str,
    content_encoding: Option<&str>,
    max_decoded_bytes: usize,
) -> Result<(ExportTraceServiceRequest, Encoding), OtlpError> {
    let encoding = Encoding::from_content_type(content_type).ok_or_else(|| {
        OtlpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {content_type:?} is not supported; send OTLP traces as \
                 {PROTOBUF_CONTENT_TYPE} or {JSON_CONTENT_TYPE}"
            ),
        )
    })?;

    let result =
        decompress(body, content_encoding, max_decoded_bytes).and_then(|bytes| match encoding {
            Encoding::Protobuf => decode_protobuf(&bytes),
            Encoding::Json => decode_json(&bytes),
        });
    match result {
        Ok(request) => Ok((request, encoding)),
        Err(error) => Err(error.in_encoding(encoding)),
    }
}

fn decompress<'a>(
    body: &'a [u8],
    content_encoding: Option<&str>,
    max_decoded_bytes: usize,
) -> Result<Cow<'a, [u8]>, OtlpError> {
    if body.len() > max_decoded_bytes {
        return Err(too_large(format!(
            "request body is {} bytes, over the limit of {max_decoded_bytes} bytes; \
             export fewer spans per request",
            body.len()
        )));
    }

    let coding = content_encoding.unwrap_or("").trim().to_ascii_lowercase();
    match coding.as_str() {
        "" | "identity" => Ok(Cow::Borrowed(body)),
        "gzip" | "x-gzip" => inflate(MultiGzDecoder::new(body), "gzip", max_decoded_bytes),
        "deflate" => inflate(ZlibDecoder::new(body), "deflate", max_decoded_bytes),
        _ => Err(OtlpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_encoding",
            format!(
                "Content-Encoding {coding:?} is not supported; send the body uncompressed \
                 or with gzip or deflate"
            ),
        )),
    }
}

/// Reads at most `max_decoded_bytes + 1` bytes, so the extra byte
/// distinguishes an over-limit body from one exactly at the limit.
fn inflate<'a>(
    decoder: impl Read,
    coding: &str,
    max_decoded_bytes: usize,
) -> Result<Cow<'a, [u8]>, OtlpError> {
    let limit = u64::try_from(max_decoded_bytes).unwrap_or(u64::MAX - 1) + 1;
    let mut decoded = Vec::new();
    decoder
        .take(limit)
        .read_to_end(&mut decoded)
        .map_err(|error| {
            OtlpError::new(
                StatusCode::BAD_REQUEST,
                "invalid_compressed_body",
                format!(
                    "the {coding} body could not be decompressed ({error}); \
                     send a complete {coding} stream or drop the Content-Encoding header"
                ),
            )
        })?;

    if decoded.len() > max_decoded_bytes {
        return Err(too_large(format!(
            "the {coding} body decompresses to more than {max_decoded_bytes} bytes; \
             export fewer spans per request"
        )));
    }
    Ok(Cow::Owned(decoded))
}

fn too_large(message: String) -> OtlpError {
    OtlpError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
}

fn decode_protobuf(bytes: &[u8]) -> Result<ExportTraceServiceRequest, OtlpError> {
    ExportTraceServiceRequest::decode(bytes).map_err(|error| {
        OtlpError::new(
            StatusCode::BAD_REQUEST,
            "invalid_protobuf",
            format!(
                "the body is not a valid protobuf ExportTraceServiceRequest ({error}); \
                 send the complete serialized request, or use Content-Type \
                 {JSON_CONTENT_TYPE} for OTLP/JSON"
            ),
        )
    })
}

/// Parses OTLP/JSON. Before the typed pass, span kinds and status codes
/// given by enum name (`"SPAN_KIND_CLIENT"`, `"STATUS_CODE_OK"`) become their
/// integers, and an `arrayValue` or `kvlistValue` without `values` gets an
/// empty list, because the generated serde code accepts only those forms.
fn decode_json(bytes: &[u8]) -> Result<ExportTraceServiceRequest, OtlpError> {
    let mut value: Value = serde_json::from_slice(bytes).map_err(|error| {
        invalid_json(format!(
            "the body is not valid JSON ({error}); send OTLP/JSON encoded as UTF-8"
        ))
    })?;
    normalize_enum_names(&mut value);
    fill_missing_value_lists(&mut value);

    serde_path_to_error::deserialize(value).map_err(|error| {
        invalid_json(format!(
            "invalid OTLP/JSON at {}: {}; ids are hex strings (32 digits for traceId, \
             16 for spanId), 64-bit integers may be decimal strings, enums are integers",
            error.path(),
            error.inner()
        ))
    })
}

fn invalid_json(message: String) -> OtlpError {
    OtlpError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
}

fn normalize_enum_names(request: &mut Value) {
    let spans = request
        .get_mut("resourceSpans")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(|resource_spans| resource_spans.get_mut("scopeSpans")?.as_array_mut())
        .flatten()
        .filter_map(|scope_spans| scope_spans.get_mut("spans")?.as_array_mut())
        .flatten();

    for span in spans {
        if let Some(kind) = span.get_mut("kind") {
            replace_enum_name(kind, |name| SpanKind::from_str_name(name).map(|k| k as i32));
        }
        if let Some(code) = span
            .get_mut("status")
            .and_then(|status| status.get_mut("code"))
        {
            replace_enum_name(code, |name| {
                SpanStatusCode::from_str_name(name).map(|c| c as i32)
            });
        }
    }
}

/// Leaves unknown names in place, so the typed pass reports them by path.
fn replace_enum_name(value: &mut Value, lookup: impl Fn(&str) -> Option<i32>) {
    if let Some(number) = value.as_str().and_then(lookup) {
        *value = Value::from(number);
    }
}

/// Recursion is bounded by serde_json's nesting limit of 128 levels.
fn fill_missing_value_lists(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for key in ["arrayValue", "kvlistValue"] {
                if let Some(Value::Object(list)) = object.get_mut(key) {
                    list.entry("values")
                        .or_insert_with(|| Value::Array(Vec::new()));
                }
            }
            object.values_mut().for_each(fill_missing_value_lists);
        }
        Value::Array(items) => items.iter_mut().for_each(fill_missing_value_lists),
        _ => {}
    }
}

/// Encodes the `ExportTraceServiceResponse` for a request in `encoding`.
///
/// `partial_success` is set when `rejected_spans` is positive or `message` is
/// not empty, as the OTLP specification describes. Otherwise the body is the
/// empty message: zero bytes in protobuf, `{}` in JSON. Returns the content
/// type and the body.
pub fn encode_response(
    encoding: Encoding,
    rejected_spans: i64,
    message: &str,
) -> (&'static str, Vec<u8>) {
    let partial_success =
        (rejected_spans > 0 || !message.is_empty()).then(|| ExportTracePartialSuccess {
            rejected_spans,
            error_message: message.to_owned(),
        });
    let response = ExportTraceServiceResponse { partial_success };

    let body = match (encoding, &response.partial_success) {
        (Encoding::Protobuf, _) => response.encode_to_vec(),
        (Encoding::Json, None) => b"{}".to_vec(),
        // Written by hand because OTLP/JSON encodes 64-bit integers as
        // decimal strings, and the generated serde code writes a number.
        (Encoding::Json, Some(partial)) => serde_json::json!({
            "partialSuccess": {
                "rejectedSpans": partial.rejected_spans.to_string(),
                "errorMessage": partial.error_message,
            }
        })
        .to_string()
        .into_bytes(),
    };
    (encoding.content_type(), body)
}

/// `google.rpc.Status`, the body OTLP/HTTP prescribes for errors.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// gRPC code `INVALID_ARGUMENT`, the closest match for every decode error.
const GRPC_INVALID_ARGUMENT: i32 = 3;

/// Encodes the error body for a failed request: a protobuf `google.rpc.Status`
/// when the request was protobuf, as OTLP/HTTP prescribes, and otherwise the
/// server's JSON error `{"error": reason phrase, "message", "code"}`. Returns
/// the content type and the body.
pub fn encode_error(error: &OtlpError) -> (&'static str, Vec<u8>) {
    if error.encoding == Some(Encoding::Protobuf) {
        let status = RpcStatus {
            code: GRPC_INVALID_ARGUMENT,
            message: error.message.clone(),
        };
        return (PROTOBUF_CONTENT_TYPE, status.encode_to_vec());
    }

    let body = serde_json::json!({
        "error": error.status.canonical_reason().unwrap_or("Invalid request"),
        "message": error.message,
        "code": error.code,
    });
    (JSON_CONTENT_TYPE, body.to_string().into_bytes())
}
