//! The `tracewell-loadgen` binary against a real server: its count of durable
//! events must match what the server stored.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::helpers::{PROJECT_A, TestApp, UNKNOWN_KEY, spawn_app};

fn run_loadgen(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracewell-loadgen"))
        .args(["--target", &app.address, "--api-key", &app.key_a])
        .args(args)
        .env_remove("AGENTOPS_API_ENDPOINT")
        .env_remove("AGENTOPS_API_KEY")
        .stdin(Stdio::null())
        .output()
        .expect("tracewell-loadgen runs")
}

fn report_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "tracewell-loadgen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

/// Returns the ids of the sessions that `tracewell sessions list` prints.
fn listed_session_ids(app: &TestApp) -> Vec<String> {
    let output = app.cli(&["sessions", "list", "--project", PROJECT_A, "--limit", "100"]);
    assert!(output.status.success(), "sessions list failed: {output:?}");
    String::from_utf8(output.stdout)
        .expect("sessions list prints UTF-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| uuid::Uuid::parse_str(word).is_ok())
        .map(str::to_owned)
        .collect()
}

#[test]
fn loadgen_counts_match_stored_events() {
    let app = spawn_app();
    let output = run_loadgen(
        &app,
        &[
            "--requests",
            "12",
            "--batch-size",
            "25",
            "--concurrency",
            "3",
            "--sessions",
            "2",
            "--json",
        ],
    );
    let report = report_of(&output);

    assert_eq!(report["requests"]["sent"], 12);
    assert_eq!(report["requests"]["ok_2xx"], 12);
    assert_eq!(report["requests"]["non_2xx"], 0);
    assert_eq!(report["events"]["sent"], 300);
    assert_eq!(report["events"]["durable"], 300);
    assert_eq!(report["events"]["rejected"], 0);

    let sessions = listed_session_ids(&app);
    assert_eq!(sessions.len(), 2, "the run creates --sessions 2");
    let mut by_type = [0u64; 3];
    for session in &sessions {
        let stats = app.stats(session);
        for (total, field) in by_type.iter_mut().zip(["llms", "tools", "actions"]) {
            *total += stats[field].as_u64().expect("stats counts are integers");
        }
        assert_eq!(stats["errors"], 0, "session {session}: {stats}");
    }
    assert_eq!(
        by_type.iter().sum::<u64>(),
        300,
        "llm, tool, action counts {by_type:?}"
    );
    assert!(
        by_type.iter().all(|&count| count > 0),
        "every type is sent: {by_type:?}"
    );
}

#[test]
fn loadgen_text_report_lists_figures() {
    let app = spawn_app();
    let output = run_loadgen(
        &app,
        &["--requests", "2", "--batch-size", "3", "--sessions", "1"],
    );
    assert!(
        output.status.success(),
        "tracewell-loadgen failed: {output:?}"
    );

    let text = String::from_utf8(output.stdout).expect("the report is UTF-8");
    assert!(
        text.contains("6 sent, 6 durable, 0 rejected"),
        "report: {text}"
    );
    assert!(text.contains("2 sent, 2 2xx, 0 non-2xx"), "report: {text}");
    assert!(text.contains("latency ms      p50"), "report: {text}");
}

#[test]
fn loadgen_rate_run_reports_latency() {
    let app = spawn_app();
    let output = run_loadgen(
        &app,
        &[
            "--requests",
            "10",
            "--rate",
            "50",
            "--batch-size",
            "5",
            "--sessions",
            "1",
            "--json",
        ],
    );
    let report = report_of(&output);

    assert_eq!(report["rate"], 50.0);
    assert_eq!(report["events"]["durable"], 50);
    let latency = &report["latency_ms"];
    let p50 = latency["p50"].as_f64().unwrap();
    let p99 = latency["p99"].as_f64().unwrap();
    let max = latency["max"].as_f64().unwrap();
    assert!(p50 > 0.0, "latency {latency}");
    assert!(p50 <= p99, "latency {latency}");
    assert!(p99 <= max, "latency {latency}");
}

#[test]
fn loadgen_unknown_key_fails_setup() {
    let app = spawn_app();
    let output = Command::new(env!("CARGO_BIN_EXE_tracewell-loadgen"))
        .args([
            "--target",
            &app.address,
            "--api-key",
            UNKNOWN_KEY,
            "--requests",
            "1",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("tracewell-loadgen runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("401"), "stderr: {stderr}");
    assert!(listed_session_ids(&app).is_empty());
}
