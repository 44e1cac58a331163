//! Command-line flags and the checks on them, the loopback-only target first.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use hyper::Uri;

/// Time bound of a run given only `--requests`, so that every run stops by itself.
const DEFAULT_MAX_SECONDS_WITH_REQUESTS: u64 = 300;

/// Time bound of a run given neither `--duration` nor `--requests`.
const DEFAULT_SECONDS: u64 = 10;

/// Sends AgentOps `create_events` batches or OTLP trace exports to a server on this
/// machine and reports durable events or spans per second and request latency
/// percentiles.
#[derive(Debug, Parser)]
#[command(name = "tracewell-loadgen", version)]
pub struct Args {
    /// Server base URL; only loopback addresses (127.0.0.0/8, [::1]) are accepted.
    #[arg(
        long,
        env = "AGENTOPS_API_ENDPOINT",
        default_value = "http://127.0.0.1:4318"
    )]
    pub target: String,

    /// API key of the project that the sessions are created in. The `otlp`
    /// workload trades it for a project token at `/v3/auth/token`.
    /// Required, except for `otlp` with `--token` or `--no-auth`.
    #[arg(
        long,
        env = "AGENTOPS_API_KEY",
        hide_env_values = true,
        default_value = "",
        hide_default_value = true
    )]
    pub api_key: String,

    /// Request shape: `rest` sends AgentOps `create_events` batches, `otlp` sends
    /// OTLP/HTTP protobuf trace exports to `/v1/traces`.
    #[arg(long, value_enum, default_value_t = WorkloadKind::Rest)]
    pub workload: WorkloadKind,

    /// Project token for `otlp`, sent as `Authorization: Bearer` in place of `--api-key`.
    #[arg(long, conflicts_with = "no_auth")]
    pub token: Option<String>,

    /// Send `otlp` requests without an `Authorization` header, as a server
    /// without authentication (Arize Phoenix by default) expects.
    #[arg(long)]
    pub no_auth: bool,

    /// Traces per `otlp` request, each with one agent span and nine LLM and tool
    /// spans.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub traces_per_request: u32,

    /// Approximate bytes of text per `otlp` span, half input and half output.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub span_bytes: u32,

    /// API that reads a sample of the acknowledged `otlp` traces back after the run.
    #[arg(long, value_enum, default_value_t = ReadBackApi::Tracewell)]
    pub read_back: ReadBackApi,

    /// Acknowledged traces sampled at random for the read-back. The traces of the
    /// last ten acknowledged requests are read back as well.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub read_back_traces: u32,

    /// Seconds after the run that the read-back waits for the sampled traces.
    #[arg(long, default_value_t = 120.0)]
    pub read_back_timeout: f64,

    /// Events per request (the AgentOps SDK sends 25 by default).
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_size: u32,

    /// Requests in flight at once, each on its own keep-alive connection.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,

    /// Run time in seconds; the run stops at the first of this and `--requests`.
    /// Without either flag a run lasts 10 s, and with only `--requests` at most 300 s.
    #[arg(long)]
    pub duration: Option<f64>,

    /// Number of requests to send; the run stops at the first of this and `--duration`.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,

    /// Target request rate in requests per second. Requests then follow a fixed
    /// schedule and latency counts from each request's scheduled start, so a slow
    /// response also counts against the requests queued behind it. Omit for maximum
    /// throughput, where each worker sends its next request when the last one returns.
    #[arg(long)]
    pub rate: Option<f64>,

    /// Sessions created before the run; requests take them in turn.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sessions: u32,

    /// Approximate bytes of text per event: prompt and completion of LLM events,
    /// parameters and results of tool and action events.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    pub event_bytes: u32,

    /// Seconds at the start whose requests are sent but left out of the figures.
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f64,

    /// Seconds a request may take before it counts as failed.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,

    /// Tokio worker threads of the generator; it shares the cores with the server.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: u32,

    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Request shape of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkloadKind {
    /// AgentOps REST: `create_session` per session, then `create_events` batches.
    Rest,
    /// OTLP/HTTP protobuf batches of agent-shaped traces.
    Otlp,
}

/// Read API of the server under test, for the read-back after an `otlp` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadBackApi {
    /// Tracewell's `GET /public/v1/traces/{trace_id}` with the project token.
    Tracewell,
    /// Arize Phoenix's `GET /v1/projects/default/spans?trace_id=...`.
    Phoenix,
    /// No read-back.
    Off,
}

/// Authentication of `otlp` requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtlpAuth {
    /// A project token given with `--token`.
    Token(String),
    /// An API key to trade for a project token at `/v3/auth/token`.
    ApiKey(String),
    /// No `Authorization` header.
    None,
}

/// When a run stops and which of its requests count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunLimits {
    pub max_requests: Option<u64>,
    pub max_duration: Duration,
    pub warmup: Duration,
    pub request_timeout: Duration,
    /// Requests per second of the open-loop schedule; `None` runs closed-loop.
    pub rate: Option<f64>,
}

impl Args {
    /// Checks the number flags together and turns them into the limits of the run.
    pub fn limits(&self) -> anyhow::Result<RunLimits> {
        let max_duration = match (self.duration, self.requests) {
            (Some(seconds), _) => positive_seconds("--duration", seconds)?,
            (None, Some(_)) => Duration::from_secs(DEFAULT_MAX_SECONDS_WITH_REQUESTS),
            (None, None) => Duration::from_secs(DEFAULT_SECONDS),
        };
        let warmup = Duration::try_from_secs_f64(self.warmup)
            .with_context(|| format!("invalid --warmup {}: give seconds >= 0", self.warmup))?;
        if warmup >= max_duration {
            bail!(
                "--warmup {} is not shorter than the run ({} s): shorten it or lengthen --duration",
                self.warmup,
                max_duration.as_secs_f64()
            );
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            bail!(
                "invalid --rate {rate}: give requests per second > 0, or omit it for maximum throughput"
            );
        }
        Ok(RunLimits {
            max_requests: self.requests,
            max_duration,
            warmup,
            request_timeout: positive_seconds("--timeout", self.timeout)?,
            rate: self.rate,
        })
    }

    /// Checks `--read-back-timeout` and returns it.
    pub fn read_back_timeout(&self) -> anyhow::Result<Duration> {
        positive_seconds("--read-back-timeout", self.read_back_timeout)
    }

    /// Chooses the authentication of `otlp` requests: `--no-auth`, else
    /// `--token`, else `--api-key`. Fails when none of them is given.
    pub fn otlp_auth(&self) -> anyhow::Result<OtlpAuth> {
        if self.no_auth {
            return Ok(OtlpAuth::None);
        }
        if let Some(token) = &self.token {
            return Ok(OtlpAuth::Token(token.clone()));
        }
        if self.api_key.is_empty() {
            bail!(
                "missing credentials for --workload otlp: give --api-key (or AGENTOPS_API_KEY), \
                 --token with a project token, or --no-auth for a server without authentication"
            );
        }
        Ok(OtlpAuth::ApiKey(self.api_key.clone()))
    }
}

fn positive_seconds(flag: &str, seconds: f64) -> anyhow::Result<Duration> {
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => bail!("invalid {flag} {seconds}: give a number of seconds > 0"),
    }
}

/// Parses `--target` and checks that it names an `http` server on a loopback
/// address, the only place this generator sends traffic to.
///
/// Returns the base URL without a trailing slash, for example `http://127.0.0.1:4318`.
pub fn loopback_base_url(target: &str) -> anyhow::Result<String> {
    let uri: Uri = target.parse().with_context(|| {
        format!("invalid --target {target:?}: give a URL such as http://127.0.0.1:4318")
    })?;
    if uri.scheme_str() != Some("http") {
        bail!("invalid --target {target:?}: the scheme must be http, as in http://127.0.0.1:4318");
    }
    let Some(authority) = uri.authority() else {
        bail!(
            "invalid --target {target:?}: the URL has no host; give one such as http://127.0.0.1:4318"
        );
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let is_loopback = host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !is_loopback {
        bail!(
            "rejected --target {target:?}: host {host:?} is not a loopback IP address; \
             this load generator only sends to servers on this machine \
             (127.0.0.0/8 or [::1]), for example http://127.0.0.1:4318"
        );
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        bail!("invalid --target {target:?}: give the server's base URL without a path or query");
    }
    Ok(format!("http://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["tracewell-loadgen", "--api-key", "k"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).expect("flags parse")
    }

    #[test]
    fn target_accepts_loopback_addresses() {
        let cases = [
            ("http://127.0.0.1:4318", "http://127.0.0.1:4318"),
            ("http://127.0.0.1:4318/", "http://127.0.0.1:4318"),
            ("http://127.1.2.3:80", "http://127.1.2.3:80"),
            ("http://[::1]:4318", "http://[::1]:4318"),
        ];
        for (target, expected) in cases {
            assert_eq!(
                loopback_base_url(target).unwrap(),
                expected,
                "target {target}"
            );
        }
    }

    #[test]
    fn target_rejects_other_hosts() {
        for target in [
            "http://10.0.0.1:4318",
            "http://192.168.1.5",
            "http://169.254.169.254",
            "http://example.com",
            "http://localhost:4318",
            "http://0.0.0.0:4318",
        ] {
            let error = loopback_base_url(target).unwrap_err().to_string();
            assert!(
                error.contains("not a loopback IP address"),
                "{target}: {error}"
            );
        }
    }

    #[test]
    fn target_rejects_https_and_paths() {
        let https = loopback_base_url("https://127.0.0.1:4318").unwrap_err();
        assert!(https.to_string().contains("scheme must be http"), "{https}");

        let path = loopback_base_url("http://127.0.0.1:4318/v2").unwrap_err();
        assert!(path.to_string().contains("without a path"), "{path}");
    }

    #[test]
    fn limits_default_to_ten_seconds() {
        let limits = args(&[]).limits().unwrap();
        assert_eq!(limits.max_duration, Duration::from_secs(10));
        assert_eq!(limits.max_requests, None);
        assert_eq!(limits.rate, None);
    }

    #[test]
    fn limits_bound_request_count_runs() {
        let limits = args(&["--requests", "50"]).limits().unwrap();
        assert_eq!(limits.max_requests, Some(50));
        assert_eq!(limits.max_duration, Duration::from_secs(300));
    }

    #[test]
    fn limits_reject_invalid_numbers() {
        let cases: [&[&str]; 5] = [
            &["--rate", "0"],
            &["--rate=-3"],
            &["--duration", "0"],
            &["--timeout=-1"],
            &["--duration", "2", "--warmup", "2"],
        ];
        for flags in cases {
            assert!(args(flags).limits().is_err(), "flags {flags:?}");
        }
    }
}
