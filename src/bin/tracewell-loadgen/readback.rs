//! The read-back after an `otlp` run: reads a sample of the acknowledged
//! traces from the server's read API until each has all its spans, and times
//! when the last one did.
//!
//! A server that responds before it stores (Arize Phoenix queues the spans and
//! writes them later) has stored a span only once it is readable, so the
//! stored-and-readable rate divides the acknowledged spans that are readable
//! by the time from the first request until they were all readable, or until
//! the read-back gave up waiting.
//!
//! Tracewell answers after the commit, so its readable spans are the
//! acknowledged spans times the readable share of the sample. Phoenix also
//! reports the span count of its project (GraphQL `recordCount`), which the
//! read-back polls once a second while the queue drains, reading the sampled
//! traces only once the count has reached the acknowledged spans or time is up,
//! so that reads of whole spans do not slow the writes they wait for.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use hyper::Uri;
use hyper::header::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cli::ReadBackApi;
use crate::http::{self, HttpClient};

/// Pause between two rounds of reads.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Time one read request may take.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Tracewell trace reads in flight at once.
const TRACEWELL_READS_IN_FLIGHT: usize = 8;

/// Trace ids per Phoenix span query. With ten spans per trace a query
/// returns at most 500 spans, under the page limit of 1,000.
const PHOENIX_TRACES_PER_QUERY: usize = 50;

/// Phoenix project that spans without `openinference.project.name` go to.
const PHOENIX_PROJECT: &str = "default";

/// One acknowledged trace to read back and the span count it must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampledTrace {
    pub trace_id: [u8; 16],
    pub spans: u64,
}

/// Target, time limit and run timing of a read-back.
#[derive(Debug, Clone)]
pub struct ReadBackPlan {
    pub api: ReadBackApi,
    pub base_url: String,
    pub authorization: Option<HeaderValue>,
    /// Time after `run_ended` that the read-back waits for unreadable traces.
    pub timeout: Duration,
    /// Instant of the first request of the run, warm-up included.
    pub run_started: Instant,
    /// Instant of the last response of the run.
    pub run_ended: Instant,
}

/// Result of the read-back.
#[derive(Debug, Clone, Serialize)]
pub struct ReadBack {
    pub api: &'static str,
    /// Spans that 2xx responses acknowledged over the whole run, warm-up included.
    pub acknowledged_spans: u64,
    /// Acknowledged spans that were readable at the end: the project's span
    /// count where the API reports one (at most the acknowledged spans), else
    /// the acknowledged spans times the readable share of the sampled spans.
    pub readable_spans: u64,
    /// Span count the server reported last, or `null` for an API without one.
    pub counted_spans: Option<u64>,
    pub sampled_traces: u64,
    /// Sampled traces that had all their spans by the end of the read-back.
    pub readable_traces: u64,
    pub sampled_spans: u64,
    /// Spans of the sampled traces that were readable, at most the expected
    /// count per trace.
    pub readable_sampled_spans: u64,
    /// Whether every sampled trace, and the span count where there is one,
    /// reached its expected value before the timeout.
    pub all_readable: bool,
    /// Seconds from the first request of the run until everything was
    /// readable, or until the read-back gave up.
    pub seconds_until_readable: f64,
    /// The same end point, counted from the last response of the run.
    pub seconds_after_run: f64,
    /// `readable_spans` divided by `seconds_until_readable`.
    pub readable_spans_per_second: f64,
    /// Read requests sent, retries included.
    pub read_requests: u64,
    /// First read that failed other than by not finding the trace yet.
    pub first_error: Option<String>,
}

/// Spans seen so far of each sampled trace and when it was first seen whole.
struct Progress {
    traces: Vec<SampledTrace>,
    seen_spans: Vec<u64>,
    readable_at: Vec<Option<Instant>>,
    /// Last span count of the project, where the API reports one.
    counted_spans: Option<u64>,
    /// When the span count first reached the acknowledged spans.
    counted_all_at: Option<Instant>,
    read_requests: u64,
    first_error: Option<String>,
}

impl Progress {
    fn pending(&self) -> Vec<usize> {
        (0..self.traces.len())
            .filter(|&index| self.readable_at[index].is_none())
            .collect()
    }

    fn observe(&mut self, index: usize, spans: u64, at: Instant) {
        let expected = self.traces[index].spans;
        self.seen_spans[index] = self.seen_spans[index].max(spans.min(expected));
        if spans >= expected && self.readable_at[index].is_none() {
            self.readable_at[index] = Some(at);
        }
    }

    fn fail(&mut self, error: String) {
        self.first_error.get_or_insert(error);
    }

    fn count(&mut self, spans: u64, acknowledged_spans: u64, at: Instant) {
        self.counted_spans = Some(spans);
        if spans >= acknowledged_spans && self.counted_all_at.is_none() {
            self.counted_all_at = Some(at);
        }
    }

    /// Returns whether the span count, where there is one, has reached
    /// `acknowledged_spans`.
    fn count_complete(&self, acknowledged_spans: u64) -> bool {
        self.counted_spans
            .is_none_or(|spans| spans >= acknowledged_spans)
    }
}

/// Reads `traces` back until all are whole or `plan.timeout` has passed since
/// the end of the run, then computes the stored-and-readable rate from
/// `acknowledged_spans`.
pub async fn read_back(
    client: &HttpClient,
    plan: &ReadBackPlan,
    acknowledged_spans: u64,
    traces: Vec<SampledTrace>,
) -> anyhow::Result<ReadBack> {
    let count = traces.len();
    let mut progress = Progress {
        traces,
        seen_spans: vec![0; count],
        readable_at: vec![None; count],
        counted_spans: None,
        counted_all_at: None,
        read_requests: 0,
        first_error: None,
    };
    let deadline = plan.run_ended + plan.timeout;
    loop {
        let last_round = Instant::now() + POLL_INTERVAL >= deadline;
        if plan.api == ReadBackApi::Phoenix {
            count_phoenix(client, plan, acknowledged_spans, &mut progress).await;
        }
        let pending = progress.pending();
        if !pending.is_empty() && (progress.count_complete(acknowledged_spans) || last_round) {
            match plan.api {
                ReadBackApi::Tracewell => {
                    read_tracewell(client, plan, &pending, &mut progress).await?;
                }
                ReadBackApi::Phoenix => read_phoenix(client, plan, &pending, &mut progress).await?,
                ReadBackApi::Off => {}
            }
        }
        let done = progress.pending().is_empty() && progress.count_complete(acknowledged_spans);
        if done || last_round {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    Ok(summarize(plan, acknowledged_spans, progress))
}

fn summarize(plan: &ReadBackPlan, acknowledged_spans: u64, progress: Progress) -> ReadBack {
    let all_readable = progress.readable_at.iter().all(Option::is_some)
        && progress.count_complete(acknowledged_spans);
    let end = if all_readable {
        progress
            .readable_at
            .iter()
            .chain([&progress.counted_all_at])
            .flatten()
            .max()
            .copied()
            .unwrap_or(plan.run_ended)
    } else {
        Instant::now()
    };
    let sampled_spans: u64 = progress.traces.iter().map(|trace| trace.spans).sum();
    let readable_sampled_spans: u64 = progress.seen_spans.iter().sum();
    let readable_spans = match progress.counted_spans {
        Some(counted) => counted.min(acknowledged_spans),
        None if sampled_spans > 0 => (acknowledged_spans as f64 * readable_sampled_spans as f64
            / sampled_spans as f64)
            .round() as u64,
        None => 0,
    };
    let seconds_until_readable = end.duration_since(plan.run_started).as_secs_f64();
    ReadBack {
        api: match plan.api {
            ReadBackApi::Tracewell => "tracewell",
            ReadBackApi::Phoenix => "phoenix",
            ReadBackApi::Off => "off",
        },
        acknowledged_spans,
        readable_spans,
        counted_spans: progress.counted_spans,
        sampled_traces: progress.traces.len() as u64,
        readable_traces: progress.readable_at.iter().flatten().count() as u64,
        sampled_spans,
        readable_sampled_spans,
        all_readable,
        seconds_until_readable,
        seconds_after_run: end.saturating_duration_since(plan.run_ended).as_secs_f64(),
        readable_spans_per_second: if seconds_until_readable > 0.0 {
            readable_spans as f64 / seconds_until_readable
        } else {
            0.0
        },
        read_requests: progress.read_requests,
        first_error: progress.first_error,
    }
}

#[derive(Deserialize)]
struct TracewellTrace {
    span_count: u64,
}

/// Reads each pending trace with `GET /public/v1/traces/{trace_id}`. A 404
/// means that none of its spans is readable yet.
async fn read_tracewell(
    client: &HttpClient,
    plan: &ReadBackPlan,
    pending: &[usize],
    progress: &mut Progress,
) -> anyhow::Result<()> {
    for chunk in pending.chunks(TRACEWELL_READS_IN_FLIGHT) {
        let mut reads = JoinSet::new();
        for &index in chunk {
            let trace_hex = hex::encode(progress.traces[index].trace_id);
            let uri: Uri = format!("{}/public/v1/traces/{trace_hex}", plan.base_url).parse()?;
            let headers: Vec<(&'static str, &HeaderValue)> = plan
                .authorization
                .iter()
                .map(|value| ("authorization", value))
                .collect();
            let request = http::get(&uri, &headers);
            let client = client.clone();
            reads.spawn(async move {
                let response = http::send(&client, request, READ_TIMEOUT).await;
                (index, uri, response, Instant::now())
            });
        }
        while let Some(joined) = reads.join_next().await {
            let (index, uri, response, at) = joined.context("a read task panicked")?;
            progress.read_requests += 1;
            match response {
                Ok((status, body)) if status.is_success() => {
                    match serde_json::from_slice::<TracewellTrace>(&body) {
                        Ok(trace) => progress.observe(index, trace.span_count, at),
                        Err(error) => progress.fail(format!("GET {uri}: {error}")),
                    }
                }
                Ok((status, _)) if status == hyper::StatusCode::NOT_FOUND => {}
                Ok((status, body)) => progress.fail(format!(
                    "GET {uri} returned {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                )),
                Err(error) => progress.fail(format!("GET {uri}: {error}")),
            }
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct GraphqlResponse {
    data: Option<GraphqlData>,
}

#[derive(Deserialize)]
struct GraphqlData {
    projects: Connection<PhoenixProject>,
}

#[derive(Deserialize)]
struct Connection<T> {
    edges: Vec<Edge<T>>,
}

#[derive(Deserialize)]
struct Edge<T> {
    node: T,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoenixProject {
    name: String,
    record_count: u64,
}

/// Reads the span count of Phoenix's default project from its GraphQL API.
/// A project that does not exist yet counts 0 spans.
async fn count_phoenix(
    client: &HttpClient,
    plan: &ReadBackPlan,
    acknowledged_spans: u64,
    progress: &mut Progress,
) {
    const QUERY: &str = "{ projects { edges { node { name recordCount } } } }";
    let uri = format!("{}/graphql", plan.base_url);
    let request = match uri.parse::<Uri>() {
        Ok(uri) => http::json_post(
            &uri,
            &[],
            serde_json::json!({ "query": QUERY }).to_string().into(),
        ),
        Err(error) => return progress.fail(format!("invalid URL {uri}: {error}")),
    };
    progress.read_requests += 1;
    let response = http::send(client, request, READ_TIMEOUT).await;
    let at = Instant::now();
    let counted = match response {
        Ok((status, body)) if status.is_success() => {
            serde_json::from_slice::<GraphqlResponse>(&body)
                .ok()
                .and_then(|response| response.data)
                .map(|data| {
                    data.projects
                        .edges
                        .into_iter()
                        .filter(|edge| edge.node.name == PHOENIX_PROJECT)
                        .map(|edge| edge.node.record_count)
                        .sum::<u64>()
                })
                .ok_or_else(|| {
                    format!(
                        "POST {uri}: no project list in {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    )
                })
        }
        Ok((status, body)) => Err(format!(
            "POST {uri} returned {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )),
        Err(error) => Err(format!("POST {uri}: {error}")),
    };
    match counted {
        Ok(spans) => progress.count(spans, acknowledged_spans, at),
        Err(error) => progress.fail(error),
    }
}

#[derive(Deserialize)]
struct PhoenixSpans {
    data: Vec<PhoenixSpan>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct PhoenixSpan {
    context: PhoenixSpanContext,
}

#[derive(Deserialize)]
struct PhoenixSpanContext {
    trace_id: String,
}

/// Counts the spans of the pending traces with Phoenix's
/// `GET /v1/projects/default/spans?trace_id=...`, up to
/// [`PHOENIX_TRACES_PER_QUERY`] traces per query, following `next_cursor`.
async fn read_phoenix(
    client: &HttpClient,
    plan: &ReadBackPlan,
    pending: &[usize],
    progress: &mut Progress,
) -> anyhow::Result<()> {
    for chunk in pending.chunks(PHOENIX_TRACES_PER_QUERY) {
        let by_hex: HashMap<String, usize> = chunk
            .iter()
            .map(|&index| (hex::encode(progress.traces[index].trace_id), index))
            .collect();
        let mut counts: HashMap<usize, u64> = HashMap::new();
        let mut cursor: Option<String> = None;
        let at = loop {
            let uri = phoenix_spans_uri(&plan.base_url, by_hex.keys(), cursor.as_deref())?;
            progress.read_requests += 1;
            let response = http::send(client, http::get(&uri, &[]), READ_TIMEOUT).await;
            let at = Instant::now();
            let page = match response {
                Ok((status, body)) if status.is_success() => {
                    serde_json::from_slice::<PhoenixSpans>(&body)
                        .map_err(|error| format!("GET {uri}: {error}"))
                }
                Ok((status, body)) => Err(format!(
                    "GET {uri} returned {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                )),
                Err(error) => Err(format!("GET {uri}: {error}")),
            };
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    progress.fail(error);
                    break None;
                }
            };
            for span in &page.data {
                if let Some(&index) = by_hex.get(&span.context.trace_id.to_ascii_lowercase()) {
                    *counts.entry(index).or_default() += 1;
                }
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break Some(at);
            }
        };
        if let Some(at) = at {
            for (index, spans) in counts {
                progress.observe(index, spans, at);
            }
        }
    }
    Ok(())
}

fn phoenix_spans_uri<'a>(
    base_url: &str,
    trace_hexes: impl Iterator<Item = &'a String>,
    cursor: Option<&str>,
) -> anyhow::Result<Uri> {
    let mut uri = format!("{base_url}/v1/projects/{PHOENIX_PROJECT}/spans?limit=1000");
    for trace_hex in trace_hexes {
        uri.push_str("&trace_id=");
        uri.push_str(trace_hex);
    }
    if let Some(cursor) = cursor {
        uri.push_str("&cursor=");
        uri.push_str(
            &percent_encoding::utf8_percent_encode(cursor, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
    }
    Ok(uri.parse()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(run_started: Instant) -> ReadBackPlan {
        ReadBackPlan {
            api: ReadBackApi::Phoenix,
            base_url: "http://127.0.0.1:6006".to_owned(),
            authorization: None,
            timeout: Duration::from_secs(5),
            run_started,
            run_ended: run_started + Duration::from_secs(10),
        }
    }

    fn progress(count: usize) -> Progress {
        Progress {
            traces: (0..count)
                .map(|index| SampledTrace {
                    trace_id: [index as u8 + 1; 16],
                    spans: 10,
                })
                .collect(),
            seen_spans: vec![0; count],
            readable_at: vec![None; count],
            counted_spans: None,
            counted_all_at: None,
            read_requests: 0,
            first_error: None,
        }
    }

    #[test]
    fn rate_counts_until_last_readable() {
        let started = Instant::now();
        let plan = plan(started);
        let mut progress = progress(2);
        progress.observe(0, 10, started + Duration::from_secs(12));
        progress.observe(1, 4, started + Duration::from_secs(13));
        progress.observe(1, 10, started + Duration::from_secs(20));

        let read_back = summarize(&plan, 4_000, progress);
        assert!(read_back.all_readable);
        assert_eq!(read_back.readable_traces, 2);
        assert_eq!(read_back.readable_sampled_spans, 20);
        assert_eq!(read_back.readable_spans, 4_000);
        assert_eq!(read_back.counted_spans, None);
        assert_eq!(read_back.seconds_until_readable, 20.0);
        assert_eq!(read_back.seconds_after_run, 10.0);
        assert_eq!(read_back.readable_spans_per_second, 200.0);
    }

    #[test]
    fn rate_scales_by_readable_share() {
        let started = Instant::now() - Duration::from_secs(20);
        let plan = plan(started);
        let mut progress = progress(2);
        progress.observe(0, 10, started + Duration::from_secs(11));
        progress.observe(1, 5, started + Duration::from_secs(12));

        let read_back = summarize(&plan, 1_000, progress);
        assert!(!read_back.all_readable);
        assert_eq!(read_back.readable_traces, 1);
        assert_eq!(read_back.readable_sampled_spans, 15);
        assert_eq!(read_back.readable_spans, 750);
        assert!(read_back.seconds_until_readable >= 20.0);
        let expected = 750.0 / read_back.seconds_until_readable;
        assert!((read_back.readable_spans_per_second - expected).abs() < 1e-9);
    }

    #[test]
    fn count_ends_when_all_counted() {
        let started = Instant::now();
        let plan = plan(started);
        let mut progress = progress(1);
        progress.count(900, 1_000, started + Duration::from_secs(30));
        progress.observe(0, 10, started + Duration::from_secs(31));
        assert!(!progress.count_complete(1_000));
        progress.count(1_000, 1_000, started + Duration::from_secs(40));
        progress.count(1_000, 1_000, started + Duration::from_secs(41));

        let read_back = summarize(&plan, 1_000, progress);
        assert!(read_back.all_readable);
        assert_eq!(read_back.counted_spans, Some(1_000));
        assert_eq!(read_back.readable_spans, 1_000);
        assert_eq!(read_back.seconds_until_readable, 40.0);
        assert_eq!(read_back.readable_spans_per_second, 25.0);
    }

    #[test]
    fn count_short_of_acknowledged_gives_up() {
        let started = Instant::now() - Duration::from_secs(50);
        let plan = plan(started);
        let mut progress = progress(1);
        progress.observe(0, 10, started + Duration::from_secs(12));
        progress.count(3_000, 4_000, started + Duration::from_secs(49));

        let read_back = summarize(&plan, 4_000, progress);
        assert!(!read_back.all_readable);
        assert_eq!(read_back.readable_spans, 3_000);
        assert!(read_back.seconds_until_readable >= 50.0);
    }

    #[test]
    fn extra_spans_count_once() {
        let started = Instant::now();
        let mut progress = progress(1);
        progress.observe(0, 12, started);
        assert_eq!(progress.seen_spans, [10]);
        assert_eq!(progress.readable_at, [Some(started)]);
    }

    #[test]
    fn phoenix_uri_lists_trace_ids() {
        let traces = ["aa".to_owned(), "bb".to_owned()];
        let uri = phoenix_spans_uri("http://127.0.0.1:6006", traces.iter(), Some("a=b")).unwrap();
        assert_eq!(
            uri.to_string(),
            "http://127.0.0.1:6006/v1/projects/default/spans?limit=1000\
             &trace_id=aa&trace_id=bb&cursor=a%3Db"
        );
    }
}
