//! Decoded OTLP spans to normalized events, grouped by trace, with the
//! partial session each trace's spans describe.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::ExportTraceServiceRequest;
use super::attributes::attributes_to_map;
use super::genai;
use super::session::{SessionSource, SpanFacts, derive_session};
use crate::model::{EventRecord, Micros, SessionRecord, TraceRecord, kind};

/// The spans of one request, mapped.
#[derive(Debug, Clone, Default)]
pub struct MappedBatch {
    /// One entry per trace id, in order of first appearance in the request.
    pub traces: Vec<TraceBatch>,
    /// Spans left out of `traces`, in request order.
    pub rejected: Vec<RejectedSpan>,
}

/// A span that could not be mapped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedSpan {
    /// Position of the span in the request, counting every span of every
    /// resource and scope from 0.
    pub index: usize,
    /// The span id as sent, in lowercase hex: empty when none was sent, and
    /// cut after 32 bytes with a trailing `…` when longer.
    pub span_id: String,
    /// Description of the problem and its fix, naming the OTLP field.
    pub reason: String,
}

/// The valid spans of one trace in one request.
#[derive(Debug, Clone)]
pub struct TraceBatch {
    /// The trace id as 32 lowercase hex digits.
    pub trace_id: String,
    /// The same 128 bits as a lowercase hyphenated UUID, the session's id.
    pub session_id: String,
    /// The session fields this batch carries, with `None` for those it lacks.
    /// Without the root span, `init_us` and `end_us` are provisional: the
    /// batch's earliest start and latest end.
    pub session: SessionRecord,
    /// Source of the session fields.
    pub session_source: SessionSource,
    /// One event per span, in request order. A span sent twice in the same
    /// request appears once, with its last copy.
    pub events: Vec<EventRecord>,
    /// Event id to the client's cost in US dollars, from
    /// `gen_ai.usage.total_cost`, as a plain decimal string. The events
    /// themselves leave `cost` at `None` for the cost module to fill.
    pub client_costs: BTreeMap<String, String>,
}

impl TraceBatch {
    /// Converts the batch into the store's record, with `from_root` set when
    /// the batch contains the root span. `client_costs` is dropped, so take it
    /// first when the cost module needs it.
    pub fn into_record(self) -> TraceRecord {
        TraceRecord {
            from_root: self.session_source == SessionSource::RootSpan,
            session: self.session,
            events: self.events,
        }
    }
}

impl MappedBatch {
    /// Number of spans in `traces`.
    pub fn accepted_spans(&self) -> usize {
        self.traces.iter().map(|trace| trace.events.len()).sum()
    }

    /// Number of rejected spans, as `partial_success.rejected_spans` wants it.
    pub fn rejected_spans(&self) -> i64 {
        i64::try_from(self.rejected.len()).unwrap_or(i64::MAX)
    }

    /// Returns a message for `partial_success.error_message` that names the
    /// first five rejected spans and their reasons, or an empty string when
    /// none was rejected.
    pub fn rejection_message(&self) -> String {
        const LISTED: usize = 5;
        if self.rejected.is_empty() {
            return String::new();
        }
        let listed: Vec<String> = self
            .rejected
            .iter()
            .take(LISTED)
            .map(|span| {
                format!(
                    "span {} (spanId {:?}): {}",
                    span.index, span.span_id, span.reason
                )
            })
            .collect();
        let more = self.rejected.len().saturating_sub(LISTED);
        let tail = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        format!(
            "{} spans rejected: {}{tail}",
            self.rejected.len(),
            listed.join("; ")
        )
    }
}

/// Maps every span of a decoded request to an event of its trace's session.
///
/// A span is rejected and left out when:
/// - its `traceId` is not 16 bytes or is all zeros,
/// - its `spanId` is not 8 bytes or is all zeros,
/// - its `parentSpanId` is neither empty nor 8 bytes,
/// - or its `startTimeUnixNano` is 0.
///
/// An all-zero 8-byte `parentSpanId` means no parent. Every other span maps,
/// whatever its attributes contain.
pub fn map_request(request: &ExportTraceServiceRequest) -> MappedBatch {
    let mut builder = BatchBuilder::default();
    let mut index = 0;
    for resource_spans in &request.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map(|resource| attributes_to_map(&resource.attributes))
            .unwrap_or_default();
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_json(scope_spans.scope.as_ref());
            for span in &scope_spans.spans {
                let context = SpanContext {
                    resource: &resource,
                    scope: &scope,
                };
                builder.add(index, span, &context);
                index += 1;
            }
        }
    }
    builder.finish()
}

#[derive(Default)]
struct BatchBuilder {
    traces: Vec<TraceBuilder>,
    trace_positions: HashMap<[u8; 16], usize>,
    rejected: Vec<RejectedSpan>,
}

struct TraceBuilder {
    trace_id: [u8; 16],
    spans: Vec<MappedSpan>,
    span_positions: HashMap<String, usize>,
}

/// Resource and scope of the spans being mapped, already converted to JSON.
struct SpanContext<'a> {
    resource: &'a Map<String, Value>,
    scope: &'a Value,
}

/// A span turned into an event, with what session derivation needs.
struct MappedSpan {
    event: EventRecord,
    client_cost_usd: Option<String>,
    span_name: String,
    is_root: bool,
    is_session_kind: bool,
    attributes: Map<String, Value>,
}

impl BatchBuilder {
    fn add(&mut self, index: usize, span: &Span, context: &SpanContext<'_>) {
        let ids = match validate_span(span) {
            Ok(ids) => ids,
            Err(reason) => {
                self.rejected.push(RejectedSpan {
                    index,
                    span_id: hex_preview(&span.span_id),
                    reason,
                });
                return;
            }
        };

        let mapped = map_span(span, &ids, context);
        let position = *self.trace_positions.entry(ids.trace_id).or_insert_with(|| {
            self.traces.push(TraceBuilder {
                trace_id: ids.trace_id,
                spans: Vec::new(),
                span_positions: HashMap::new(),
            });
            self.traces.len() - 1
        });
        self.traces[position].add(mapped);
    }

    fn finish(self) -> MappedBatch {
        MappedBatch {
            traces: self.traces.into_iter().map(TraceBuilder::finish).collect(),
            rejected: self.rejected,
        }
    }
}

impl TraceBuilder {
    fn add(&mut self, span: MappedSpan) {
        match self.span_positions.get(&span.event.id) {
            Some(&position) => self.spans[position] = span,
            None => {
                self.span_positions
                    .insert(span.event.id.clone(), self.spans.len());
                self.spans.push(span);
            }
        }
    }

    fn finish(self) -> TraceBatch {
        let trace_id = hex::encode(self.trace_id);
        let session_id = Uuid::from_bytes(self.trace_id).hyphenated().to_string();
        let facts: Vec<SpanFacts<'_>> = self.spans.iter().map(MappedSpan::facts).collect();
        let (session, session_source) = derive_session(&session_id, &trace_id, &facts);

        let mut client_costs = BTreeMap::new();
        let mut events = Vec::with_capacity(self.spans.len());
        for span in self.spans {
            if let Some(cost) = span.client_cost_usd {
                client_costs.insert(span.event.id.clone(), cost);
            }
            events.push(span.event);
        }
        TraceBatch {
            trace_id,
            session_id,
            session,
            session_source,
            events,
            client_costs,
        }
    }
}

impl MappedSpan {
    fn facts(&self) -> SpanFacts<'_> {
        SpanFacts {
            span_id: &self.event.id,
            name: &self.span_name,
            is_root: self.is_root,
            is_session_kind: self.is_session_kind,
            start_us: self.event.init_us,
            end_us: self.event.end_us,
            attributes: &self.attributes,
        }
    }
}

/// The ids of a span that passed validation.
struct SpanIds {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_span_id: Option<[u8; 8]>,
}

fn validate_span(span: &Span) -> Result<SpanIds, String> {
    let trace_id = valid_id::<16>(&span.trace_id, "traceId")?;
    let span_id = valid_id::<8>(&span.span_id, "spanId")?;
    let parent_span_id = match span.parent_span_id.as_slice() {
        [] => None,
        bytes => match <[u8; 8]>::try_from(bytes) {
            Ok(parent) if parent == [0; 8] => None,
            Ok(parent) => Some(parent),
            Err(_) => {
                return Err(format!(
                    "parentSpanId {:?} is {} bytes; send it empty for a root span or as \
                     8 bytes (16 hex digits)",
                    hex_preview(bytes),
                    bytes.len()
                ));
            }
        },
    };
    if span.start_time_unix_nano == 0 {
        return Err(
            "startTimeUnixNano is 0; set it to the span's start time in \
                    nanoseconds since the Unix epoch"
                .to_owned(),
        );
    }
    Ok(SpanIds {
        trace_id,
        span_id,
        parent_span_id,
    })
}

fn valid_id<const N: usize>(bytes: &[u8], field: &str) -> Result<[u8; N], String> {
    let id = <[u8; N]>::try_from(bytes).map_err(|_| {
        format!(
            "{field} {:?} is {} bytes; it must be {N} bytes ({} hex digits)",
            hex_preview(bytes),
            bytes.len(),
            N * 2
        )
    })?;
    if id == [0; N] {
        return Err(format!("{field} is all zeros; send a random non-zero id"));
    }
    Ok(id)
}

/// Encodes at most 32 bytes as hex, so an oversized id cannot blow up a
/// rejection message.
fn hex_preview(bytes: &[u8]) -> String {
    const SHOWN_BYTES: usize = 32;
    if bytes.len() <= SHOWN_BYTES {
        return hex::encode(bytes);
    }
    format!("{}…", hex::encode(&bytes[..SHOWN_BYTES]))
}

fn map_span(span: &Span, ids: &SpanIds, context: &SpanContext<'_>) -> MappedSpan {
    let attributes = attributes_to_map(&span.attributes);
    let agentops_kind = attributes
        .get("agentops.span.kind")
        .and_then(Value::as_str)
        .map(|kind| kind.trim().to_ascii_lowercase())
        .filter(|kind| !kind.is_empty());
    let is_error = span
        .status
        .as_ref()
        .is_some_and(|status| status.code == StatusCode::Error as i32);
    let event_kind = event_kind(agentops_kind.as_deref(), &attributes, is_error);
    let is_llm = event_kind == kind::LLM;

    let mut body = span_body(span, ids, agentops_kind.as_deref(), &attributes, context);
    if is_llm {
        body.prompt = Some(genai::messages(
            &attributes,
            "gen_ai.prompt",
            "gen_ai.input.messages",
        ));
        body.completion = Some(genai::messages(
            &attributes,
            "gen_ai.completion",
            "gen_ai.output.messages",
        ));
    }

    // The export lists events in the REST API's shape, where a tool or an
    // agent step is known by `name`.
    let name = event_name(span, &event_kind, agentops_kind.as_deref(), &attributes);
    body.name = name.as_deref();
    let body = json_text(&body);

    let event = EventRecord {
        id: hex::encode(ids.span_id),
        name,
        init_us: nanos_to_micros(span.start_time_unix_nano),
        end_us: (span.end_time_unix_nano != 0).then(|| nanos_to_micros(span.end_time_unix_nano)),
        agent_id: ["agent.id", "gen_ai.agent.id"]
            .iter()
            .find_map(|key| attributes.get(*key).and_then(Value::as_str))
            .map(str::to_owned),
        parent_id: ids.parent_span_id.map(hex::encode),
        model: is_llm.then(|| genai::model(&attributes)).flatten(),
        usage: if is_llm {
            genai::token_usage(&attributes)
        } else {
            Default::default()
        },
        request_model: is_llm
            .then(|| {
                attributes
                    .get("gen_ai.request.model")
                    .and_then(Value::as_str)
            })
            .flatten()
            .map(str::to_owned),
        is_error,
        body,
        kind: event_kind,
        ..EventRecord::default()
    };
    MappedSpan {
        event,
        client_cost_usd: genai::client_cost_usd(&attributes),
        span_name: span.name.clone(),
        is_root: ids.parent_span_id.is_none(),
        is_session_kind: agentops_kind.as_deref() == Some("session"),
        attributes,
    }
}

/// Decides the event kind, first rule that applies:
/// 1. `agentops.span.kind`, lowercased (`session`, `agent`, `task`,
///    `workflow`, `tool`, `llm`, …);
/// 2. `tool` for `gen_ai.operation.name = execute_tool`;
/// 3. `llm` for spans with `gen_ai.system`, `gen_ai.provider.name` or
///    `gen_ai.request.model`;
/// 4. `error` for a span with status ERROR and none of the above;
/// 5. `action` for any other span.
///
/// A failing span of a known kind keeps that kind and has `is_error` set, so a
/// failing tool call is a `tool` event with `is_error`: listings that group
/// errors should select on `is_error`, not on the kind alone.
fn event_kind(
    agentops_kind: Option<&str>,
    attributes: &Map<String, Value>,
    is_error: bool,
) -> String {
    let kind = match agentops_kind {
        Some(agentops_kind) => agentops_kind,
        None if genai::is_tool_call(attributes) => kind::TOOL,
        None if genai::is_llm(attributes) => kind::LLM,
        None if is_error => kind::ERROR,
        None => kind::ACTION,
    };
    kind.to_owned()
}

/// `operation.name`, else `gen_ai.tool.name` for tools, else the span name
/// without the `.<agentops kind>` suffix the AgentOps SDK appends.
fn event_name(
    span: &Span,
    event_kind: &str,
    agentops_kind: Option<&str>,
    attributes: &Map<String, Value>,
) -> Option<String> {
    let text = |key: &str| attributes.get(key).and_then(Value::as_str);
    let tool_name = || {
        (event_kind == kind::TOOL)
            .then(|| text("gen_ai.tool.name"))
            .flatten()
    };
    let from_span_name = || {
        agentops_kind
            .and_then(|suffix| span.name.strip_suffix(suffix)?.strip_suffix('.'))
            .unwrap_or(&span.name)
    };
    let name = text("operation.name")
        .filter(|name| !name.is_empty())
        .or_else(tool_name)
        .unwrap_or_else(from_span_name);
    (!name.is_empty()).then(|| name.to_owned())
}

/// The stored span: every OTLP field, with ids in hex and times in RFC 3339,
/// then the fields that `map_span` derives. It borrows the attributes,
/// resource and scope, so they are serialized without being copied for each
/// span. Keys serialize in field order, which is the order clients read back.
#[derive(Serialize)]
struct SpanBody<'a> {
    trace_id: String,
    span_id: String,
    parent_span_id: Option<String>,
    span_name: &'a str,
    span_kind: Cow<'a, str>,
    otel_kind: Cow<'static, str>,
    status_code: Cow<'static, str>,
    status_message: &'a str,
    start_time: String,
    end_time: Option<String>,
    flags: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    trace_state: &'a str,
    attributes: &'a Map<String, Value>,
    resource: &'a Map<String, Value>,
    scope: &'a Value,
    events: Vec<Value>,
    links: Vec<Value>,
    #[serde(skip_serializing_if = "is_zero")]
    dropped_attributes_count: u32,
    #[serde(skip_serializing_if = "is_zero")]
    dropped_events_count: u32,
    #[serde(skip_serializing_if = "is_zero")]
    dropped_links_count: u32,
    /// Set for LLM spans only; the inner `None` is stored as `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<Option<Vec<Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion: Option<Option<Vec<Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// Builds the stored span from the OTLP fields; `map_span` adds the rest.
fn span_body<'a>(
    span: &'a Span,
    ids: &SpanIds,
    agentops_kind: Option<&'a str>,
    attributes: &'a Map<String, Value>,
    context: &SpanContext<'a>,
) -> SpanBody<'a> {
    let otel_kind = span_kind_name(span.kind);
    let (status_code, status_message) = match &span.status {
        Some(status) => (status.code, status.message.as_str()),
        None => (0, ""),
    };
    SpanBody {
        trace_id: hex::encode(ids.trace_id),
        span_id: hex::encode(ids.span_id),
        parent_span_id: ids.parent_span_id.map(hex::encode),
        span_name: &span.name,
        span_kind: agentops_kind.map_or_else(|| otel_kind.clone(), Cow::Borrowed),
        otel_kind,
        status_code: status_code_name(status_code),
        status_message,
        start_time: rfc3339(span.start_time_unix_nano),
        end_time: (span.end_time_unix_nano != 0).then(|| rfc3339(span.end_time_unix_nano)),
        flags: span.flags,
        trace_state: &span.trace_state,
        attributes,
        resource: context.resource,
        scope: context.scope,
        events: span.events.iter().map(event_json).collect(),
        links: span.links.iter().map(link_json).collect(),
        dropped_attributes_count: span.dropped_attributes_count,
        dropped_events_count: span.dropped_events_count,
        dropped_links_count: span.dropped_links_count,
        prompt: None,
        completion: None,
        name: None,
    }
}

fn scope_json(scope: Option<&InstrumentationScope>) -> Value {
    let Some(scope) = scope else {
        return json!({"name": "", "version": ""});
    };
    let mut object = Map::new();
    object.insert("name".into(), json!(scope.name));
    object.insert("version".into(), json!(scope.version));
    if !scope.attributes.is_empty() {
        object.insert(
            "attributes".into(),
            Value::Object(attributes_to_map(&scope.attributes)),
        );
    }
    Value::Object(object)
}

fn event_json(event: &Event) -> Value {
    json!({
        "name": event.name,
        "time": rfc3339(event.time_unix_nano),
        "attributes": attributes_to_map(&event.attributes),
    })
}

/// Link ids are kept in hex whatever their length; links are not validated.
fn link_json(link: &Link) -> Value {
    json!({
        "trace_id": hex::encode(&link.trace_id),
        "span_id": hex::encode(&link.span_id),
        "trace_state": link.trace_state,
        "flags": link.flags,
        "attributes": attributes_to_map(&link.attributes),
    })
}

/// `INTERNAL`, `CLIENT`, … as the OpenTelemetry specification names span
/// kinds; an unknown value stays a decimal string.
fn span_kind_name(value: i32) -> Cow<'static, str> {
    match SpanKind::try_from(value) {
        Ok(span_kind) => Cow::Borrowed(span_kind.as_str_name().trim_start_matches("SPAN_KIND_")),
        Err(_) => Cow::Owned(value.to_string()),
    }
}

/// `UNSET`, `OK` or `ERROR`; an unknown value stays a decimal string.
fn status_code_name(value: i32) -> Cow<'static, str> {
    match StatusCode::try_from(value) {
        Ok(code) => Cow::Borrowed(code.as_str_name().trim_start_matches("STATUS_CODE_")),
        Err(_) => Cow::Owned(value.to_string()),
    }
}

/// Serializes JSON to compact text, as `Value::to_string` does, but writes
/// straight into a byte buffer: going through `fmt::Write` took about 40 %
/// more instructions for a span body (measured with callgrind).
pub(super) fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("JSON values with string keys always serialize")
}

/// Truncates: 1.999999999 s is 1.999999 s, never rounded up.
fn nanos_to_micros(nanos: u64) -> Micros {
    // u64::MAX / 1000 is below i64::MAX, so the fallback is never taken.
    Micros::try_from(nanos / 1_000).unwrap_or(Micros::MAX)
}

/// RFC 3339 in UTC with nanoseconds, `1970-01-01T00:00:00.000000000Z` for 0.
fn rfc3339(nanos: u64) -> String {
    const NANOS_PER_SECOND: u64 = 1_000_000_000;
    let seconds = i64::try_from(nanos / NANOS_PER_SECOND).unwrap_or(i64::MAX);
    let subsecond = u32::try_from(nanos % NANOS_PER_SECOND).unwrap_or(0);
    DateTime::from_timestamp(seconds, subsecond)
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Nanos, true))
        .unwrap_or_default()
}
