"""An agent run recorded by the real AgentOps SDK 0.3.26, for the browser tests.

Reads AGENTOPS_API_ENDPOINT, AGENTOPS_API_KEY, OPENAI_BASE_URL, and
RUN_END_STATE (Success or Fail) and RUN_TAG (one extra tag). Prints a
SESSION_ID=<id> line. Every connection to a host other than loopback fails,
so the run cannot reach the internet.
"""

import ipaddress
import os
import socket

_connect = socket.socket.connect


def _loopback_only(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise OSError(f"blocked connection to non-loopback host {host!r}")
    return _connect(self, address)


socket.socket.connect = _loopback_only

import openai  # noqa: E402  (imported before agentops.init() so the SDK instruments it)

import agentops  # noqa: E402
from agentops import ErrorEvent, record_tool, track_agent  # noqa: E402

# agentops 0.3.26 requests its latest version from PyPI on every init(), but
# the tests talk only to local servers.
agentops.check_agentops_update = lambda: None

# A prompt that would run script if the dashboard inserted it as HTML.
HOSTILE_PROMPT = (
    'What is the capital of France? <script>window.__tracewellXss = "script"</script>'
    '<img src="x" onerror="window.__tracewellXss = \'img\'">'
)


@track_agent(name="researcher")
class Researcher:
    def ask(self, client, question):
        return client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "You answer geography questions."},
                {"role": "user", "content": question},
            ],
        )


@record_tool("calculator")
def add(a, b):
    return {"sum": a + b, "inputs": [a, b]}


session = agentops.init(
    api_key=os.environ["AGENTOPS_API_KEY"],
    endpoint=os.environ["AGENTOPS_API_ENDPOINT"],
    max_wait_time=300,
    default_tags=["browser-test", os.environ.get("RUN_TAG", "run"), "<b>bold-tag</b>"],
)
print(f"SESSION_ID={session.session_id}", flush=True)

client = openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-test")
researcher = Researcher()
researcher.ask(client, HOSTILE_PROMPT)
add(2, 3)
agentops.record(
    ErrorEvent(
        error_type="ValueError",
        code="E42",
        details="the tool got a negative count",
        logs='Traceback (most recent call last):\n  File "agent.py", line 3\nValueError: negative count',
    )
)
end_state = os.environ.get("RUN_END_STATE", "Success")
agentops.end_session(end_state, end_state_reason=f"browser test run ended with {end_state}")
