//! The AgentOps SDK 0.4.21 recordings under `tests/fixtures/otlp/` (the exact
//! protobuf bodies the SDK sent) posted to the real server: every one lands
//! as the expected session, spans and tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};
use crate::support::{PROTOBUF, post_traces, project_token, public_json, spans_by_id};

/// What one recorded trace must read back as.
struct ExpectedTrace {
    /// Recordings that carry the trace's spans, posted in this order.
    fixtures: &'static [&'static str],
    trace_id: &'static str,
    name: &'static str,
    end_state: &'static str,
    end_state_reason: Option<&'static str>,
    /// True for legacy `start_session` traces, whose root span carries the
    /// host, CPU and memory attributes.
    host_env: bool,
    tags: &'static [&'static str],
    /// Every span name of the trace, each once.
    span_names: &'static [&'static str],
    root_span: &'static str,
}

const EXPECTED: [ExpectedTrace; 10] = [
    ExpectedTrace {
        fixtures: &["v04-explicit-0004"],
        trace_id: "f3882b0cc283caa2b870946bcfd96977",
        name: "capture-trace",
        end_state: "Success",
        end_state_reason: None,
        host_env: false,
        tags: &["meta-tag"],
        span_names: &FULL_FLOW_SPANS,
        root_span: "capture-trace.session",
    },
    ExpectedTrace {
        fixtures: &["v04-explicit-0005"],
        trace_id: "60e444788e442b3d86a4bb83428008be",
        name: "decorated-trace",
        end_state: "Success",
        end_state_reason: None,
        host_env: false,
        tags: &[],
        span_names: &["calculator.tool", "decorated-trace.session"],
        root_span: "decorated-trace.session",
    },
    ExpectedTrace {
        fixtures: &["v04-explicit-0006"],
        trace_id: "9d66f3f902995d6bd765697024337665",
        name: "session",
        end_state: "Success",
        end_state_reason: Some("legacy done"),
        host_env: true,
        tags: &["legacy"],
        span_names: &["session.session"],
        root_span: "session.session",
    },
    ExpectedTrace {
        fixtures: &["v04-explicit-0007"],
        trace_id: "1e4618607675eadb6ad52b1012bf1ca6",
        name: "enum-end-state",
        end_state: "Indeterminate",
        end_state_reason: None,
        host_env: false,
        tags: &[],
        span_names: &["calculator.tool", "enum-end-state.session"],
        root_span: "enum-end-state.session",
    },
    ExpectedTrace {
        fixtures: &["v04-auto-0004"],
        trace_id: "3b9362b21d68b30fa3040321a502378a",
        name: "auto-init-trace",
        end_state: "Shutdown",
        end_state_reason: None,
        host_env: false,
        tags: &["capture", "auto"],
        span_names: &[
            "openai.chat.completion",
            "think.task",
            "calculator.tool",
            "summarise.task",
            "researcher.agent",
            "pipeline.workflow",
            "auto-init-trace.session",
        ],
        root_span: "auto-init-trace.session",
    },
    ExpectedTrace {
        fixtures: &["v04-nested-0002", "v04-nested-0003"],
        trace_id: "ff3d908b157eb1847af995fd391b7be7",
        name: "default",
        end_state: "Shutdown",
        end_state_reason: None,
        host_env: false,
        tags: &["auto"],
        span_names: &["t.tool", "inner-trace.session", "default.session"],
        root_span: "default.session",
    },
    ExpectedTrace {
        fixtures: &["v04-unauth-0004"],
        trace_id: "29d585000090061df0eead8b42e90f41",
        name: "capture-trace",
        end_state: "Success",
        end_state_reason: None,
        host_env: false,
        tags: &["meta-tag"],
        span_names: &FULL_FLOW_SPANS,
        root_span: "capture-trace.session",
    },
    ExpectedTrace {
        fixtures: &["v04-unauth-0005"],
        trace_id: "420b7591a056592365f85104491cd8b8",
        name: "decorated-trace",
        end_state: "Success",
        end_state_reason: None,
        host_env: false,
        tags: &[],
        span_names: &["calculator.tool", "decorated-trace.session"],
        root_span: "decorated-trace.session",
    },
    ExpectedTrace {
        fixtures: &["v04-unauth-0006"],
        trace_id: "564c4b6432b3bf89d425681231edf675",
        name: "session",
        end_state: "Success",
        end_state_reason: Some("legacy done"),
        host_env: true,
        tags: &["legacy"],
        span_names: &["session.session"],
        root_span: "session.session",
    },
    ExpectedTrace {
        fixtures: &["v04-unauth-0007"],
        trace_id: "178b4944a39b6c949614a2063fcd48ab",
        name: "enum-end-state",
        end_state: "Indeterminate",
        end_state_reason: None,
        host_env: false,
        tags: &[],
        span_names: &["calculator.tool", "enum-end-state.session"],
        root_span: "enum-end-state.session",
    },
];

const FULL_FLOW_SPANS: [&str; 7] = [
    "openai.chat.completion",
    "think.task",
    "calculator.tool",
    "summarise.task",
    "researcher.agent",
    "pipeline.workflow",
    "capture-trace.session",
];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/otlp")
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(format!("{name}.bin"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// Names of every recorded `.bin` body in the fixture folder.
fn recorded_fixtures() -> BTreeSet<String> {
    std::fs::read_dir(fixture_dir())
        .expect("fixture folder is readable")
        .map(|entry| entry.expect("fixture entry is readable").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "bin"))
        .map(|path| {
            let stem = path.file_stem().expect("fixture has a name");
            stem.to_string_lossy().into_owned()
        })
        .collect()
}

fn post_fixture(app: &TestApp, token: &str, name: &str) {
    let response = post_traces(app, Some(token), Some(PROTOBUF), None, fixture_bytes(name));
    let (rejected, message) = response.partial_success();
    assert_eq!(rejected, 0, "{name}: spans rejected: {message}");
    assert_eq!(message, "", "{name}: unexpected partial success message");
}

fn check_trace(app: &TestApp, token: &str, expected: &ExpectedTrace) {
    let id = expected.trace_id;
    let trace = public_json(app, token, &format!("/public/v1/traces/{id}"));
    assert_eq!(trace["trace_id"], id);
    assert_eq!(trace["name"], expected.name, "trace {id}");
    assert_eq!(trace["end_state"], expected.end_state, "trace {id}");
    assert_eq!(
        trace["tags"],
        serde_json::json!(expected.tags),
        "trace {id}"
    );

    let spans = spans_by_id(&trace);
    let names: BTreeSet<&str> = spans
        .values()
        .map(|span| span["span_name"].as_str().unwrap_or_default())
        .collect();
    let expected_names: BTreeSet<&str> = expected.span_names.iter().copied().collect();
    assert_eq!(names, expected_names, "span names of trace {id}");
    assert_eq!(spans.len(), expected.span_names.len(), "trace {id}");
    for (span_id, span) in &spans {
        check_span_fields(span_id, span);
        let parent = &span["parent_span_id"];
        if span["span_name"] == expected.root_span {
            assert!(parent.is_null(), "root span {span_id} has parent {parent}");
        } else {
            let parent = parent.as_str().unwrap_or_default();
            assert!(
                spans.contains_key(parent),
                "span {span_id}: parent {parent} missing"
            );
        }
    }

    let tree = trace["tree"].as_array().expect("trace has a tree");
    assert_eq!(tree.len(), 1, "trace {id} tree has one root: {tree:?}");
    assert_eq!(tree[0]["span_name"], expected.root_span);
    assert_eq!(count_tree_nodes(&tree[0]), spans.len(), "trace {id} tree");

    let export = app.export(id);
    let session = &export["session"];
    assert_eq!(session["name"], expected.name, "session {id}");
    assert_eq!(session["end_state"], expected.end_state, "session {id}");
    assert_eq!(
        session["end_state_reason"].as_str(),
        expected.end_state_reason,
        "session {id}"
    );
    assert_eq!(session["tags"], serde_json::json!(expected.tags));
    let host = &session["host_env"];
    if expected.host_env {
        assert!(
            host["host"]["system"].is_string(),
            "session {id} host_env: {host}"
        );
        assert!(
            host["cpu"]["count"].is_number(),
            "session {id} host_env: {host}"
        );
    } else {
        assert!(host.is_null(), "session {id} host_env: {host}");
    }
    let events: usize = ["llms", "tools", "actions", "errors", "other"]
        .iter()
        .map(|group| export[*group].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(events, spans.len(), "export of {id} lists every span");
}

fn check_span_fields(span_id: &str, span: &Value) {
    assert_eq!(span_id.len(), 16, "span id {span_id}");
    for field in ["span_kind", "start_time", "end_time", "status_code"] {
        assert!(span[field].is_string(), "span {span_id} {field}: {span}");
    }
    assert!(
        span["duration"]
            .as_i64()
            .is_some_and(|duration| duration >= 0),
        "span {span_id} duration: {span}"
    );
    assert!(
        span["span_attributes"].is_object(),
        "span {span_id}: {span}"
    );
}

fn count_tree_nodes(node: &Value) -> usize {
    let children = node["children"].as_array().expect("tree node has children");
    1 + children.iter().map(count_tree_nodes).sum::<usize>()
}

#[test]
fn every_recording_lands_as_trace() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);

    let posted: BTreeSet<String> = EXPECTED
        .iter()
        .flat_map(|trace| trace.fixtures.iter().map(|name| name.to_string()))
        .collect();
    assert_eq!(
        posted,
        recorded_fixtures(),
        "every recording in tests/fixtures/otlp needs an expected trace here"
    );
    for expected in &EXPECTED {
        for name in expected.fixtures {
            post_fixture(&app, &token, name);
        }
    }

    for expected in &EXPECTED {
        check_trace(&app, &token, expected);
    }
}

#[test]
fn recorded_llm_trace_metrics() {
    let app = spawn_app();
    let token = project_token(&app, &app.key_a);
    post_fixture(&app, &token, "v04-explicit-0004");
    let id = "f3882b0cc283caa2b870946bcfd96977";

    let metrics = public_json(&app, &token, &format!("/public/v1/traces/{id}/metrics"));
    assert_eq!(metrics["span_count"], 7);
    assert_eq!(metrics["trace_count"], 1);
    assert_eq!(metrics["success_count"], 1, "the LLM span has status OK");
    assert_eq!(metrics["fail_count"], 0);
    assert_eq!(metrics["indeterminate_count"], 6);
    assert_eq!(metrics["prompt_tokens"], 21);
    assert_eq!(metrics["completion_tokens"], 8);
    assert_eq!(metrics["total_tokens"], 29);
    assert_eq!(metrics["error_count"], 0);
    assert!(metrics["duration"].as_i64().is_some_and(|nanos| nanos > 0));

    // The stats cost is the exact sum; the metrics round it to 7 decimals.
    let stats = app.stats(id);
    let exact: Decimal = stats["cost"].as_str().unwrap().parse().unwrap();
    let total: Decimal = metrics["total_cost"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        total,
        exact.round_dp(7),
        "total_cost {total}, stats cost {exact}"
    );
    for field in [
        "total_cost",
        "prompt_cost",
        "completion_cost",
        "average_cost_per_trace",
    ] {
        let text = metrics[field].as_str().unwrap_or_default();
        let decimals = text.split_once('.').map_or(0, |(_, digits)| digits.len());
        assert_eq!(decimals, 7, "{field} = {text:?}");
    }
    // The calculator tool reported a cost of 0.01 itself, on top of the LLM call.
    let prompt: Decimal = metrics["prompt_cost"].as_str().unwrap().parse().unwrap();
    let completion: Decimal = metrics["completion_cost"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(prompt > Decimal::ZERO, "gpt-4o-mini is priced");
    assert!(completion > Decimal::ZERO, "gpt-4o-mini is priced");
    assert!(total >= Decimal::new(1, 2) + prompt + completion - Decimal::new(2, 7));
    assert_eq!(stats["prompt_tokens"], 21);
    assert_eq!(stats["completion_tokens"], 8);
}
