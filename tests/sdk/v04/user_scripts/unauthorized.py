"""An SDK 0.4.21 run whose API key no project has.

/v3/auth/token returns 403, so the SDK goes on without a token: it still
sends its spans and its log upload, without Authorization, and the server
rejects each with 401. Prints MAIN_TRACE=<32 hex digits> and JWT=<token or None>.
"""

import time

import loopback_guard  # noqa: F401  (must come before any network use)

import agentops
from agentops import tool

# The token request runs in a background thread whose outcome the SDK does
# not report. Two seconds is long enough for it to fail against a local server.
AUTH_SETTLE_S = 2


@tool
def lookup(query):
    return query.upper()


agentops.init(auto_start_session=False, log_level="WARNING")
time.sleep(AUTH_SETTLE_S)
print(f"JWT={agentops.get_client().get_current_jwt()}")

context = agentops.start_trace("unauthorized-trace", tags=["unauth"])
print(f"MAIN_TRACE={format(context.span.get_span_context().trace_id, '032x')}")
print("output that the server must not store")
lookup("paris")
agentops.end_trace(context, "Success")
