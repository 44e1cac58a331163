"""An agent run with every kind of event the AgentOps SDK 0.3.26 records.

Reads AGENTOPS_API_ENDPOINT, AGENTOPS_API_KEY and OPENAI_BASE_URL. Prints
SESSION_ID=<id> and AGENT_ID=<id> lines for the test.
"""

import os

import loopback_guard  # noqa: F401  (must come before any network use)
import openai  # imported before agentops.init() so that the SDK instruments it

import agentops
from agentops import ActionEvent, ErrorEvent, ToolEvent, record_tool, record_action, track_agent

# agentops 0.3.26 requests its latest version from PyPI in a thread on every init().
# The tests send traffic only to local servers, so the check is switched off.
agentops.check_agentops_update = lambda: None


@track_agent(name="researcher")
class Researcher:
    @record_action("lookup")
    def lookup(self, query, depth=2):
        return {"query": query, "hits": 3}


@record_tool("calculator")
def add(a, b):
    return a + b


@record_tool("divider")
def divide(a, b):
    return a / b


session = agentops.init(
    api_key=os.environ["AGENTOPS_API_KEY"],
    endpoint=os.environ["AGENTOPS_API_ENDPOINT"],
    max_wait_time=500,
    default_tags=["e2e", "v0.3.26"],
)
print(f"SESSION_ID={session.session_id}", flush=True)

researcher = Researcher()
print(f"AGENT_ID={researcher.agentops_agent_id}", flush=True)

agentops.add_tags(["added-later"])

client = openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-test")
client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Capital of France?"}],
)

researcher.lookup("capital of France")
# The SDK does not find the agent of a decorated method by itself, so this
# event names its agent explicitly.
agentops.record(
    ActionEvent(
        action_type="plan",
        params={"steps": 2},
        returns="done",
        logs="planning",
        agent_id=researcher.agentops_agent_id,
    )
)
agentops.record(
    ToolEvent(name="web_search", params={"q": "france capital"}, returns=["Paris"], logs="ok")
)
add(2, 3)
try:
    divide(1, 0)
except ZeroDivisionError:
    pass
agentops.record(ErrorEvent(error_type="ValueError", code="E42", details="bad input", logs="trace here"))

agentops.end_session("Success", end_state_reason="demo finished")
