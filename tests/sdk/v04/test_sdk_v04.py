"""End-to-end tests: the real AgentOps SDK 0.4.21 (OpenTelemetry 1.36.0 / 0.57b0) against tracewell.

Each test runs a script from user_scripts/ in a subprocess, then reads what the
server stored through the public trace API, the v2 export and the CLI.
"""

import json
import re
import uuid
from decimal import Decimal

from conftest import FAKE_COMPLETION, run_user_script

RFC3339_NANOS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")
RFC3339_MICROS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")

MAIN_SPANS = {
    "capture-trace.session": None,
    "researcher.agent": "capture-trace.session",
    "think.task": "researcher.agent",
    "openai.chat.completion": "think.task",
    "calculator.tool": "researcher.agent",
    "summarise.task": "researcher.agent",
    "broken_tool.tool": "capture-trace.session",
}


def spans_by_name(trace):
    """Index a trace's spans by span name, checking that no two share one."""
    spans = {}
    for span in trace["spans"]:
        assert span["span_name"] not in spans, f"two spans named {span['span_name']}: {trace['spans']}"
        spans[span["span_name"]] = span
    return spans


def check_span_shape(span):
    assert re.fullmatch(r"[0-9a-f]{16}", span["span_id"]), span
    assert RFC3339_NANOS.match(span["start_time"]), span
    assert RFC3339_NANOS.match(span["end_time"]), span
    assert isinstance(span["duration"], int) and span["duration"] >= 0, span
    assert span["otel_kind"] in ("INTERNAL", "CLIENT"), span


def check_parents(spans, expected_parents):
    """Check every span's parent against a span name to parent name map."""
    assert set(spans) == set(expected_parents)
    for name, parent_name in expected_parents.items():
        parent_id = spans[name]["parent_span_id"]
        if parent_name is None:
            assert parent_id is None, f"{name} should be a root: {spans[name]}"
        else:
            assert parent_id == spans[parent_name]["span_id"], f"{name} should be a child of {parent_name}"


def tree_names(node):
    """Return a tree node as (span name, sorted children), for comparisons."""
    return (node["span_name"], sorted(tree_names(child) for child in node["children"]))


def run_full_flow(tracewell, fake_openai, tmp_path):
    run = run_user_script(
        "full_flow.py",
        cwd=tmp_path,
        tracewell=tracewell,
        openai_base_url=fake_openai.base_url,
    )
    assert run.returncode == 0
    assert run.value("BLOCKED_HOSTS") == "[]"
    return run


def test_main_trace_read_api(tracewell, fake_openai, tmp_path):
    run = run_full_flow(tracewell, fake_openai, tmp_path)
    assert len(fake_openai.received) == 1
    main = run.value("MAIN_TRACE")
    assert main and TRACE_ID.match(main)
    token = tracewell.project_token()

    trace = tracewell.public(f"/traces/{main}", token)
    assert trace["trace_id"] == main
    assert trace["name"] == "capture-trace"
    assert trace["tags"] == ["e2e", "v0.4.21"]
    assert trace["end_state"] == "Success"
    spans = spans_by_name(trace)
    check_parents(spans, MAIN_SPANS)
    for span in spans.values():
        check_span_shape(span)

    assert spans["openai.chat.completion"]["status_code"] == "OK"
    assert spans["openai.chat.completion"]["otel_kind"] == "CLIENT"
    assert spans["broken_tool.tool"]["status_code"] == "ERROR"
    for name in ("capture-trace.session", "researcher.agent", "think.task", "calculator.tool", "summarise.task"):
        assert spans[name]["status_code"] == "UNSET", spans[name]
    assert spans["researcher.agent"]["span_kind"] == "agent"
    assert spans["think.task"]["span_kind"] == "task"
    assert spans["calculator.tool"]["span_kind"] == "tool"
    assert spans["capture-trace.session"]["span_kind"] == "session"

    attributes = spans["calculator.tool"]["span_attributes"]
    assert json.loads(attributes["agentops"]["tool"]["input"]) == {"args": [1, 1], "kwargs": {}}
    assert attributes["agentops"]["tool"]["output"] == "2"
    assert attributes["gen_ai"]["usage"]["total_cost"] == 0.01
    gen_ai = spans["openai.chat.completion"]["span_attributes"]["gen_ai"]
    assert gen_ai["request"]["model"] == "gpt-4o-mini"
    assert gen_ai["response"]["model"] == FAKE_COMPLETION["model"]
    assert gen_ai["usage"]["prompt_tokens"] == 21
    assert gen_ai["prompt"]["1"]["content"] == "Capital of France?"
    assert gen_ai["completion"]["0"]["content"] == "Paris is the capital of France."

    assert len(trace["tree"]) == 1
    assert tree_names(trace["tree"][0]) == (
        "capture-trace.session",
        sorted(
            [
                ("broken_tool.tool", []),
                (
                    "researcher.agent",
                    sorted(
                        [
                            ("calculator.tool", []),
                            ("summarise.task", []),
                            ("think.task", [("openai.chat.completion", [])]),
                        ]
                    ),
                ),
            ]
        ),
    )

    llm_id = spans["openai.chat.completion"]["span_id"]
    detail = tracewell.public(f"/spans/{llm_id}", token)
    assert detail["trace_id"] == main
    assert detail["resource_attributes"]["service"]["name"] == "agentops"
    assert detail["resource_attributes"]["agentops"]["project"]["id"] == "temporary"
    assert detail["attributes"]["gen_ai"]["system"] == "OpenAI"
    assert detail["scope"]["name"] == "openai"
    assert detail["prompt"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert detail["completion"][0]["content"] == "Paris is the capital of France."
    span_metrics = tracewell.public(f"/spans/{llm_id}/metrics", token)
    assert span_metrics["total_tokens"] == 29
    assert span_metrics["model"] == FAKE_COMPLETION["model"]

    metrics = tracewell.public(f"/traces/{main}/metrics", token)
    assert metrics["span_count"] == 7
    assert metrics["trace_count"] == 1
    assert metrics["success_count"] == 1
    assert metrics["fail_count"] == 1
    assert metrics["indeterminate_count"] == 5
    assert metrics["error_count"] == 1
    assert metrics["prompt_tokens"] == 21
    assert metrics["completion_tokens"] == 8
    assert metrics["total_tokens"] == 29
    assert metrics["duration"] == spans["capture-trace.session"]["duration"]
    for field in ("prompt_cost", "completion_cost", "total_cost", "average_cost_per_trace"):
        assert re.fullmatch(r"\d+\.\d{7}", metrics[field]), metrics
    # The calculator reported its own cost of 0.01, and the LLM call is priced.
    assert Decimal(metrics["total_cost"]) > Decimal("0.01")
    assert Decimal(metrics["prompt_cost"]) > 0
    assert Decimal(metrics["completion_cost"]) > 0

    validation = run.json_value("VALIDATION")
    assert validation["skipped"] is False
    assert validation["span_count"] == 7
    assert validation["has_llm_spans"] is True
    assert validation["span_names"] == sorted(MAIN_SPANS)
    assert validation["metrics"]["total_tokens"] == 29
    assert validation["metrics"]["total_cost"] == metrics["total_cost"]

    assert tracewell.error_lines() == []


def test_main_trace_export_and_log(tracewell, fake_openai, tmp_path):
    run = run_full_flow(tracewell, fake_openai, tmp_path)
    main = run.value("MAIN_TRACE")
    session_id = str(uuid.UUID(main))

    export = tracewell.export(main)
    session = export["session"]
    assert session["id"] == session_id
    assert session["name"] == "capture-trace"
    assert session["tags"] == ["e2e", "v0.4.21"]
    assert session["end_state"] == "Success"
    assert RFC3339_MICROS.match(session["init_timestamp"]), session
    assert RFC3339_MICROS.match(session["end_timestamp"]), session

    assert len(export["llms"]) == 1
    llm = export["llms"][0]
    assert llm["model"] == FAKE_COMPLETION["model"]
    assert llm["prompt_tokens"] == 21
    assert llm["completion_tokens"] == 8
    assert llm["prompt"][1] == {"role": "user", "content": "Capital of France?"}
    assert sorted(tool["name"] for tool in export["tools"]) == ["broken_tool", "calculator"]
    broken = next(tool for tool in export["tools"] if tool["name"] == "broken_tool")
    assert broken["is_error"] is True

    # The SDK uploads what print() wrote, keyed by the first trace's id.
    log = export["log"]
    assert f"MAIN_TRACE={main}" in log
    assert "hello from user code" in log
    assert "RESULT=Paris is the capital of France. (2)" in log
    assert re.search(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} - INFO - hello from user code$", log, re.MULTILINE)

    stats = tracewell.stats(main)
    assert stats["events"] == 7
    assert stats["llms"] == 1
    assert stats["tools"] == 2
    assert stats["errors"] == 1
    assert stats["prompt_tokens"] == 21
    assert stats["completion_tokens"] == 8
    assert stats["duration_ms"] > 0

    show_output = json.loads(tracewell.cli("sessions", "show", main))
    assert show_output["session"]["id"] == session_id
    assert show_output["log"] == log
    assert tracewell.cli("sessions", "show", main, "--log") == log
    listing = tracewell.cli("sessions", "list")
    main_lines = [line for line in listing.splitlines() if line.startswith(session_id)]
    assert len(main_lines) == 1, listing
    assert "Success" in main_lines[0]
    assert "e2e,v0.4.21" in main_lines[0]


def test_decorated_and_nested_traces(tracewell, fake_openai, tmp_path):
    run = run_full_flow(tracewell, fake_openai, tmp_path)
    token = tracewell.project_token()

    decorated = tracewell.public(f"/traces/{run.value('DECORATED_TRACE')}", token)
    assert decorated["name"] == "decorated-trace"
    assert decorated["tags"] == ["decorated"]
    assert decorated["end_state"] == "Success"
    spans = spans_by_name(decorated)
    check_parents(spans, {"decorated-trace.session": None, "calculator.tool": "decorated-trace.session"})
    entity = spans["decorated-trace.session"]["span_attributes"]["agentops"]["entity"]
    assert entity["output"] == "5"

    # An exception escaping @trace ends the trace as Indeterminate.
    failing = tracewell.public(f"/traces/{run.value('FAILING_TRACE')}", token)
    assert failing["name"] == "failing-trace"
    assert failing["end_state"] == "Indeterminate"
    assert sorted(spans_by_name(failing)) == ["calculator.tool", "failing-trace.session"]

    # start_trace inside an open trace adds a session span to the same trace.
    outer_id = run.value("OUTER_TRACE")
    assert run.value("INNER_TRACE") == outer_id
    nested = tracewell.public(f"/traces/{outer_id}", token)
    assert nested["name"] == "outer-trace"
    assert nested["tags"] == ["outer"]
    assert nested["end_state"] == "Success"
    spans = spans_by_name(nested)
    check_parents(
        spans,
        {
            "outer-trace.session": None,
            "inner-trace.session": "outer-trace.session",
            "calculator.tool": "inner-trace.session",
        },
    )
    inner_attributes = spans["inner-trace.session"]["span_attributes"]["agentops"]
    assert inner_attributes["session"]["end_state"] == "Fail"
    assert inner_attributes["tags"] == ["inner"]
    assert tree_names(nested["tree"][0]) == (
        "outer-trace.session",
        [("inner-trace.session", [("calculator.tool", [])])],
    )


def test_each_end_state(tracewell, fake_openai, tmp_path):
    run = run_full_flow(tracewell, fake_openai, tmp_path)
    token = tracewell.project_token()
    # A TraceState enum reaches the server as no end state at all: the SDK
    # sets it as a span attribute, and OpenTelemetry drops non-primitive values.
    expected = {
        "TRACE_STATE_FAIL": ("state-fail", "Fail"),
        "TRACE_STATE_INDETERMINATE": ("state-indeterminate", "Indeterminate"),
        "TRACE_STATE_CUSTOM": ("state-custom", "Stopped by operator"),
        "TRACE_STATE_ENUM": ("state-enum", "Indeterminate"),
    }
    for line, (name, end_state) in expected.items():
        trace_id = run.value(line)
        assert trace_id and TRACE_ID.match(trace_id), line
        trace = tracewell.public(f"/traces/{trace_id}", token)
        assert trace["name"] == name
        assert trace["end_state"] == end_state, name
        assert tracewell.export(trace_id)["session"]["end_state"] == end_state, name
        assert sorted(spans_by_name(trace)) == ["calculator.tool", f"{name}.session"]
        stats = tracewell.stats(trace_id)
        assert stats["end_state"] == end_state
        assert stats["events"] == 2

    # One session per trace: main, decorated, failing, nested and the four above.
    listing = tracewell.cli("sessions", "list")
    session_lines = [line for line in listing.splitlines()[1:] if line.strip()]
    assert len(session_lines) == 8, listing


def test_unknown_key_stores_nothing(tracewell, tmp_path):
    run = run_user_script(
        "unauthorized.py",
        cwd=tmp_path,
        tracewell=tracewell,
        api_key=str(uuid.uuid4()),
    )
    assert run.returncode == 0
    assert run.value("BLOCKED_HOSTS") == "[]"
    assert run.value("JWT") == "None"
    main = run.value("MAIN_TRACE")
    assert main and TRACE_ID.match(main)

    # The SDK still sent its spans, without a token, and each got 401.
    server_log = tracewell.log_path.read_text()
    assert re.search(r'path="/v3/auth/token".*status=403', server_log), server_log
    assert re.search(r'path="/v1/traces".*status=401', server_log), server_log
    listing = tracewell.cli("sessions", "list")
    assert listing.splitlines()[1:] == [], listing
    response = tracewell.get(f"/v2/sessions/{main}/export", {"X-Agentops-Api-Key": tracewell.api_key})
    assert response.status_code == 404
