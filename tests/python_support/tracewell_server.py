"""Start the real tracewell binary for a Python end-to-end test and read what it stored.

Nothing is built here: scripts/test.sh builds the binary first. The binary is
taken from TRACEWELL_BIN, else from $CARGO_TARGET_DIR/debug/tracewell, else
from target/debug/tracewell in the repository.
"""

import contextlib
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING_LINE = re.compile(r"tracewell listening on (http://\S+)")
STARTUP_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 10


def tracewell_binary():
    if "TRACEWELL_BIN" in os.environ:
        return Path(os.environ["TRACEWELL_BIN"])
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    if not target_dir.is_absolute():
        target_dir = REPO_ROOT / target_dir
    return target_dir / "debug" / "tracewell"


def run_cli(*args, data_dir):
    """Run a tracewell subcommand on data_dir and return its stdout."""
    result = subprocess.run(
        [str(tracewell_binary()), *args, "--data-dir", str(data_dir)],
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


def expect_json(response, request_description):
    assert response.status_code == 200, f"{request_description}: {response.status_code} {response.text}"
    return response.json()


@dataclass
class Tracewell:
    """A running tracewell server on its own data folder, with one API key of project "default"."""

    base_url: str
    api_key: str
    data_dir: Path
    log_path: Path

    @property
    def traces_url(self):
        return self.base_url + "/v1/traces"

    def get(self, path, headers):
        return requests.get(self.base_url + path, headers=headers, timeout=REQUEST_TIMEOUT_S)

    def export(self, session_id):
        """GET /v2/sessions/{id}/export with the API key."""
        response = self.get(f"/v2/sessions/{session_id}/export", {"X-Agentops-Api-Key": self.api_key})
        return expect_json(response, f"export of {session_id}")

    def stats(self, session_id):
        response = self.get(f"/v2/sessions/{session_id}/stats", {"X-Agentops-Api-Key": self.api_key})
        return expect_json(response, f"stats of {session_id}")

    def project_token(self):
        """Trade the API key for a project token, as SDK 0.4 and plain OpenTelemetry clients do."""
        response = requests.post(
            self.base_url + "/v3/auth/token", json={"api_key": self.api_key}, timeout=REQUEST_TIMEOUT_S
        )
        return expect_json(response, "POST /v3/auth/token")["token"]

    def public(self, path, token):
        """GET a /public/v1 path with a project token and return the JSON of its 200."""
        response = self.get("/public/v1" + path, {"Authorization": f"Bearer {token}"})
        return expect_json(response, f"GET /public/v1{path}")

    def cli(self, *args):
        return run_cli(*args, data_dir=self.data_dir)

    def error_lines(self):
        """Lines the server logged at level ERROR, such as a request that failed with a 5xx."""
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if " ERROR " in line]


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


@contextlib.contextmanager
def running_tracewell(tmp_path):
    """Create an API key on a fresh data folder, serve it on 127.0.0.1:0, and stop the server at exit."""
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
