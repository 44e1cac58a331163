"""Fixtures for the end-to-end tests with the AgentOps SDK 0.4.21.

The SDK runs in a user script in a subprocess, as in a real program, against
a tracewell server started on 127.0.0.1 with a fresh data folder.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python_support"))

from tracewell_server import running_tracewell  # noqa: E402

USER_SCRIPTS = Path(__file__).resolve().parent / "user_scripts"
SCRIPT_TIMEOUT_S = 120


@pytest.fixture
def tracewell(tmp_path):
    with running_tracewell(tmp_path) as server:
        yield server


# The one mocked component: we do not ship OpenAI, and tests reach no public
# host, so a local server replaces the OpenAI chat completions API. The SDK's
# OpenAI instrumentation still wraps the real openai==1.109.1 client.
FAKE_COMPLETION = {
    "id": "chatcmpl-e2e-0001",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_e2e",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": None,
            "message": {"role": "assistant", "content": "Paris is the capital of France.", "refusal": None},
        }
    ],
    "usage": {
        "prompt_tokens": 21,
        "completion_tokens": 8,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}


@dataclass
class FakeOpenAI:
    base_url: str
    received: list = field(default_factory=list)


@pytest.fixture
def fake_openai():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            received.append({"path": self.path, "body": json.loads(self.rfile.read(length) or b"null")})
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            body = json.dumps(FAKE_COMPLETION).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address
    try:
        yield FakeOpenAI(f"http://{host}:{port}/v1", received)
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class ScriptRun:
    returncode: int
    output: str

    def value(self, name):
        """Return the value of the last NAME=value line the script printed, or None."""
        matches = re.findall(rf"^{re.escape(name)}=(.*)$", self.output, re.MULTILINE)
        return matches[-1].strip() if matches else None

    def json_value(self, name):
        text = self.value(name)
        assert text is not None, f"the script printed no {name}= line"
        return json.loads(text)


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def run_user_script(name, *, cwd, tracewell, api_key=None, openai_base_url=None):
    """Run user_scripts/NAME with this venv's Python and return its exit code and output.

    The SDK is configured the way a user of a self-hosted server configures it:
    AGENTOPS_API_ENDPOINT for the REST calls and AGENTOPS_EXPORTER_ENDPOINT for
    the spans. stdout and stderr are merged, because the SDK logs to stderr.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AGENTOPS_", "OPENAI_", "OTEL_"))}
    env.update(
        {
            "AGENTOPS_API_ENDPOINT": tracewell.base_url,
            "AGENTOPS_EXPORTER_ENDPOINT": tracewell.traces_url,
            "AGENTOPS_APP_URL": tracewell.base_url,
            "AGENTOPS_API_KEY": api_key or tracewell.api_key,
            "OPENAI_API_KEY": "sk-test",
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
        }
    )
    if openai_base_url is not None:
        env["OPENAI_BASE_URL"] = openai_base_url
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(USER_SCRIPTS / name)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=cwd,
        timeout=SCRIPT_TIMEOUT_S,
    )
    output = ANSI_ESCAPE.sub("", result.stdout)
    print(f"--- {name} ({time.monotonic() - started:.1f} s, exit {result.returncode}) ---\n{output}")
    return ScriptRun(result.returncode, output)

