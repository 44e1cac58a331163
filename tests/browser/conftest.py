"""Fixtures for the dashboard's browser tests.

A fresh tracewell server (binary from TRACEWELL_BIN, else
$CARGO_TARGET_DIR/debug/tracewell, else target/debug/tracewell), sessions
recorded by the real AgentOps SDK 0.3.26 against it with a local stand-in for
the OpenAI API, and Debian's Chromium driven by Playwright. Screenshots go to
target/test-artifacts/screenshots/.
"""

import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "target" / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_PASSWORD = "browser-test-password"
STARTUP_TIMEOUT_S = 30
SCRIPT_TIMEOUT_S = 120


def tracewell_binary():
    if "TRACEWELL_BIN" in os.environ:
        return Path(os.environ["TRACEWELL_BIN"])
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    if not target_dir.is_absolute():
        target_dir = REPO_ROOT / target_dir
    return target_dir / "debug" / "tracewell"


@dataclass
class Server:
    base_url: str
    api_key: str
    data_dir: Path


def read_startup_lines(stream, lines, done):
    """Collects stdout lines until the API key line, then keeps draining."""
    for line in stream:
        lines.append(line)
        if "AGENTOPS_API_KEY=" in line:
            done.set()
    done.set()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    binary = tracewell_binary()
    assert binary.is_file(), f"tracewell binary not found at {binary}; run `cargo build` first"
    data_dir = tmp_path_factory.mktemp("tracewell") / "data"
    log_path = data_dir.parent / "tracewell.log"
    env = dict(os.environ, TRACEWELL_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
    lines, done = [], threading.Event()
    threading.Thread(target=read_startup_lines, args=(process.stdout, lines, done), daemon=True).start()
    try:
        assert done.wait(STARTUP_TIMEOUT_S), f"server printed no API key; log:\n{log_path.read_text()}"
        output = "".join(lines)
        url = re.search(r"tracewell listening on (http://\S+)", output)
        key = re.search(r"AGENTOPS_API_KEY=(\S+)", output)
        assert url and key, f"unexpected server output:\n{output}"
        yield Server(url.group(1), key.group(1), data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# The one mocked component: we do not ship OpenAI, and tests reach no public
# host, so a local server returns chat completions.
def fake_completion(request):
    return {
        "id": "chatcmpl-browser-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {
                    "role": "assistant",
                    "content": "Paris is the capital of France. <b>not bold</b>",
                    "refusal": None,
                },
            }
        ],
        "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40},
    }


@pytest.fixture(scope="session")
def fake_openai():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"null")
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            body = json.dumps(fake_completion(request)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    host, port = httpd.server_address
    try:
        yield f"http://{host}:{port}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run_sdk_agent(server, openai_url, end_state, tag, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTOPS_", "OPENAI_"))}
    env.update(
        AGENTOPS_API_ENDPOINT=server.base_url,
        AGENTOPS_API_KEY=server.api_key,
        OPENAI_BASE_URL=openai_url,
        OPENAI_API_KEY="sk-test",
        RUN_END_STATE=end_state,
        RUN_TAG=tag,
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
    )
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("sdk_agent.py"))],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=cwd,
        timeout=SCRIPT_TIMEOUT_S,
    )
    assert result.returncode == 0, f"SDK run failed ({result.returncode}):\n{result.stdout}"
    match = re.search(r"^SESSION_ID=(\S+)$", result.stdout, re.MULTILINE)
    assert match, f"SDK run printed no session id:\n{result.stdout}"
    return match.group(1)


@pytest.fixture(scope="session")
def sdk_sessions(server, fake_openai, tmp_path_factory):
    """Two sessions recorded by the SDK: one ending Success, one Fail."""
    cwd = tmp_path_factory.mktemp("sdk-run")
    return {
        "success": run_sdk_agent(server, fake_openai, "Success", "run-success", cwd),
        "fail": run_sdk_agent(server, fake_openai, "Fail", "run-fail", cwd),
    }


@pytest.fixture(scope="session")
def browser():
    assert Path(CHROMIUM).is_file(), f"Chromium not found at {CHROMIUM}; apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, server, username="admin", password=ADMIN_PASSWORD):
    page.goto(server.base_url + "/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/overview"))
