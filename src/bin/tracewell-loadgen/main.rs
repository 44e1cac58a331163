//! `tracewell-loadgen`: a load generator for a Tracewell server on this machine.
//!
//! It creates its sessions first, then sends batches of events with fresh ids
//! over keep-alive connections. It reports durable events per second and
//! latency percentiles from an HDR histogram. An event is durable when a 2xx
//! response reports it stored, because the server responds after the commit.
//! The `otlp` workload sends OTLP trace exports instead, to Tracewell or to
//! another OTLP/HTTP server such as Arize Phoenix, and reads a sample of the
//! acknowledged traces back after the run.
//!
//! Exit status: 0 when at least one request got a 2xx response, 1 when none did,
//! 2 when the flags are invalid or the setup failed.

mod cli;
mod events;
mod http;
mod otlp;
mod readback;
mod report;
mod rest;
mod runner;
mod workload;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Args;
use crate::report::Report;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("the report serializes")
                );
            } else {
                print!("{report}");
            }
            if report.requests.ok_2xx > 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("tracewell-loadgen: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> anyhow::Result<Report> {
    let base_url = cli::loopback_base_url(&args.target)?;
    let limits = args.limits()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build()?;

    runtime.block_on(async {
        let client = http::build_client(args.concurrency as usize);
        let workload = workload::prepare(args, &client, &base_url).await?;
        eprintln!(
            "tracewell-loadgen: ready, sending {} workload to {base_url}",
            workload.name()
        );

        let run_started = tokio::time::Instant::now();
        let stats = runner::run(workload.clone(), client.clone(), args.concurrency, limits).await;
        let run_ended = tokio::time::Instant::now();
        let cpu_seconds = report::process_cpu_seconds();
        let mut report = Report::new(args, workload.name(), base_url, &stats, cpu_seconds);
        report.read_back = workload.read_back(&client, run_started, run_ended).await?;
        Ok(report)
    })
}
