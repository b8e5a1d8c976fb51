"""OpenTelemetry for operators: a span for each HTTP request and each sweep step, and metrics.

Off unless ``APPLICATIONINSIGHTS_CONNECTION_STRING`` (Azure Monitor, through
``azure-monitor-opentelemetry``) or ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP over HTTP) is set, or
both; off, every call here is a no-op and nothing of OpenTelemetry is imported.

Nothing that could be client data leaves through it. Span attributes are taken only under the
names in ``ATTRIBUTES`` (ids and counts, strings redacted and cut short); metric labels are only an
audit event's name, its agency and a status code (``503``, ``network``), never a subject, an actor
or a reason's text. The distribution's automatic instrumentations (requests, urllib3, the Azure
SDK: their spans carry URLs) and its log export are switched off.

Metrics (all prefixed ``terugkoppeling.``): ``audit.events`` {event, agency, status};
``delivery.attempts`` {outcome, status}; ``delivery.failures`` {status}; ``handoffs.open`` (a gauge,
see ``observe_open_handoffs``); ``directory.duration`` {outcome} (s); ``sweep.lag`` (s: how late
due work was when a sweep found it); ``sweep.duration`` {step} (s); ``http.requests`` {route,
status}.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

from bot.logs import redact

log = logging.getLogger(__name__)
SERVICE_NAME = "terugkoppeling-bot"
ATTRIBUTES = frozenset({"step", "verb", "status", "event", "agency", "count", "done", "attempt", "outcome",
                        "mode", "error", "route", "method", "batch"})
_STATUS = re.compile(r"\b([1-5]\d\d)\b")
_MAX_TEXT = 64
_INSTRUMENTATIONS = ("azure_sdk", "django", "fastapi", "flask", "httpx", "httpx2", "psycopg2", "requests",
                     "urllib", "urllib3")


class _On:
    """The tracer and the instruments, once telemetry is on."""

    def __init__(self, tracer_provider: Any, meter_provider: Any, owned: Iterable[Any] = ()) -> None:
        self.tracer = tracer_provider.get_tracer("bot")
        meter = meter_provider.get_meter("bot")
        self.owned = list(owned)  # providers this module made, to flush and shut down
        self.events = meter.create_counter("terugkoppeling.audit.events", description="audit events, by name")
        self.attempts = meter.create_counter("terugkoppeling.delivery.attempts",
                                             description="delivery attempts to Teams, by outcome and status")
        self.failures = meter.create_counter("terugkoppeling.delivery.failures",
                                             description="failed delivery attempts, by status")
        self.directory = meter.create_histogram("terugkoppeling.directory.duration", unit="s",
                                                description="client directory look-ups")
        self.lag = meter.create_histogram("terugkoppeling.sweep.lag", unit="s",
                                          description="how late due work was when the sweep found it")
        self.sweep = meter.create_histogram("terugkoppeling.sweep.duration", unit="s",
                                            description="sweep steps, by step")
        self.requests = meter.create_counter("terugkoppeling.http.requests", description="HTTP requests")
        self.open_handoffs: int | None = None

        def observe(_: Any) -> Iterable[Any]:
            from opentelemetry.metrics import Observation

            return [] if self.open_handoffs is None else [Observation(self.open_handoffs)]

        meter.create_observable_gauge("terugkoppeling.handoffs.open", callbacks=[observe],
                                      description="handoffs not yet confirmed, returned or expired")


_on: _On | None = None


def enabled() -> bool:
    return _on is not None


def setup(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Turn telemetry on from the environment; returns the exporters in use (none: it stays off)."""
    connection_string = environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip()
    otlp = bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())
    if not connection_string and not otlp:
        return []
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({} if environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME})
    span_processors, metric_readers = [], []
    if otlp:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        span_processors.append(BatchSpanProcessor(OTLPSpanExporter(timeout=5)))
        metric_readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(timeout=5)))
    if connection_string:
        from azure.monitor.opentelemetry import configure_azure_monitor
        from opentelemetry import metrics, trace

        configure_azure_monitor(
            connection_string=connection_string, resource=resource, disable_logging=True,
            enable_live_metrics=False, enable_performance_counters=False,
            instrumentation_options={name: {"enabled": False} for name in _INSTRUMENTATIONS},
            span_processors=span_processors, metric_readers=metric_readers,
        )
        enable(trace.get_tracer_provider(), metrics.get_meter_provider(), owned=True)
        return ["azure-monitor", *(["otlp"] if otlp else [])]
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    tracer_provider = TracerProvider(resource=resource)
    for processor in span_processors:
        tracer_provider.add_span_processor(processor)
    enable(tracer_provider, MeterProvider(resource=resource, metric_readers=metric_readers), owned=True)
    return ["otlp"]


def enable(tracer_provider: Any, meter_provider: Any, *, owned: bool = False) -> None:
    """Telemetry on, with these providers (``setup`` makes them; tests pass in-memory ones)."""
    global _on
    _on = _On(tracer_provider, meter_provider, (tracer_provider, meter_provider) if owned else ())


def disable() -> None:
    """Off again (tests); flushes and shuts down providers ``setup`` made."""
    global _on
    on, _on = _on, None
    for provider in on.owned if on else ():
        with contextlib.suppress(Exception):
            provider.force_flush(2000)
            provider.shutdown()


shutdown = disable


def _safe(attributes: Mapping[str, object]) -> dict[str, Any]:
    safe: dict[str, Any] = {}
    for key, value in attributes.items():
        if key not in ATTRIBUTES or value is None:
            continue
        if isinstance(value, bool | int | float):
            safe[key] = value
        else:
            safe[key] = redact(str(value))[:_MAX_TEXT]
    return safe


@contextlib.contextmanager
def span(name: str, **attributes: object) -> Iterator[Any]:
    """A span around a block; only ``ATTRIBUTES`` are kept. An exception marks it failed, by type only."""
    if _on is None:
        yield None
        return
    from opentelemetry.trace import Status, StatusCode

    with _on.tracer.start_as_current_span(name, attributes=_safe(attributes), record_exception=False,
                                          set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as error:
            current.set_attribute("error.type", type(error).__name__)
            current.set_status(Status(StatusCode.ERROR))
            raise


def status_of(reason: str | None) -> str | None:
    """A status code in an audit reason (``503``, ``not_installed 403``), or ``network``; else None."""
    if not reason:
        return None
    if reason == "network" or reason.endswith(" network"):
        return "network"
    found = _STATUS.search(reason)
    return found.group(1) if found else None


_DELIVERY = {"sent": "sent", "delivery_deferred": "deferred", "delivery_failed": "failed"}


def count_events(events: Iterable[Any]) -> None:
    """Audit events (``bot.domain.model.AuditEvent``) as metric increments: labels are the event's
    name, its agency and a status code only."""
    if _on is None:
        return
    for event in events:
        name = str(event.event)
        status = status_of(event.reason)
        labels = {"event": name}
        if event.agency is not None:
            labels["agency"] = str(event.agency)
        if status is not None:
            labels["status"] = status
        _on.events.add(1, labels)
        outcome = _DELIVERY.get(name)
        if outcome is not None:
            _on.attempts.add(1, {"outcome": outcome, **({"status": status} if status else {})})
            if outcome != "sent":
                _on.failures.add(1, {"status": status or "unknown"})


def observe_open_handoffs(count: int) -> None:
    """The number of open handoffs, as the store last counted it (the ``handoffs.open`` gauge)."""
    if _on is not None:
        _on.open_handoffs = count


def sweep_lag(seconds: float) -> None:
    if _on is not None:
        _on.lag.record(max(0.0, seconds))


@contextlib.contextmanager
def sweep_step(step: str, **attributes: object) -> Iterator[Any]:
    """A span ``sweep.<step>`` and its duration; for each step of the sweep."""
    if _on is None:
        yield None
        return
    began = time.monotonic()
    try:
        with span(f"sweep.{step}", step=step, **attributes) as current:
            yield current
    finally:
        _on.sweep.record(time.monotonic() - began, {"step": step})


def directory_lookup(seconds: float, outcome: str) -> None:
    if _on is not None:
        _on.directory.record(seconds, {"outcome": outcome})


Handler = Callable[[Any], Awaitable[Any]]


def middleware() -> Callable[[Any, Handler], Awaitable[Any]]:
    """An aiohttp middleware: a span for each request, named by method and route (never the path's
    values, the query or the body), with its status."""
    from aiohttp import web

    @web.middleware
    async def trace_request(request: web.Request, handler: Handler) -> Any:
        if _on is None:
            return await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        status = 500
        with span(f"{request.method} {route}", route=route, method=request.method) as current:
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as error:
                status = error.status
                raise
            finally:
                current.set_attribute("http.request.method", request.method)
                current.set_attribute("http.route", route)
                current.set_attribute("http.response.status_code", status)
                _on.requests.add(1, {"route": route, "status": str(status)})

    return trace_request


class TimedDirectory:
    """A client directory whose look-ups are timed (``directory.duration``); the rest passes through."""

    def __init__(self, directory: Any) -> None:
        self._directory = directory

    async def find(self, identity: Any) -> Any:
        began = time.monotonic()
        outcome = "ok"
        try:
            return await self._directory.find(identity)
        except BaseException as error:
            outcome = type(error).__name__
            raise
        finally:
            directory_lookup(time.monotonic() - began, outcome)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._directory, name)

    def __len__(self) -> int:
        return len(self._directory)


def instrument_store(store: Any) -> Any:
    """Counts the audit events of every write the store makes (``Store.apply`` and
    ``append_audit``), after it succeeded."""
    apply, append = store.apply, store.append_audit

    async def counted_apply(change: Any) -> Any:
        result = await apply(change)
        count_events(change.events)
        return result

    async def counted_append(*events: Any) -> None:
        await append(*events)
        count_events(events)

    store.apply, store.append_audit = counted_apply, counted_append
    return store
