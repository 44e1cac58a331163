"""An agent run that records a tool call and exits without end_session().

Reads AGENTOPS_API_ENDPOINT and AGENTOPS_API_KEY. Prints SESSION_ID=<id>.
"""

import os

import loopback_guard  # noqa: F401  (must come before any network use)

import agentops
from agentops import record_tool

# agentops 0.3.26 requests its latest version from PyPI in a thread on every init().
# The tests send traffic only to local servers, so the check is switched off.
agentops.check_agentops_update = lambda: None


@record_tool("t1")
def increment(x):
    return x + 1


session = agentops.init(
    api_key=os.environ["AGENTOPS_API_KEY"],
    endpoint=os.environ["AGENTOPS_API_ENDPOINT"],
    max_wait_time=500,
    default_tags=["noend"],
)
print(f"SESSION_ID={session.session_id}", flush=True)

increment(1)
# No end_session(): the SDK flushes the pending events at exit and sends no
# final update_session.
