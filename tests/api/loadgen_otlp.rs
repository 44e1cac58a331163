//! The `tracewell-loadgen` OTLP workload against a real server: the spans it
//! counts as durable must be stored as sessions of agent, LLM and tool events,
//! and its read-back must find the sampled traces.

use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::helpers::{PROJECT_A, TestApp, UNKNOWN_KEY, spawn_app};

fn run_loadgen(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracewell-loadgen"))
        .args(["--target", &app.address, "--workload", "otlp"])
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
fn otlp_loadgen_spans_stored_as_traces() {
    let app = spawn_app();
    let output = run_loadgen(
        &app,
        &[
            "--api-key",
            &app.key_a,
            "--requests",
            "6",
            "--traces-per-request",
            "3",
            "--concurrency",
            "2",
            "--read-back-traces",
            "4",
            "--json",
        ],
    );
    let report = report_of(&output);

    assert_eq!(report["workload"], "otlp");
    assert_eq!(report["batch_size"], 30);
    assert_eq!(report["requests"]["ok_2xx"], 6);
    assert_eq!(report["events"]["sent"], 180);
    assert_eq!(report["events"]["durable"], 180);
    assert_eq!(report["events"]["rejected"], 0);

    let read_back = &report["read_back"];
    assert_eq!(read_back["api"], "tracewell");
    assert_eq!(read_back["acknowledged_spans"], 180);
    assert_eq!(read_back["all_readable"], true, "{read_back}");
    assert_eq!(
        read_back["sampled_traces"], 18,
        "the last ten requests cover all six"
    );
    assert_eq!(read_back["readable_traces"], 18);
    assert_eq!(read_back["readable_spans"], 180);
    assert!(read_back["readable_spans_per_second"].as_f64().unwrap() > 0.0);

    let sessions = listed_session_ids(&app);
    assert_eq!(sessions.len(), 18, "one session per trace");
    for session in &sessions {
        let stats = app.stats(session);
        assert_eq!(stats["llms"], 5, "session {session}: {stats}");
        assert_eq!(stats["tools"], 4, "session {session}: {stats}");
        assert_eq!(stats["errors"], 0, "session {session}: {stats}");
        assert!(
            stats["prompt_tokens"].as_u64().unwrap() > 0,
            "session {session}: {stats}"
        );
    }
}

#[test]
fn otlp_loadgen_sends_given_token() {
    let app = spawn_app();
    let response = app.post_json("/v3/auth/token", &[], &json!({"api_key": app.key_a}));
    assert_eq!(response.status, 200, "{}", response.text);
    let token = response.str_field("token").to_owned();

    let output = run_loadgen(
        &app,
        &[
            "--token",
            &token,
            "--requests",
            "2",
            "--traces-per-request",
            "1",
            "--json",
        ],
    );
    let report = report_of(&output);
    assert_eq!(report["events"]["durable"], 20);
    assert_eq!(report["read_back"]["readable_spans"], 20);
    assert_eq!(listed_session_ids(&app).len(), 2);
}

#[test]
fn otlp_loadgen_text_report_reads_back() {
    let app = spawn_app();
    let output = run_loadgen(
        &app,
        &[
            "--api-key",
            &app.key_a,
            "--requests",
            "1",
            "--traces-per-request",
            "2",
        ],
    );
    assert!(
        output.status.success(),
        "tracewell-loadgen failed: {output:?}"
    );

    let text = String::from_utf8(output.stdout).expect("the report is UTF-8");
    assert!(text.contains("20 spans/request"), "report: {text}");
    assert!(
        text.contains("20 sent, 20 durable, 0 rejected"),
        "report: {text}"
    );
    assert!(
        text.contains("2 of 2 sampled traces whole (20 of 20 spans)"),
        "report: {text}"
    );
}

#[test]
fn otlp_loadgen_without_credentials_fails() {
    let app = spawn_app();
    let output = run_loadgen(&app, &["--requests", "1"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing credentials"), "stderr: {stderr}");
}

#[test]
fn otlp_loadgen_unknown_key_fails_setup() {
    let app = spawn_app();
    let output = run_loadgen(&app, &["--api-key", UNKNOWN_KEY, "--requests", "1"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("403"), "stderr: {stderr}");
    assert!(listed_session_ids(&app).is_empty());
}

#[test]
fn otlp_loadgen_no_auth_gets_401() {
    let app = spawn_app();
    let output = run_loadgen(
        &app,
        &[
            "--no-auth",
            "--requests",
            "2",
            "--read-back",
            "off",
            "--json",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "no request got a 2xx");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(report["requests"]["statuses"]["401"], 2);
    assert!(report.get("read_back").is_none(), "{report}");
    assert!(listed_session_ids(&app).is_empty());
}
