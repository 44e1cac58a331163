//! The OTLP workload: `ExportTraceServiceRequest` protobuf batches of
//! agent-shaped traces sent to `/v1/traces`, the way OpenTelemetry exporters
//! and the AgentOps SDK 0.4 send them.
//!
//! Each trace has ten spans: one agent root span and, under it, five LLM calls
//! and four tool calls in turn. Span attributes follow the AgentOps SDK 0.4
//! (`agentops.span.kind`, `agentops.tool.input`) and the GenAI semantic
//! conventions in the older names that SDK sends (`gen_ai.usage.prompt_tokens`,
//! indexed `gen_ai.prompt.N.*` messages).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Uri};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as OtlpValue;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use crate::cli::{Args, OtlpAuth, ReadBackApi};
use crate::events::{TOOLS, text};
use crate::http::{self, HttpClient};
use crate::readback::{self, ReadBack, ReadBackPlan, SampledTrace};
use crate::workload::{Accepted, Workload};

/// Spans in every trace: the agent root span and nine children.
pub const SPANS_PER_TRACE: usize = 10;

/// Trace templates built once per run, from which requests pick at random.
const TEMPLATE_COUNT: usize = 64;

/// Seed of the trace templates, fixed so that runs send the same text.
const TEMPLATE_SEED: u64 = 0x07e1_7ace;

/// Acknowledged requests at the end of the run whose traces are always read
/// back, because a server that stores spans after its response stores these
/// last.
const RECENT_REQUESTS: usize = 10;

/// Time the token request may take during setup.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Provider (`gen_ai.system`), request model and response model of the LLM spans.
const MODELS: &[(&str, &str, &str)] = &[
    ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ("openai", "gpt-4o", "gpt-4o-2024-08-06"),
    (
        "anthropic",
        "claude-3-5-sonnet-20241022",
        "claude-3-5-sonnet-20241022",
    ),
    (
        "anthropic",
        "claude-3-5-haiku-20241022",
        "claude-3-5-haiku-20241022",
    ),
];

const AGENTS: &[&str] = &["researcher", "planner", "support", "analyst"];

/// One span of a trace template: everything but its ids and absolute times.
#[derive(Debug, Clone)]
struct SpanTemplate {
    span: Span,
    /// Nanoseconds from the start of the trace to the start of the span.
    start_offset: u64,
    duration: u64,
}

/// A trace without ids or times, whose first span is the root.
#[derive(Debug, Clone)]
struct TraceTemplate {
    spans: Vec<SpanTemplate>,
    /// Nanoseconds from the start of the root span to its end.
    duration: u64,
}

/// Acknowledged requests and a sample of their traces for the read-back.
#[derive(Debug)]
struct Acknowledged {
    rng: SmallRng,
    requests: u64,
    spans: u64,
    /// Requests that stored all their spans, the population of the sample.
    complete_requests: u64,
    /// A uniform random sample of the traces of the complete requests
    /// (reservoir sampling, one trace per request).
    sample: Vec<SampledTrace>,
    capacity: usize,
    /// Sequence numbers of the requests acknowledged last.
    recent: VecDeque<u64>,
}

#[derive(Debug)]
pub struct OtlpWorkload {
    traces_uri: Uri,
    base_url: String,
    authorization: Option<HeaderValue>,
    traces_per_request: usize,
    templates: Vec<TraceTemplate>,
    resource: Resource,
    scope: InstrumentationScope,
    /// Seed drawn once per run. A request's trace ids come from it and the
    /// request's sequence number, so the read-back can compute them again.
    id_seed: u64,
    acknowledged: Mutex<Acknowledged>,
    read_back_api: ReadBackApi,
    read_back_timeout: Duration,
}

/// The read-back flags.
#[derive(Debug, Clone, Copy)]
struct ReadBackSettings {
    api: ReadBackApi,
    /// Size of the random sample of acknowledged traces.
    traces: usize,
    timeout: Duration,
}

#[derive(Deserialize)]
struct TokenResponse {
    token: String,
}

impl OtlpWorkload {
    /// Builds the trace templates and, with `--api-key`, trades the key for a
    /// project token at `/v3/auth/token`.
    pub async fn prepare(args: &Args, client: &HttpClient, base_url: &str) -> anyhow::Result<Self> {
        let token = match args.otlp_auth()? {
            OtlpAuth::None => None,
            OtlpAuth::Token(token) => Some(token),
            OtlpAuth::ApiKey(api_key) => Some(project_token(client, base_url, &api_key).await?),
        };
        let authorization = token
            .map(|token| HeaderValue::from_str(&format!("Bearer {token}")))
            .transpose()
            .context("invalid project token: it must be printable ASCII, like a JWT")?;

        let read_back = ReadBackSettings {
            api: args.read_back,
            traces: args.read_back_traces as usize,
            timeout: args.read_back_timeout()?,
        };
        Self::new(
            base_url,
            authorization,
            args.traces_per_request as usize,
            args.span_bytes as usize,
            rand::random(),
            read_back,
        )
    }

    fn new(
        base_url: &str,
        authorization: Option<HeaderValue>,
        traces_per_request: usize,
        span_bytes: usize,
        id_seed: u64,
        read_back: ReadBackSettings,
    ) -> anyhow::Result<Self> {
        let mut rng = SmallRng::seed_from_u64(TEMPLATE_SEED);
        let templates = (0..TEMPLATE_COUNT)
            .map(|_| trace_template(&mut rng, span_bytes))
            .collect();
        Ok(Self {
            traces_uri: format!("{base_url}/v1/traces").parse()?,
            base_url: base_url.to_owned(),
            authorization,
            traces_per_request,
            templates,
            resource: Resource {
                attributes: vec![
                    string_attribute("service.name", "tracewell-loadgen"),
                    string_attribute("telemetry.sdk.language", "rust"),
                ],
                ..Resource::default()
            },
            scope: InstrumentationScope {
                name: "agentops".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                ..InstrumentationScope::default()
            },
            id_seed,
            acknowledged: Mutex::new(Acknowledged {
                rng: SmallRng::seed_from_u64(id_seed.rotate_left(32)),
                requests: 0,
                spans: 0,
                complete_requests: 0,
                sample: Vec::new(),
                capacity: read_back.traces,
                recent: VecDeque::new(),
            }),
            read_back_api: read_back.api,
            read_back_timeout: read_back.timeout,
        })
    }

    /// Returns the trace ids of request `sequence`, in the order of its traces.
    fn trace_ids(&self, sequence: u64) -> impl Iterator<Item = [u8; 16]> {
        let mut rng = SmallRng::seed_from_u64(self.id_seed ^ sequence);
        (0..self.traces_per_request).map(move |_| nonzero_id(&mut rng))
    }

    /// Builds the export request of request `sequence`: its traces end now.
    fn export_request(&self, sequence: u64, rng: &mut SmallRng) -> ExportTraceServiceRequest {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos() as u64;
        let mut spans = Vec::with_capacity(self.traces_per_request * SPANS_PER_TRACE);
        for trace_id in self.trace_ids(sequence) {
            let template = self
                .templates
                .choose(rng)
                .expect("the templates are never empty");
            let trace_start = now - template.duration;
            let root_id: [u8; 8] = nonzero_id(rng);
            for (index, part) in template.spans.iter().enumerate() {
                let mut span = part.span.clone();
                span.trace_id = trace_id.to_vec();
                if index == 0 {
                    span.span_id = root_id.to_vec();
                } else {
                    span.span_id = nonzero_id::<8>(rng).to_vec();
                    span.parent_span_id = root_id.to_vec();
                }
                span.start_time_unix_nano = trace_start + part.start_offset;
                span.end_time_unix_nano = span.start_time_unix_nano + part.duration;
                spans.push(span);
            }
        }
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(self.scope.clone()),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    /// Returns the sampled traces: the random sample plus every trace of the
    /// last acknowledged requests, each once.
    fn sampled_traces(&self) -> (u64, Vec<SampledTrace>) {
        let acknowledged = self.acknowledged.lock().expect("no worker panicked");
        let mut traces = acknowledged.sample.clone();
        for &sequence in &acknowledged.recent {
            for trace_id in self.trace_ids(sequence) {
                if !traces.iter().any(|trace| trace.trace_id == trace_id) {
                    traces.push(SampledTrace {
                        trace_id,
                        spans: SPANS_PER_TRACE as u64,
                    });
                }
            }
        }
        (acknowledged.spans, traces)
    }
}

#[async_trait]
impl Workload for OtlpWorkload {
    fn name(&self) -> &'static str {
        "otlp"
    }

    fn items_per_request(&self) -> u64 {
        (self.traces_per_request * SPANS_PER_TRACE) as u64
    }

    fn build_request(&self, sequence: u64, rng: &mut SmallRng) -> Request<Full<Bytes>> {
        let body = self.export_request(sequence, rng).encode_to_vec();
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(self.traces_uri.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            );
        if let Some(authorization) = &self.authorization {
            builder = builder.header("authorization", authorization);
        }
        builder
            .body(Full::new(Bytes::from(body)))
            .expect("the method, URI and headers were validated before")
    }

    /// Reads an `ExportTraceServiceResponse`: the spans of the request less
    /// `partial_success.rejected_spans` were stored. An empty body is the
    /// empty message, so every span was stored.
    fn read_accepted(&self, body: &[u8]) -> anyhow::Result<Accepted> {
        let response = ExportTraceServiceResponse::decode(body)
            .context("the 2xx response is not a protobuf ExportTraceServiceResponse")?;
        let rejected = response
            .partial_success
            .map_or(0, |partial| partial.rejected_spans);
        let rejected = u64::try_from(rejected)
            .with_context(|| format!("the response rejects {rejected} spans, a negative count"))?;
        let sent = self.items_per_request();
        Ok(Accepted {
            stored: sent.saturating_sub(rejected),
            rejected: rejected.min(sent),
        })
    }

    fn record_acknowledged(&self, sequence: u64, accepted: Accepted) {
        let mut acknowledged = self.acknowledged.lock().expect("no worker panicked");
        acknowledged.requests += 1;
        acknowledged.spans += accepted.stored;
        if accepted.rejected > 0 {
            // Which spans were rejected is unknown, so no trace of this
            // request has a known span count to read back.
            return;
        }

        let trace_index = acknowledged.rng.random_range(0..self.traces_per_request);
        let trace = SampledTrace {
            trace_id: self
                .trace_ids(sequence)
                .nth(trace_index)
                .expect("the index is below the trace count"),
            spans: SPANS_PER_TRACE as u64,
        };
        acknowledged.complete_requests += 1;
        let seen = acknowledged.complete_requests;
        if acknowledged.sample.len() < acknowledged.capacity {
            acknowledged.sample.push(trace);
        } else {
            let slot = acknowledged.rng.random_range(0..seen) as usize;
            if slot < acknowledged.capacity {
                acknowledged.sample[slot] = trace;
            }
        }

        acknowledged.recent.push_back(sequence);
        if acknowledged.recent.len() > RECENT_REQUESTS {
            acknowledged.recent.pop_front();
        }
    }

    async fn read_back(
        &self,
        client: &HttpClient,
        run_started: Instant,
        run_ended: Instant,
    ) -> anyhow::Result<Option<ReadBack>> {
        if self.read_back_api == ReadBackApi::Off {
            return Ok(None);
        }
        let (acknowledged_spans, traces) = self.sampled_traces();
        let plan = ReadBackPlan {
            api: self.read_back_api,
            base_url: self.base_url.clone(),
            authorization: self.authorization.clone(),
            timeout: self.read_back_timeout,
            run_started,
            run_ended,
        };
        readback::read_back(client, &plan, acknowledged_spans, traces)
            .await
            .map(Some)
    }
}

/// Trades an API key for a project token at `/v3/auth/token`.
async fn project_token(
    client: &HttpClient,
    base_url: &str,
    api_key: &str,
) -> anyhow::Result<String> {
    let uri: Uri = format!("{base_url}/v3/auth/token").parse()?;
    let body = json!({ "api_key": api_key }).to_string();
    let request = http::json_post(&uri, &[], Bytes::from(body));
    let (status, response) = http::send(client, request, SETUP_TIMEOUT)
        .await
        .with_context(|| format!("the token request to {uri} failed"))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&response[..response.len().min(500)]).into_owned();
        bail!("the token request to {uri} returned {status}: {text}");
    }
    let response: TokenResponse = serde_json::from_slice(&response)
        .with_context(|| format!("the response of {uri} has no `token` string"))?;
    Ok(response.token)
}

/// Returns random id bytes, never all zeros (OTLP reads a zero id as invalid).
fn nonzero_id<const N: usize>(rng: &mut SmallRng) -> [u8; N] {
    let mut id: [u8; N] = rng.random();
    if id == [0; N] {
        id[N - 1] = 1;
    }
    id
}

/// Builds a trace of one agent span and nine children that run one after
/// another: LLM calls at even positions, tool calls at odd ones.
fn trace_template(rng: &mut SmallRng, span_bytes: usize) -> TraceTemplate {
    const MILLI: u64 = 1_000_000;
    let agent = AGENTS.choose(rng).expect("the agent list is never empty");
    let half = span_bytes / 2;

    let mut spans = vec![SpanTemplate {
        span: agent_span(agent, &text(rng, half), &text(rng, span_bytes - half)),
        start_offset: 0,
        duration: 0,
    }];
    let mut offset = MILLI;
    for position in 0..SPANS_PER_TRACE - 1 {
        let (span, duration) = if position % 2 == 0 {
            let duration = rng.random_range(300..3_000) * MILLI;
            (llm_span(rng, span_bytes), duration)
        } else {
            let duration = rng.random_range(5..500) * MILLI;
            (tool_span(rng, span_bytes), duration)
        };
        spans.push(SpanTemplate {
            span,
            start_offset: offset,
            duration,
        });
        offset += duration + MILLI;
    }
    spans[0].duration = offset;
    TraceTemplate {
        spans,
        duration: offset,
    }
}

fn agent_span(agent: &str, input: &str, output: &str) -> Span {
    let input = json!({ "args": [input], "kwargs": {} }).to_string();
    span(
        format!("{agent}.agent"),
        SpanKind::Internal,
        vec![
            string_attribute("agentops.span.kind", "agent"),
            string_attribute("operation.name", agent),
            string_attribute("agentops.entity.input", &input),
            string_attribute("agentops.entity.output", output),
        ],
    )
}

fn llm_span(rng: &mut SmallRng, span_bytes: usize) -> Span {
    let (system, request_model, response_model) =
        *MODELS.choose(rng).expect("the model list is never empty");
    let half = span_bytes / 2;
    let prompt = text(rng, half);
    let completion = text(rng, span_bytes - half);
    let prompt_tokens = prompt.len().div_ceil(4) as i64 + 8;
    let completion_tokens = completion.len().div_ceil(4) as i64 + 1;
    span(
        "openai.chat.completion".to_owned(),
        SpanKind::Client,
        vec![
            string_attribute("gen_ai.system", system),
            string_attribute("gen_ai.request.model", request_model),
            string_attribute("gen_ai.response.model", response_model),
            int_attribute("gen_ai.usage.prompt_tokens", prompt_tokens),
            int_attribute("gen_ai.usage.completion_tokens", completion_tokens),
            int_attribute(
                "gen_ai.usage.total_tokens",
                prompt_tokens + completion_tokens,
            ),
            string_attribute("gen_ai.prompt.0.role", "user"),
            string_attribute("gen_ai.prompt.0.content", &prompt),
            string_attribute("gen_ai.completion.0.role", "assistant"),
            string_attribute("gen_ai.completion.0.content", &completion),
            string_attribute("gen_ai.completion.0.finish_reason", "stop"),
        ],
    )
}

fn tool_span(rng: &mut SmallRng, span_bytes: usize) -> Span {
    let tool = TOOLS.choose(rng).expect("the tool list is never empty");
    let half = span_bytes / 2;
    let input = json!({ "args": [text(rng, half)], "kwargs": {} }).to_string();
    span(
        format!("{tool}.tool"),
        SpanKind::Internal,
        vec![
            string_attribute("agentops.span.kind", "tool"),
            string_attribute("operation.name", tool),
            string_attribute("agentops.tool.input", &input),
            string_attribute("agentops.tool.output", &text(rng, span_bytes - half)),
        ],
    )
}

fn span(name: String, kind: SpanKind, attributes: Vec<KeyValue>) -> Span {
    Span {
        name,
        kind: kind as i32,
        attributes,
        status: Some(Status {
            code: SpanStatusCode::Ok as i32,
            message: String::new(),
        }),
        ..Span::default()
    }
}

fn string_attribute(key: &str, value: &str) -> KeyValue {
    attribute(key, OtlpValue::StringValue(value.to_owned()))
}

fn int_attribute(key: &str, value: i64) -> KeyValue {
    attribute(key, OtlpValue::IntValue(value))
}

fn attribute(key: &str, value: OtlpValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

    use super::*;

    fn workload(traces_per_request: usize, sample: usize) -> OtlpWorkload {
        let read_back = ReadBackSettings {
            api: ReadBackApi::Tracewell,
            traces: sample,
            timeout: Duration::from_secs(1),
        };
        let authorization = Some(HeaderValue::from_static("Bearer token"));
        OtlpWorkload::new(
            "http://127.0.0.1:4318",
            authorization,
            traces_per_request,
            600,
            42,
            read_back,
        )
        .unwrap()
    }

    fn spans_of(request: &ExportTraceServiceRequest) -> Vec<&Span> {
        request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| &scope.spans)
            .collect()
    }

    fn text_of<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
        let value = span.attributes.iter().find(|pair| pair.key == key)?;
        match value.value.as_ref()?.value.as_ref()? {
            OtlpValue::StringValue(text) => Some(text),
            _ => None,
        }
    }

    fn int_of(span: &Span, key: &str) -> Option<i64> {
        let value = span.attributes.iter().find(|pair| pair.key == key)?;
        match value.value.as_ref()?.value.as_ref()? {
            OtlpValue::IntValue(number) => Some(*number),
            _ => None,
        }
    }

    fn build(workload: &OtlpWorkload, sequence: u64) -> ExportTraceServiceRequest {
        let mut rng = SmallRng::seed_from_u64(sequence);
        workload.export_request(sequence, &mut rng)
    }

    #[test]
    fn request_has_traces_of_ten_spans() {
        let workload = workload(3, 10);
        let request = build(&workload, 7);
        let spans = spans_of(&request);
        assert_eq!(spans.len(), 30);

        let trace_ids: Vec<[u8; 16]> = workload.trace_ids(7).collect();
        for (trace, chunk) in spans.chunks(SPANS_PER_TRACE).enumerate() {
            let root = chunk[0];
            assert_eq!(root.trace_id, trace_ids[trace], "trace {trace}");
            assert!(root.parent_span_id.is_empty(), "the root has no parent");
            assert_eq!(text_of(root, "agentops.span.kind"), Some("agent"));
            for child in &chunk[1..] {
                assert_eq!(child.trace_id, root.trace_id);
                assert_eq!(child.parent_span_id, root.span_id);
                assert!(child.start_time_unix_nano >= root.start_time_unix_nano);
                assert!(child.end_time_unix_nano <= root.end_time_unix_nano);
            }
        }
    }

    #[test]
    fn trace_has_five_llm_four_tool() {
        let workload = workload(1, 10);
        let request = build(&workload, 1);
        let spans = spans_of(&request);
        let llm: Vec<&&Span> = spans
            .iter()
            .filter(|span| text_of(span, "gen_ai.system").is_some())
            .collect();
        let tools = spans
            .iter()
            .filter(|span| text_of(span, "agentops.span.kind") == Some("tool"))
            .count();
        assert_eq!(llm.len(), 5);
        assert_eq!(tools, 4);

        for span in llm {
            for key in [
                "gen_ai.request.model",
                "gen_ai.response.model",
                "gen_ai.prompt.0.role",
                "gen_ai.completion.0.role",
            ] {
                assert!(text_of(span, key).is_some(), "{key} of {}", span.name);
            }
            let prompt = text_of(span, "gen_ai.prompt.0.content").unwrap();
            let completion = text_of(span, "gen_ai.completion.0.content").unwrap();
            assert_eq!(prompt.len() + completion.len(), 600);
            let prompt_tokens = int_of(span, "gen_ai.usage.prompt_tokens").unwrap();
            assert_eq!(prompt_tokens, prompt.len().div_ceil(4) as i64 + 8);
            assert!(int_of(span, "gen_ai.usage.completion_tokens").unwrap() > 0);
        }
    }

    #[test]
    fn requests_get_fresh_ids() {
        let workload = workload(5, 10);
        let mut trace_ids = HashSet::new();
        let mut span_ids = HashSet::new();
        for sequence in 0..20 {
            let request = build(&workload, sequence);
            for span in spans_of(&request) {
                assert_ne!(span.span_id, vec![0; 8]);
                assert!(span_ids.insert(span.span_id.clone()), "span ids repeat");
                trace_ids.insert(span.trace_id.clone());
            }
        }
        assert_eq!(trace_ids.len(), 100);
        assert_eq!(span_ids.len(), 1_000);
    }

    #[test]
    fn request_is_protobuf_post_with_token() {
        let workload = workload(2, 10);
        let mut rng = SmallRng::seed_from_u64(3);
        let request = workload.build_request(0, &mut rng);
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri(), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(request.headers()[CONTENT_TYPE], "application/x-protobuf");
        assert_eq!(request.headers()["authorization"], "Bearer token");
        assert_eq!(workload.items_per_request(), 20);
    }

    #[test]
    fn response_counts_rejected_spans() {
        let workload = workload(2, 10);
        let empty = workload.read_accepted(b"").unwrap();
        assert_eq!(
            empty,
            Accepted {
                stored: 20,
                rejected: 0
            }
        );

        let partial = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 3,
                error_message: "3 spans have no start time".to_owned(),
            }),
        };
        let accepted = workload.read_accepted(&partial.encode_to_vec()).unwrap();
        assert_eq!(
            accepted,
            Accepted {
                stored: 17,
                rejected: 3
            }
        );

        assert!(workload.read_accepted(b"{\"partialSuccess\":{}}").is_err());
    }

    #[test]
    fn sample_stays_within_capacity() {
        let workload = workload(4, 5);
        let all_stored = Accepted {
            stored: 40,
            rejected: 0,
        };
        for sequence in 0..100 {
            workload.record_acknowledged(sequence, all_stored);
        }
        let (spans, traces) = workload.sampled_traces();
        assert_eq!(spans, 4_000);

        let recent: HashSet<[u8; 16]> = (90..100).flat_map(|n| workload.trace_ids(n)).collect();
        assert_eq!(recent.len(), 40);
        for trace_id in &recent {
            assert!(traces.iter().any(|trace| trace.trace_id == *trace_id));
        }
        let all: HashSet<[u8; 16]> = (0..100).flat_map(|n| workload.trace_ids(n)).collect();
        for trace in &traces {
            assert!(all.contains(&trace.trace_id), "only acknowledged traces");
            assert_eq!(trace.spans, 10);
        }
        assert!(
            traces.len() <= 45,
            "5 sampled plus 40 recent: {}",
            traces.len()
        );
        assert!(traces.len() >= 40, "{}", traces.len());
    }

    #[test]
    fn partial_requests_not_sampled() {
        let workload = workload(1, 5);
        let partial = Accepted {
            stored: 8,
            rejected: 2,
        };
        workload.record_acknowledged(0, partial);
        let (spans, traces) = workload.sampled_traces();
        assert_eq!(spans, 8);
        assert!(traces.is_empty(), "{traces:?}");
    }
}
