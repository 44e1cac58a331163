"""End-to-end tests: the real AgentOps SDK 0.3.26 in a user script against tracewell.

Each test runs a script from user_scripts/ in a subprocess, then reads what the
server stored through its read API and command line.
"""

import re
import uuid
from decimal import ROUND_HALF_UP, Decimal

from conftest import FAKE_COMPLETION, run_user_script

RFC3339_UTC_MICROS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
SESSION_STATS_COST = re.compile(r"Session Stats - .*Cost: \$([0-9.]+)")


def events_by(events, key):
    """Index events by the value of key, checking that no two share it."""
    indexed = {}
    for event in events:
        assert event[key] not in indexed, f"two events with {key}={event[key]!r}: {events}"
        indexed[event[key]] = event
    return indexed


def sdk_cost_text(cost):
    """Format a cost the way agentops 0.3.26 prints it in its Session Stats line."""
    if cost == 0:
        return "{:.2f}".format(cost)
    return "{:.6f}".format(cost.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


def check_timestamps(record, *, end_expected):
    assert RFC3339_UTC_MICROS.match(record["init_timestamp"]), record
    if end_expected:
        assert RFC3339_UTC_MICROS.match(record["end_timestamp"] or ""), record
    else:
        assert record["end_timestamp"] is None, record


def test_full_flow_stores_every_event(tracewell, fake_openai, tmp_path):
    run = run_user_script(
        "full_flow.py",
        cwd=tmp_path,
        endpoint=tracewell.base_url,
        api_key=tracewell.api_key,
        openai_base_url=fake_openai.base_url,
    )
    assert run.returncode == 0
    assert run.value("BLOCKED_HOSTS") == "[]"
    assert len(fake_openai.received) == 1
    session_id = run.value("SESSION_ID")
    agent_id = run.value("AGENT_ID")
    assert session_id and UUID_PATTERN.fullmatch(session_id)
    assert agent_id and UUID_PATTERN.fullmatch(agent_id)

    export = tracewell.export(session_id)

    session = export["session"]
    assert session["id"] == session_id
    assert sorted(session["tags"]) == ["added-later", "e2e", "v0.3.26"]
    assert session["end_state"] == "Success"
    assert session["end_state_reason"] == "demo finished"
    check_timestamps(session, end_expected=True)
    assert session["host_env"]["SDK"]["AgentOps SDK Version"] == "0.3.26"

    agents = events_by(export["agents"], "id")
    assert list(agents) == [agent_id]
    assert agents[agent_id]["name"] == "researcher"

    assert len(export["llms"]) == 1
    llm = export["llms"][0]
    assert llm["type"] == "llm"
    assert llm["model"] == FAKE_COMPLETION["model"]
    assert llm["prompt"] == [{"role": "user", "content": "Capital of France?"}]
    assert llm["completion"]["role"] == "assistant"
    assert llm["completion"]["content"] == "Paris is the capital of France."
    assert llm["prompt_tokens"] == FAKE_COMPLETION["usage"]["prompt_tokens"]
    assert llm["completion_tokens"] == FAKE_COMPLETION["usage"]["completion_tokens"]
    assert llm["params"]["model"] == "gpt-4o-mini"
    check_timestamps(llm, end_expected=True)

    tools = events_by(export["tools"], "name")
    assert sorted(tools) == ["calculator", "web_search"]
    assert tools["calculator"]["type"] == "tool"
    assert tools["calculator"]["params"] == {"a": 2, "b": 3}
    assert tools["calculator"]["returns"] == 5
    assert tools["web_search"]["params"] == {"q": "france capital"}
    assert tools["web_search"]["returns"] == ["Paris"]
    assert tools["web_search"]["logs"] == "ok"
    for tool in tools.values():
        check_timestamps(tool, end_expected=True)

    actions = events_by(export["actions"], "action_type")
    assert sorted(actions) == ["lookup", "plan"]
    assert actions["lookup"]["type"] == "action"
    assert actions["lookup"]["params"]["query"] == "capital of France"
    assert actions["lookup"]["params"]["depth"] == 2
    assert actions["lookup"]["returns"] == {"query": "capital of France", "hits": 3}
    assert actions["plan"]["params"] == {"steps": 2}
    assert actions["plan"]["returns"] == "done"
    assert actions["plan"]["logs"] == "planning"
    assert actions["plan"]["agent_id"] == agent_id

    errors = events_by(export["errors"], "error_type")
    assert sorted(errors) == ["ValueError", "ZeroDivisionError"]
    assert errors["ValueError"]["type"] == "error"
    assert errors["ValueError"]["code"] == "E42"
    assert errors["ValueError"]["details"] == "bad input"
    assert errors["ValueError"]["logs"] == "trace here"
    assert errors["ZeroDivisionError"]["details"] == "division by zero"
    assert "ZeroDivisionError" in errors["ZeroDivisionError"]["logs"]

    assert export["other"] == []

    stats = tracewell.stats(session_id)
    assert stats["session_id"] == session_id
    assert stats["events"] == 7
    assert stats["llms"] == 1
    assert stats["tools"] == 2
    assert stats["actions"] == 2
    assert stats["errors"] == 2
    assert stats["prompt_tokens"] == 21
    assert stats["completion_tokens"] == 8

    # The SDK prints the token_cost of its final update_session, which must be
    # the session's cost. gpt-4o-mini-2024-07-18 is a priced model, so that
    # cost is above zero.
    cost = Decimal(stats["cost"])
    printed_costs = SESSION_STATS_COST.findall(run.output)
    assert printed_costs == [sdk_cost_text(cost)]
    assert cost > 0

    assert session_id in tracewell.cli("sessions", "list")


def test_unknown_key_stores_nothing(tracewell, fake_openai, tmp_path):
    never_issued_key = str(uuid.uuid4())

    run = run_user_script(
        "unauthorized.py",
        cwd=tmp_path,
        endpoint=tracewell.base_url,
        api_key=never_issued_key,
        openai_base_url=fake_openai.base_url,
    )

    assert run.returncode == 0
    assert run.value("BLOCKED_HOSTS") == "[]"
    assert "invalid API key" in run.output
    assert run.value("SESSION") == "None"
    # The script went on past the failed init and made its OpenAI call.
    assert len(fake_openai.received) == 1
    listing = tracewell.cli("sessions", "list")
    assert not UUID_PATTERN.search(listing), f"sessions list shows a session:\n{listing}"


def test_missing_end_session_leaves_indeterminate(tracewell, tmp_path):
    run = run_user_script(
        "no_end.py",
        cwd=tmp_path,
        endpoint=tracewell.base_url,
        api_key=tracewell.api_key,
    )
    assert run.returncode == 0
    assert run.value("BLOCKED_HOSTS") == "[]"
    session_id = run.value("SESSION_ID")
    assert session_id and UUID_PATTERN.fullmatch(session_id)

    export = tracewell.export(session_id)

    session = export["session"]
    assert session["end_state"] == "Indeterminate"
    assert session["tags"] == ["noend"]
    check_timestamps(session, end_expected=False)
    assert len(export["tools"]) == 1
    tool = export["tools"][0]
    assert tool["name"] == "t1"
    assert tool["params"] == {"x": 1}
    assert tool["returns"] == 2
    assert tracewell.stats(session_id)["events"] == 1

    listing = tracewell.cli("sessions", "list")
    session_lines = [line for line in listing.splitlines() if session_id in line]
    assert len(session_lines) == 1, f"session {session_id} not listed once:\n{listing}"
    assert "Indeterminate" in session_lines[0]
