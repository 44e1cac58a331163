"""Fixtures for the end-to-end tests with the AgentOps SDK 0.3.26.

Nothing is built here: scripts/test.sh builds the tracewell binary first. The
binary is taken from TRACEWELL_BIN, else from $CARGO_TARGET_DIR/debug/tracewell,
else from target/debug/tracewell in the repository.
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
import requests

REPO_ROOT = Path(__file__).resolve().parents[3]
USER_SCRIPTS = Path(__file__).resolve().parent / "user_scripts"
LISTENING_LINE = re.compile(r"tracewell listening on (http://\S+)")
STARTUP_TIMEOUT_S = 30
SCRIPT_TIMEOUT_S = 120


def tracewell_binary():
    if "TRACEWELL_BIN" in os.environ:
        return Path(os.environ["TRACEWELL_BIN"])
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    if not target_dir.is_absolute():
        target_dir = REPO_ROOT / target_dir
    return target_dir / "debug" / "tracewell"


def run_cli(*args, data_dir):
    """Run a tracewell subcommand on data_dir and return its stdout."""
    binary = tracewell_binary()
    result = subprocess.run(
        [str(binary), *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, (
        f"tracewell {' '.join(args)} exited with {result.returncode}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return result.stdout


@dataclass
class Tracewell:
    """A running tracewell server on its own data folder."""

    base_url: str
    api_key: str
    data_dir: Path
    log_path: Path

    def get(self, path, api_key=None):
        headers = {"X-Agentops-Api-Key": api_key or self.api_key}
        return requests.get(self.base_url + path, headers=headers, timeout=10)

    def export(self, session_id):
        response = self.get(f"/v2/sessions/{session_id}/export")
        assert response.status_code == 200, f"export of {session_id}: {response.status_code} {response.text}"
        return response.json()

    def stats(self, session_id):
        response = self.get(f"/v2/sessions/{session_id}/stats")
        assert response.status_code == 200, f"stats of {session_id}: {response.status_code} {response.text}"
        return response.json()

    def cli(self, *args):
        return run_cli(*args, data_dir=self.data_dir)


def read_first_line(stream, timeout_s):
    """Read one line from stream in a thread, so that a silent server cannot hang the test."""
    lines = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return lines[0] if lines else None


def drain(stream):
    """Keep reading a pipe so that the server never blocks on a full stdout."""
    threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()


@pytest.fixture
def tracewell(tmp_path):
    binary = tracewell_binary()
    assert binary.is_file(), f"tracewell binary not found at {binary}; run `cargo build` first"

    data_dir = tmp_path / "data"
    api_key = run_cli("keys", "create", data_dir=data_dir).strip()
    assert api_key, "tracewell keys create printed no key"

    log_path = tmp_path / "tracewell.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    try:
        first_line = read_first_line(server.stdout, STARTUP_TIMEOUT_S)
        match = LISTENING_LINE.search(first_line or "")
        assert match, f"unexpected first stdout line {first_line!r}; log:\n{log_path.read_text()}"
        drain(server.stdout)
        yield Tracewell(match.group(1), api_key, data_dir, log_path)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


# The one mocked component: we do not ship OpenAI, and tests reach no public
# host, so a local server replaces the OpenAI chat completions API.
FAKE_COMPLETION = {
    "id": "chatcmpl-test-0001",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_test",
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


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def run_user_script(name, *, cwd, endpoint, api_key, openai_base_url=None):
    """Run user_scripts/NAME in cwd with this venv's Python and return its exit code and output.

    stdout and stderr are merged, because the SDK logs to stderr. ANSI colour
    codes are removed.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AGENTOPS_", "OPENAI_"))
    }
    env.update(
        {
            "AGENTOPS_API_ENDPOINT": endpoint,
            "AGENTOPS_API_KEY": api_key,
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
