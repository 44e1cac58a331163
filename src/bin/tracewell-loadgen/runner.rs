//! Runs the workers: each keeps one request in flight, either back to back
//! (maximum throughput) or at the times of a fixed schedule (`--rate`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use hyper::body::Body as _;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cli::RunLimits;
use crate::http::{self, HttpClient, SendError};
use crate::workload::Workload;

/// Highest latency the histogram holds, in microseconds (one hour); longer
/// requests are recorded as this value.
const MAX_LATENCY_MICROS: u64 = 3_600_000_000;

/// Counts over the measured requests, those that started after the warm-up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub requests: u64,
    pub ok: u64,
    /// Non-2xx responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    pub timeouts: u64,
    pub transport_errors: u64,
    /// 2xx responses whose body could not be read as the workload expects.
    pub invalid_responses: u64,
    pub items_sent: u64,
    pub items_stored: u64,
    pub items_rejected: u64,
    pub request_bytes: u64,
}

impl Counts {
    pub fn non_2xx(&self) -> u64 {
        self.statuses.values().sum()
    }

    fn add(&mut self, other: &Counts) {
        self.requests += other.requests;
        self.ok += other.ok;
        for (status, count) in &other.statuses {
            *self.statuses.entry(*status).or_default() += count;
        }
        self.timeouts += other.timeouts;
        self.transport_errors += other.transport_errors;
        self.invalid_responses += other.invalid_responses;
        self.items_sent += other.items_sent;
        self.items_stored += other.items_stored;
        self.items_rejected += other.items_rejected;
        self.request_bytes += other.request_bytes;
    }
}

/// Figures measured by one run.
#[derive(Debug)]
pub struct RunStats {
    pub counts: Counts,
    /// Latency of every measured request that got an HTTP response, whatever its
    /// status, in microseconds; timeouts and connection errors are only counted.
    /// With a `--rate` it counts from the scheduled start, otherwise from the send.
    pub latency_micros: Histogram<u64>,
    /// From the end of the warm-up to the last measured response.
    pub measured: Duration,
    /// Events stored per second of the run after the warm-up, by the second in
    /// which their 2xx response arrived.
    pub stored_by_second: Vec<u64>,
    /// Requests that started during the warm-up and are left out of `counts`.
    pub warmup_requests: u64,
    /// First error without an HTTP response or with a non-2xx response, for the report.
    pub first_error: Option<String>,
}

/// State shared by the workers of one run.
struct Schedule {
    next_sequence: AtomicU64,
    start: Instant,
    measure_from: Instant,
    deadline: Instant,
    limits: RunLimits,
}

impl Schedule {
    /// Takes the next request number and the instant it should start at, or
    /// `None` once the count or the time is used up. In closed-loop runs the
    /// instant is now.
    fn next(&self) -> Option<(u64, Instant)> {
        let sequence = self.next_sequence.fetch_add(1, Ordering::Relaxed);
        if self.limits.max_requests.is_some_and(|max| sequence >= max) {
            return None;
        }
        let start = match self.limits.rate {
            Some(rate) => self.start + Duration::from_secs_f64(sequence as f64 / rate),
            None => Instant::now(),
        };
        (start < self.deadline).then_some((sequence, start))
    }
}

struct WorkerResult {
    counts: Counts,
    latency_micros: Histogram<u64>,
    last_response: Option<Instant>,
    stored_by_second: Vec<u64>,
    warmup_requests: u64,
    first_error: Option<String>,
}

/// Runs `concurrency` workers until the limits are used up, then waits for the
/// requests in flight (each bounded by the request timeout).
pub async fn run(
    workload: Arc<dyn Workload>,
    client: HttpClient,
    concurrency: u32,
    limits: RunLimits,
) -> RunStats {
    let start = Instant::now();
    let schedule = Arc::new(Schedule {
        next_sequence: AtomicU64::new(0),
        start,
        measure_from: start + limits.warmup,
        deadline: start + limits.max_duration,
        limits,
    });

    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (schedule, workload, client) = (schedule.clone(), workload.clone(), client.clone());
        let rng = SmallRng::from_rng(&mut rand::rng());
        workers.spawn(run_worker(schedule, workload, client, rng));
    }

    let mut results = Vec::with_capacity(concurrency as usize);
    while let Some(joined) = workers.join_next().await {
        results.push(joined.expect("a worker panicked"));
    }
    merge(results, schedule.measure_from)
}

async fn run_worker(
    schedule: Arc<Schedule>,
    workload: Arc<dyn Workload>,
    client: HttpClient,
    mut rng: SmallRng,
) -> WorkerResult {
    let mut result = WorkerResult {
        counts: Counts::default(),
        latency_micros: new_histogram(),
        last_response: None,
        stored_by_second: Vec::new(),
        warmup_requests: 0,
        first_error: None,
    };
    while let Some((sequence, scheduled)) = schedule.next() {
        let request = workload.build_request(sequence, &mut rng);
        let request_bytes = request.body().size_hint().exact().unwrap_or(0);
        let latency_start = if schedule.limits.rate.is_some() {
            tokio::time::sleep_until(scheduled).await;
            scheduled
        } else {
            Instant::now()
        };
        let response = http::send(&client, request, schedule.limits.request_timeout).await;
        let done = Instant::now();
        if latency_start < schedule.measure_from {
            result.warmup_requests += 1;
            if let Ok((status, body)) = &response
                && status.is_success()
                && let Ok(accepted) = workload.read_accepted(body)
            {
                workload.record_acknowledged(sequence, accepted);
            }
            continue;
        }

        result.counts.requests += 1;
        result.counts.items_sent += workload.items_per_request();
        result.counts.request_bytes += request_bytes;
        if response.is_ok() {
            let micros = done.duration_since(latency_start).as_micros();
            result
                .latency_micros
                .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
            result.last_response = Some(done);
        }
        let stored = record_response(&mut result, workload.as_ref(), sequence, response);
        let second = done.duration_since(schedule.measure_from).as_secs() as usize;
        add_at(&mut result.stored_by_second, second, stored);
    }
    result
}

/// Adds `count` to `series[index]`, growing `series` with zeros as needed.
fn add_at(series: &mut Vec<u64>, index: usize, count: u64) {
    if series.len() <= index {
        series.resize(index + 1, 0);
    }
    series[index] += count;
}

/// Counts the `response` to request `sequence` and returns the number of
/// items it reports as stored.
fn record_response(
    result: &mut WorkerResult,
    workload: &dyn Workload,
    sequence: u64,
    response: Result<(hyper::StatusCode, bytes::Bytes), SendError>,
) -> u64 {
    let counts = &mut result.counts;
    let error = match response {
        Ok((status, body)) if status.is_success() => match workload.read_accepted(&body) {
            Ok(accepted) => {
                workload.record_acknowledged(sequence, accepted);
                counts.ok += 1;
                counts.items_stored += accepted.stored;
                counts.items_rejected += accepted.rejected;
                return accepted.stored;
            }
            Err(error) => {
                counts.invalid_responses += 1;
                format!("{status}: {error:#}")
            }
        },
        Ok((status, body)) => {
            *counts.statuses.entry(status.as_u16()).or_default() += 1;
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            format!("{status}: {text}")
        }
        Err(error) => {
            match error {
                SendError::Timeout(_) => counts.timeouts += 1,
                SendError::Transport(_) | SendError::Body(_) => counts.transport_errors += 1,
            }
            format!("{error}")
        }
    };
    result.first_error.get_or_insert(error);
    0
}

fn merge(results: Vec<WorkerResult>, measure_from: Instant) -> RunStats {
    let mut counts = Counts::default();
    let mut latency_micros = new_histogram();
    let mut last_response = measure_from;
    let mut stored_by_second = Vec::new();
    let mut warmup_requests = 0;
    let mut first_error = None;
    for result in results {
        counts.add(&result.counts);
        latency_micros
            .add(&result.latency_micros)
            .expect("histograms with the same bounds add up");
        last_response = last_response.max(result.last_response.unwrap_or(measure_from));
        for (second, stored) in result.stored_by_second.into_iter().enumerate() {
            add_at(&mut stored_by_second, second, stored);
        }
        warmup_requests += result.warmup_requests;
        first_error = first_error.or(result.first_error);
    }
    RunStats {
        counts,
        latency_micros,
        measured: last_response.duration_since(measure_from),
        stored_by_second,
        warmup_requests,
        first_error,
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3).expect("valid histogram bounds")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(rate: Option<f64>, max_requests: Option<u64>) -> Schedule {
        let start = Instant::now();
        Schedule {
            next_sequence: AtomicU64::new(0),
            start,
            measure_from: start,
            deadline: start + Duration::from_secs(2),
            limits: RunLimits {
                max_requests,
                max_duration: Duration::from_secs(2),
                warmup: Duration::ZERO,
                request_timeout: Duration::from_secs(1),
                rate,
            },
        }
    }

    #[test]
    fn schedule_spaces_requests_by_rate() {
        let schedule = schedule(Some(4.0), None);
        let starts: Vec<Duration> = std::iter::from_fn(|| schedule.next())
            .map(|(_, at)| at.duration_since(schedule.start))
            .collect();

        assert_eq!(starts.len(), 8, "4 requests per second for 2 s");
        assert_eq!(starts[0], Duration::ZERO);
        assert_eq!(starts[1], Duration::from_millis(250));
        assert_eq!(starts[7], Duration::from_millis(1_750));
    }

    #[test]
    fn schedule_stops_at_request_count() {
        let schedule = schedule(None, Some(3));
        let sequences: Vec<u64> = std::iter::from_fn(|| schedule.next())
            .map(|(n, _)| n)
            .collect();
        assert_eq!(sequences, [0, 1, 2]);
        assert!(schedule.next().is_none());
    }

    #[test]
    fn add_at_grows_series() {
        let mut series = vec![5];
        add_at(&mut series, 3, 2);
        add_at(&mut series, 0, 1);
        assert_eq!(series, [6, 0, 0, 2]);
    }

    #[test]
    fn counts_add_statuses_by_code() {
        let mut total = Counts::default();
        let mut part = Counts {
            requests: 2,
            ok: 1,
            ..Counts::default()
        };
        part.statuses.insert(503, 1);
        total.add(&part);
        total.add(&part);

        assert_eq!(total.requests, 4);
        assert_eq!(total.ok, 2);
        assert_eq!(total.statuses[&503], 2);
        assert_eq!(total.non_2xx(), 2);
    }
}
