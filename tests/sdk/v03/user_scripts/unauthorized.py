"""An agent run whose API key the server never issued.

Reads AGENTOPS_API_ENDPOINT, AGENTOPS_API_KEY and OPENAI_BASE_URL. Prints
SESSION=None when the SDK could not start a session.
"""

import os

import loopback_guard  # noqa: F401  (must come before any network use)
import openai  # imported before agentops.init() so that the SDK instruments it

import agentops
from agentops import ActionEvent

# agentops 0.3.26 requests its latest version from PyPI in a thread on every init().
# The tests send traffic only to local servers, so the check is switched off.
agentops.check_agentops_update = lambda: None

session = agentops.init(
    api_key=os.environ["AGENTOPS_API_KEY"],
    endpoint=os.environ["AGENTOPS_API_ENDPOINT"],
    max_wait_time=500,
    default_tags=["unauthorized"],
)
print(f"SESSION={session}", flush=True)

client = openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-test")
client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Capital of France?"}],
)
agentops.record(ActionEvent(action_type="plan", params={"steps": 1}, returns="done"))
agentops.add_tags(["added-later"])
agentops.end_session("Success")
