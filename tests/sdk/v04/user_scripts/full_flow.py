"""An agent run with the AgentOps SDK 0.4.21: every decorator, an LLM call, nested traces and each end state.

Reads AGENTOPS_API_ENDPOINT, AGENTOPS_EXPORTER_ENDPOINT, AGENTOPS_API_KEY and
OPENAI_BASE_URL. Prints NAME=value lines for the test: the trace id of each
trace as 32 hex digits, and VALIDATION, the result of the SDK's own
validate_trace_spans helper pointed at this server.
"""

import json
import os
import time

import loopback_guard  # noqa: F401  (must come before any network use)
import openai  # imported before agentops.init() so that the SDK instruments it

import agentops
from agentops import TraceState, agent, task, tool, trace
from opentelemetry.trace import get_current_span

TOKEN_WAIT_S = 20


def trace_id(context):
    return format(context.span.get_span_context().trace_id, "032x")


def current_trace_id():
    return format(get_current_span().get_span_context().trace_id, "032x")


def wait_for_project_token():
    """Wait until the SDK's background thread has its token from /v3/auth/token.

    SDK 0.4.21 fetches the token asynchronously and sends spans without
    Authorization until it arrives; the server rejects those with 401, and
    OpenTelemetry drops them. A real program loses its first batch the same
    way when the server is slow to respond.
    """
    deadline = time.monotonic() + TOKEN_WAIT_S
    while agentops.get_client().get_current_jwt() is None:
        if time.monotonic() > deadline:
            raise SystemExit("no project token from /v3/auth/token")
        time.sleep(0.05)


client = openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-test")


@task
def think(question):
    response = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}],
        temperature=0.2,
    )
    return response.choices[0].message.content


@tool(cost=0.01)
def calculator(a, b):
    return a + b


@task
def summarise(answer, total):
    return f"{answer} ({total})"


@agent
def researcher(question):
    answer = think(question)
    total = calculator(1, 1)
    return summarise(answer, total)


@trace(name="decorated-trace", tags=["decorated"])
def decorated_run():
    print(f"DECORATED_TRACE={current_trace_id()}")
    return calculator(2, 3)


@trace(name="failing-trace")
def failing_run():
    print(f"FAILING_TRACE={current_trace_id()}")
    calculator(4, 5)
    raise ValueError("planned failure")


@tool
def broken_tool():
    raise RuntimeError("tool failed")


agentops.init(
    auto_start_session=False,
    default_tags=["e2e"],
    log_level="WARNING",
)
wait_for_project_token()

# The first trace started in the process: its root span's end uploads the
# printed output to /v4/logs/upload/, keyed by this trace's id.
main = agentops.start_trace("capture-trace", tags=["e2e", "v0.4.21"])
print(f"MAIN_TRACE={trace_id(main)}")
print("hello from user code")
RESULT = researcher("Capital of France?")
print(f"RESULT={RESULT}")
try:
    broken_tool()
except RuntimeError:
    pass
agentops.end_trace(main, "Success")

decorated_run()
try:
    failing_run()
except ValueError:
    pass

outer = agentops.start_trace("outer-trace", tags=["outer"])
inner = agentops.start_trace("inner-trace", tags=["inner"])
print(f"OUTER_TRACE={trace_id(outer)}")
print(f"INNER_TRACE={trace_id(inner)}")
calculator(6, 7)
agentops.end_trace(inner, "Fail")
agentops.end_trace(outer, "Success")

END_STATES = {
    "state-fail": "Fail",
    "state-indeterminate": "Indeterminate",
    "state-custom": "Stopped by operator",
    "state-enum": TraceState.ERROR,
}
for name, end_state in END_STATES.items():
    context = agentops.start_trace(name)
    print(f"TRACE_{name.replace('-', '_').upper()}={trace_id(context)}")
    calculator(1, 2)
    agentops.end_trace(context, end_state)

# validate_trace_spans() calls https://api.agentops.ai, a URL the SDK does not
# let a user change, so its requests are sent to this server instead.
HOSTED_API = "https://api.agentops.ai"
LOCAL_API = os.environ["AGENTOPS_API_ENDPOINT"]

import aiohttp  # noqa: E402
import agentops.validation as validation  # noqa: E402
import requests  # noqa: E402

_aiohttp_post = aiohttp.ClientSession.post


def _local_aiohttp_post(self, url, *args, **kwargs):
    return _aiohttp_post(self, str(url).replace(HOSTED_API, LOCAL_API), *args, **kwargs)


class _LocalRequests:
    exceptions = requests.exceptions

    @staticmethod
    def get(url, *args, **kwargs):
        return requests.get(url.replace(HOSTED_API, LOCAL_API), *args, **kwargs)


aiohttp.ClientSession.post = _local_aiohttp_post
validation.requests = _LocalRequests

result = agentops.validate_trace_spans(trace_id=trace_id(main), max_retries=5, retry_delay=0.5)
summary = {
    "span_count": result["span_count"],
    "has_llm_spans": result["has_llm_spans"],
    "span_names": sorted(span["span_name"] for span in result["spans"]),
    "metrics": result["metrics"],
    "skipped": result.get("validation_skipped", False),
}
print("VALIDATION=" + json.dumps(summary))
