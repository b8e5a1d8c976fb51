"""OpenTelemetry: spans for requests and sweeps, metrics from the audit trail, exported in memory
and over OTLP to a collector stand-in on loopback. Every field carries a sentinel, and no span,
attribute, resource or metric label holds it, a client's name or birth date, or a user's id."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import signal
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from aiohttp import web

from bot import telemetry
from bot.adapters.clock import FixedClock
from tests.e2e.conftest import ATLAS, BRUSSELS, ELS, VDAB
from tests.e2e.flows import identify, receive
from tests.support.connector import FakeConnector
from tests.support.process import ROOT, Bot
from tests.support.teams import Harness, capture_logs

S = "Qzxsentinel"
CONTENT = {
    "jobdoelwit": f"{S} magazijn",
    "eerstvolgende_contact": "2026-12-03",
    "eerstvolgende_contact_tijd": "10:30",
    "stappen": "stage,opleiding",
    "partner": f"{S} partner",
    "toelichting": f"{S} toelichting met details",
}
PRIVATE = (S, "Amina", "Idrissi", "1990-04-12", "12/04/1990", "aad-bram", ELS, "Bram")


@pytest.fixture
def exported():
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry.enable(tracer_provider, MeterProvider(metric_readers=[metrics]))
    yield spans, metrics
    telemetry.disable()


@pytest.fixture
async def traced(tmp_path, exported):
    async with FakeConnector() as connector:
        h = Harness(tmp_path, connector, FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=BRUSSELS)),
                    env={"BOT_DELIVERY_TIMEOUT_SECONDS": "1"})
        handler = capture_logs(h.log_stream)
        logging.getLogger().addHandler(handler)
        await h.start()
        try:
            yield h, *exported
        finally:
            await h.close()
            logging.getLogger().removeHandler(handler)


def metric_points(reader) -> dict[str, list[tuple[dict, float]]]:
    points: dict[str, list[tuple[dict, float]]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = point.count  # a histogram: how many were recorded
                    points.setdefault(metric.name, []).append((dict(point.attributes), value))
    return points


async def test_a_whole_flow_leaves_spans_and_metrics_without_client_data(traced):
    h, spans, metrics = traced
    counsellor, els = h.user("aad-bram", VDAB, "Bram Bemiddelaar"), h.user(ELS, ATLAS, "Els Peeters")
    await counsellor.say(f"terugkoppeling {S}")
    await counsellor.say("terugkoppeling")
    await counsellor.click("identificeer", {"naam": f"{S} Janssens", "geboortedatum": "1980-01-01"})  # unknown
    await counsellor.click("herbegin")
    card = await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    if "bevestig_herhaling" in [a.get("verb") for a in card.get("actions", [])]:
        await counsellor.click("bevestig_herhaling")
    await counsellor.click("bekijk", CONTENT)
    h.connector.fail(method="POST", path_is="/v3/conversations", status=503)  # queued: deferred 503
    await counsellor.click("verstuur")
    with telemetry.sweep_step("deliver", count=1):  # as the sweep's steps call it
        await h.sweep(h.clock.now() + timedelta(minutes=5))
    card = receive(els)
    await els.click("overgezet", card=card)
    await h.post({"type": "message", "text": S})  # an odd activity, refused

    finished = spans.get_finished_spans()
    names = {span.name for span in finished}
    assert "POST /api/messages" in names and "sweep.deliver" in names
    statuses = {span.attributes.get("http.response.status_code") for span in finished
                if span.name == "POST /api/messages"}
    assert 200 in statuses
    points = metric_points(metrics)
    events = {(labels["event"], labels.get("agency"), labels.get("status")) for labels, _ in
              points["terugkoppeling.audit.events"]}
    assert ("sent", "atlas", None) in events and ("transferred", "atlas", None) in events
    assert ("delivery_deferred", "atlas", "503") in events
    attempts = {(labels["outcome"], labels.get("status")) for labels, _ in points["terugkoppeling.delivery.attempts"]}
    assert ("deferred", "503") in attempts and ("sent", None) in attempts
    assert points["terugkoppeling.directory.duration"]  # look-ups timed
    assert points["terugkoppeling.http.requests"]
    label_keys = {key for series in points.values() for labels, _ in series for key in labels}
    assert label_keys <= {"event", "agency", "status", "outcome", "route", "step"}

    everything = "\n".join(span.to_json() for span in finished) + metrics.get_metrics_data().to_json()
    for private in PRIVATE:
        assert private not in everything, private


def test_off_by_default_and_nothing_of_opentelemetry_is_imported():
    code = ("import sys; from bot import __main__, telemetry; "
            "assert telemetry.setup({}) == [] and not telemetry.enabled(); "
            "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'azure.monitor'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    assert out.strip() == "[]"


class Collector:
    """An OTLP/HTTP collector stand-in on loopback: keeps every export request it receives."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Collector:
        app = web.Application()

        async def receive(request: web.Request) -> web.Response:
            body = await request.read()
            if request.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            self.requests.append((request.path, body))
            return web.Response(body=b"", content_type="application/x-protobuf")

        app.router.add_post("/v1/{signal}", receive)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    def spans(self) -> list[dict]:
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        found = []
        for path, body in self.requests:
            if path == "/v1/traces":
                message = ExportTraceServiceRequest()
                message.ParseFromString(body)
                for resource in MessageToDict(message).get("resourceSpans", []):
                    for scope in resource.get("scopeSpans", []):
                        found.extend({**span, "resource": resource.get("resource")} for span in scope.get("spans", []))
        return found


async def test_the_server_exports_over_otlp_and_flushes_on_sigterm(tmp_path):
    async with Collector() as collector, FakeConnector() as connector:
        bot = Bot(tmp_path, connector, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, BOT_LOG_LEVEL="INFO",
                  OTEL_METRIC_EXPORT_INTERVAL="500")
        harness = Harness(tmp_path, connector, FixedClock(datetime.now(BRUSSELS)),
                          external_url=bot.url)
        counsellor = harness.user("aad-bram", VDAB, "Bram")
        try:
            bot.start()
            await identify(counsellor, "Amina El Idrissi", "1990-04-12")
            assert bot.process is not None
            bot.process.send_signal(signal.SIGTERM)
            for _ in range(100):
                if bot.process.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            assert bot.process.returncode == 0
        finally:
            bot.stop()
            if harness.http:
                await harness.http.close()
        spans = collector.spans()
        names = {span["name"] for span in spans}
        assert "POST /api/messages" in names and "GET /healthz" in names
        assert any(a["key"] == "service.name" and a["value"]["stringValue"] == "terugkoppeling-bot"
                   for a in spans[0]["resource"]["attributes"])
        assert any(path == "/v1/metrics" for path, _ in collector.requests)
        everything = json.dumps(spans) + "".join(body.decode("latin-1") for _, body in collector.requests)
        for private in PRIVATE:
            assert private not in everything, private
        assert '"msg": "telemetry on", "mode": "otlp"' in bot.output.read_text()
