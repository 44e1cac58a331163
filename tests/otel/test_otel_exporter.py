"""End-to-end tests: a plain OpenTelemetry SDK (no AgentOps code) exporting traces to tracewell.

Protobuf requests come from the real OTLP/HTTP exporter, with gzip on and off
through its `compression` option. The Python exporter has no JSON encoding, so
OTLP/JSON requests are built by hand. The exporter's own protobuf encoder turns
the SDK's spans into an ExportTraceServiceRequest, which is rewritten as
OTLP/JSON (hex ids) and posted with `requests`, gzip on and off.
"""

import base64
import gzip
import json

import pytest
import requests
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode


def run_checkout(exporter):
    """Record one trace of four spans through a real TracerProvider and return its trace id in hex.

    checkout (SERVER, every attribute value type)
      db.query (CLIENT)
      payment (status ERROR, with an exception event)
        chat gpt-4o-mini (CLIENT, GenAI semantic conventions)
    """
    provider = TracerProvider(resource=Resource.create({"service.name": "otel-e2e", "deployment.environment": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.checkout", "2.0.0")

    attributes = {
        "app.text": "héllo",
        "app.flag": True,
        "app.count": 42,
        "app.ratio": 0.5,
        "app.tags": ["a", "b"],
        "app.sizes": [1, 2, 3],
        "app.ratios": [0.5, 1.5],
        "app.flags": [True, False],
    }
    with tracer.start_as_current_span("checkout", kind=SpanKind.SERVER, attributes=attributes) as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("db.query", kind=SpanKind.CLIENT) as query:
            query.set_attribute("db.system", "sqlite")
        with tracer.start_as_current_span("payment") as payment:
            with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as chat:
                chat.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.system": "openai",
                        "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                        "gen_ai.usage.input_tokens": 120,
                        "gen_ai.usage.output_tokens": 30,
                    }
                )
                chat.set_status(Status(StatusCode.OK))
            payment.record_exception(ValueError("card declined"))
            payment.set_status(Status(StatusCode.ERROR, "card declined"))

    assert provider.force_flush()
    provider.shutdown()
    return trace_id


def check_checkout_trace(tracewell, token, trace_id):
    trace = tracewell.public(f"/traces/{trace_id}", token)
    spans = {span["span_name"]: span for span in trace["spans"]}
    assert sorted(spans) == ["chat gpt-4o-mini", "checkout", "db.query", "payment"]
    root, query, payment, chat = (spans[name] for name in ("checkout", "db.query", "payment", "chat gpt-4o-mini"))
    assert root["parent_span_id"] is None
    assert query["parent_span_id"] == root["span_id"]
    assert payment["parent_span_id"] == root["span_id"]
    assert chat["parent_span_id"] == payment["span_id"]

    assert root["otel_kind"] == "SERVER"
    assert query["otel_kind"] == "CLIENT"
    assert payment["status_code"] == "ERROR"
    assert payment["status_message"] == "card declined"
    assert chat["status_code"] == "OK"
    assert chat["type"] == "llm"
    assert root["status_code"] == "UNSET"
    for span in spans.values():
        assert span["duration"] >= 0, span

    app = root["span_attributes"]["app"]
    assert app == {
        "text": "héllo",
        "flag": True,
        "count": 42,
        "ratio": 0.5,
        "tags": ["a", "b"],
        "sizes": [1, 2, 3],
        "ratios": [0.5, 1.5],
        "flags": [True, False],
    }
    assert trace["tree"][0]["span_name"] == "checkout"
    assert [child["span_name"] for child in trace["tree"][0]["children"]] == ["db.query", "payment"]

    detail = tracewell.public(f"/spans/{payment['span_id']}", token)
    assert detail["resource_attributes"]["service"]["name"] == "otel-e2e"
    assert detail["resource_attributes"]["deployment"]["environment"] == "test"
    assert detail["scope"] == {"name": "tests.checkout", "version": "2.0.0"}
    exception = detail["events"][0]
    assert exception["name"] == "exception"
    assert exception["attributes"]["exception.type"] == "ValueError"
    assert exception["attributes"]["exception.message"] == "card declined"

    metrics = tracewell.public(f"/traces/{trace_id}/metrics", token)
    assert metrics["span_count"] == 4
    assert metrics["success_count"] == 1
    assert metrics["fail_count"] == 1
    assert metrics["indeterminate_count"] == 2
    assert metrics["prompt_tokens"] == 120
    assert metrics["completion_tokens"] == 30
    assert metrics["total_tokens"] == 150
    assert metrics["total_cost"] != "0.0000000", "gpt-4o-mini is priced"
    assert metrics["duration"] == root["duration"]

    # A trace is a session of the REST API too, named after its root span.
    export = tracewell.export(trace_id)
    assert export["session"]["name"] == "checkout"
    assert export["session"]["end_state"] == "Indeterminate"
    assert len(export["llms"]) == 1
    assert export["llms"][0]["model"] == "gpt-4o-mini-2024-07-18"
    listing = tracewell.cli("sessions", "list")
    assert export["session"]["id"] in listing
    assert tracewell.error_lines() == []


class RecordingSession(requests.Session):
    """A requests session that keeps the headers and status of every request it sends."""

    def __init__(self):
        super().__init__()
        self.sent = []
        self.hooks["response"].append(self._record)

    def _record(self, response, *args, **kwargs):
        self.sent.append((response.request.headers, response.status_code))


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip], ids=["plain", "gzip"])
def test_protobuf_exporter_lands_trace(tracewell, token, compression):
    session = RecordingSession()
    exporter = OTLPSpanExporter(
        endpoint=tracewell.traces_url,
        headers={"Authorization": f"Bearer {token}"},
        compression=compression,
        session=session,
    )

    trace_id = run_checkout(exporter)

    assert session.sent, "the exporter sent nothing"
    for headers, status in session.sent:
        assert status == 200
        assert headers["Content-Type"] == "application/x-protobuf"
        expected_encoding = "gzip" if compression == Compression.Gzip else None
        assert headers.get("Content-Encoding") == expected_encoding
    check_checkout_trace(tracewell, token, trace_id)


def test_exporter_configured_by_environment(tracewell, token, monkeypatch):
    # What a user of any OpenTelemetry SDK sets; the header value is
    # percent-encoded, as the OpenTelemetry specification requires.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", tracewell.traces_url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", f"Authorization=Bearer%20{token}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    session = RecordingSession()

    trace_id = run_checkout(OTLPSpanExporter(session=session))

    assert [status for _, status in session.sent] == [200] * len(session.sent)
    assert all(headers.get("Content-Encoding") == "gzip" for headers, _ in session.sent)
    check_checkout_trace(tracewell, token, trace_id)


def to_otlp_json(message):
    """Rewrite a protobuf ExportTraceServiceRequest as OTLP/JSON.

    The protobuf JSON mapping writes bytes as base64, but OTLP/JSON writes
    trace and span ids as hex. Enums stay names (SPAN_KIND_CLIENT), which
    OTLP/JSON receivers must accept, and 64-bit integers stay strings.
    """
    request = MessageToDict(message)
    for resource_spans in request["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for field in ("traceId", "spanId", "parentSpanId"):
                    if field in span:
                        span[field] = base64.b64decode(span[field]).hex()
    return request


class OtlpJsonExporter(SpanExporter):
    """Posts spans as OTLP/JSON with `requests`, gzip-compressed when asked."""

    def __init__(self, endpoint, token, use_gzip):
        self.endpoint = endpoint
        self.token = token
        self.use_gzip = use_gzip
        self.responses = []

    def export(self, spans):
        body = json.dumps(to_otlp_json(encode_spans(spans))).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        if self.use_gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        response = requests.post(self.endpoint, data=body, headers=headers, timeout=10)
        self.responses.append(response)
        return SpanExportResult.SUCCESS if response.ok else SpanExportResult.FAILURE

    def shutdown(self):
        pass


@pytest.mark.parametrize("use_gzip", [False, True], ids=["plain", "gzip"])
def test_otlp_json_lands_trace(tracewell, token, use_gzip):
    exporter = OtlpJsonExporter(tracewell.traces_url, token, use_gzip)

    trace_id = run_checkout(exporter)

    assert exporter.responses, "the exporter sent nothing"
    for response in exporter.responses:
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {}
    check_checkout_trace(tracewell, token, trace_id)


def test_unknown_token_stores_nothing(tracewell):
    session = RecordingSession()
    exporter = OTLPSpanExporter(
        endpoint=tracewell.traces_url,
        headers={"Authorization": "Bearer not-a-token"},
        session=session,
    )

    trace_id = run_checkout(exporter)

    assert session.sent, "the exporter sent nothing"
    assert all(status == 401 for _, status in session.sent)
    response = tracewell.get(f"/v2/sessions/{trace_id}/export", {"X-Agentops-Api-Key": tracewell.api_key})
    assert response.status_code == 404
