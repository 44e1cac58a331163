//! The run's figures as JSON (`--json`) or as text.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::cli::{Args, WorkloadKind};
use crate::otlp::SPANS_PER_TRACE;
use crate::readback::ReadBack;
use crate::runner::RunStats;

/// The figures of a run. For the `otlp` workload the fields named after
/// events count spans.
#[derive(Debug, Serialize)]
pub struct Report {
    pub workload: &'static str,
    pub target: String,
    /// Events or spans per request.
    pub batch_size: u32,
    /// Approximate text bytes per event or span.
    pub event_bytes: u32,
    pub concurrency: u32,
    pub sessions: u32,
    pub threads: u32,
    /// Requests per second of the schedule; `null` for a maximum-throughput run.
    pub rate: Option<f64>,
    /// Seconds from the end of the warm-up to the last measured response.
    pub elapsed_seconds: f64,
    pub requests: RequestCounts,
    pub events: EventCounts,
    /// Events stored by the server (counted from 2xx responses) per elapsed second.
    pub durable_events_per_second: f64,
    /// 2xx responses per elapsed second.
    pub ok_requests_per_second: f64,
    /// Durable events in each second after the warm-up; the last second is
    /// usually partial.
    pub durable_events_by_second: Vec<u64>,
    pub mean_request_bytes: f64,
    pub latency_ms: Latency,
    /// User plus system CPU seconds of this generator process, warm-up and
    /// session setup included.
    pub generator_cpu_seconds: f64,
    pub first_error: Option<String>,
    /// Acknowledged spans read back after an `otlp` run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_back: Option<ReadBack>,
}

#[derive(Debug, Serialize)]
pub struct RequestCounts {
    pub sent: u64,
    pub ok_2xx: u64,
    pub non_2xx: u64,
    /// Non-2xx responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    pub timeouts: u64,
    pub transport_errors: u64,
    pub invalid_responses: u64,
    /// Requests sent during the warm-up and left out of every other figure.
    pub warmup: u64,
}

#[derive(Debug, Serialize)]
pub struct EventCounts {
    pub sent: u64,
    pub durable: u64,
    pub rejected: u64,
}

/// Latency percentiles in milliseconds over the requests that got an HTTP response.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Report {
    pub fn new(
        args: &Args,
        workload: &'static str,
        target: String,
        stats: &RunStats,
        cpu_seconds: f64,
    ) -> Self {
        let counts = &stats.counts;
        let elapsed = stats.measured.as_secs_f64();
        let per_second = |count: u64| {
            if elapsed > 0.0 {
                count as f64 / elapsed
            } else {
                0.0
            }
        };
        let latency = &stats.latency_micros;
        let millis = |micros: u64| micros as f64 / 1_000.0;
        let (batch_size, event_bytes) = match args.workload {
            WorkloadKind::Rest => (args.batch_size, args.event_bytes),
            WorkloadKind::Otlp => (
                args.traces_per_request * SPANS_PER_TRACE as u32,
                args.span_bytes,
            ),
        };
        Self {
            workload,
            target,
            batch_size,
            event_bytes,
            concurrency: args.concurrency,
            sessions: args.sessions,
            threads: args.threads,
            rate: args.rate,
            elapsed_seconds: elapsed,
            requests: RequestCounts {
                sent: counts.requests,
                ok_2xx: counts.ok,
                non_2xx: counts.non_2xx(),
                statuses: counts.statuses.clone(),
                timeouts: counts.timeouts,
                transport_errors: counts.transport_errors,
                invalid_responses: counts.invalid_responses,
                warmup: stats.warmup_requests,
            },
            events: EventCounts {
                sent: counts.items_sent,
                durable: counts.items_stored,
                rejected: counts.items_rejected,
            },
            durable_events_per_second: per_second(counts.items_stored),
            ok_requests_per_second: per_second(counts.ok),
            durable_events_by_second: stats.stored_by_second.clone(),
            mean_request_bytes: if counts.requests > 0 {
                counts.request_bytes as f64 / counts.requests as f64
            } else {
                0.0
            },
            latency_ms: Latency {
                p50: millis(latency.value_at_quantile(0.50)),
                p90: millis(latency.value_at_quantile(0.90)),
                p99: millis(latency.value_at_quantile(0.99)),
                p999: millis(latency.value_at_quantile(0.999)),
                max: millis(latency.max()),
                mean: latency.mean() / 1_000.0,
            },
            generator_cpu_seconds: cpu_seconds,
            first_error: stats.first_error.clone(),
            read_back: None,
        }
    }

    /// Returns "spans" for the `otlp` workload and "events" otherwise.
    fn items(&self) -> &'static str {
        if self.workload == "otlp" {
            "spans"
        } else {
            "events"
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.rate {
            Some(rate) => format!("open loop at {rate} requests/s"),
            None => "maximum throughput".to_owned(),
        };
        writeln!(
            f,
            "workload        {} to {} ({mode})",
            self.workload, self.target
        )?;
        let items = self.items();
        let item = items.trim_end_matches('s');
        writeln!(
            f,
            "shape           {} {items}/request, ~{} text bytes/{item}, {} B/request on average",
            self.batch_size, self.event_bytes, self.mean_request_bytes as u64
        )?;
        let sessions = if self.workload == "otlp" {
            String::new()
        } else {
            format!("{} sessions, ", self.sessions)
        };
        writeln!(
            f,
            "concurrency     {} connections, {sessions}{} generator threads",
            self.concurrency, self.threads
        )?;
        writeln!(f, "elapsed         {:.2} s", self.elapsed_seconds)?;

        let requests = &self.requests;
        writeln!(
            f,
            "requests        {} sent, {} 2xx, {} non-2xx {:?}, {} timed out, {} connection errors, {} invalid 2xx bodies",
            requests.sent,
            requests.ok_2xx,
            requests.non_2xx,
            requests.statuses,
            requests.timeouts,
            requests.transport_errors,
            requests.invalid_responses
        )?;

        writeln!(
            f,
            "{items:<16}{} sent, {} durable, {} rejected",
            self.events.sent, self.events.durable, self.events.rejected
        )?;
        writeln!(
            f,
            "{:<16}{:.0}/s",
            format!("durable {items}"),
            self.durable_events_per_second
        )?;
        writeln!(f, "  by second     {:?}", self.durable_events_by_second)?;
        writeln!(f, "2xx requests    {:.1}/s", self.ok_requests_per_second)?;

        let latency = &self.latency_ms;
        writeln!(
            f,
            "latency ms      p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  mean {:.2}",
            latency.p50, latency.p90, latency.p99, latency.p999, latency.max, latency.mean
        )?;

        writeln!(f, "generator CPU   {:.2} s", self.generator_cpu_seconds)?;
        if let Some(error) = &self.first_error {
            writeln!(f, "first error     {error}")?;
        }
        if let Some(read_back) = &self.read_back {
            write_read_back(f, read_back)?;
        }
        Ok(())
    }
}

fn write_read_back(f: &mut fmt::Formatter<'_>, read_back: &ReadBack) -> fmt::Result {
    writeln!(
        f,
        "read back       {} of {} sampled traces whole ({} of {} spans) through the {} API, \
         {} requests",
        read_back.readable_traces,
        read_back.sampled_traces,
        read_back.readable_sampled_spans,
        read_back.sampled_spans,
        read_back.api,
        read_back.read_requests
    )?;
    if let Some(counted) = read_back.counted_spans {
        writeln!(f, "  span count    {counted}")?;
    }
    let state = if read_back.all_readable {
        "all readable"
    } else {
        "gave up"
    };
    writeln!(
        f,
        "  {state:<14}{:.2} s after the first request, {:.2} s after the last response",
        read_back.seconds_until_readable, read_back.seconds_after_run
    )?;
    writeln!(
        f,
        "readable spans  {:.0}/s ({} of {} acknowledged spans, warm-up included)",
        read_back.readable_spans_per_second, read_back.readable_spans, read_back.acknowledged_spans
    )?;
    if let Some(error) = &read_back.first_error {
        writeln!(f, "  first error   {error}")?;
    }
    Ok(())
}

/// Returns the user plus system CPU seconds this process has used so far.
pub fn process_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` points to writable memory of the size of `rusage`. The
    // getrusage(2) call fails only for a bad pointer or `who`, and an all-zero
    // `rusage` is a valid value even if it did.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
