"""Fixtures for the end-to-end tests with a plain OpenTelemetry SDK client.

The OpenTelemetry SDK runs in the test process and exports to a tracewell
server started on 127.0.0.1 with a fresh data folder.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python_support"))

from tracewell_server import running_tracewell  # noqa: E402


@pytest.fixture
def tracewell(tmp_path):
    with running_tracewell(tmp_path) as server:
        yield server


@pytest.fixture
def token(tracewell):
    """A project token from POST /v3/auth/token, as a plain OpenTelemetry user gets one."""
    return tracewell.project_token()
