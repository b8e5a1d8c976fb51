"""The aiohttp application: ``POST /api/messages`` for Teams, ``GET /healthz`` and ``GET /readyz`` for probes.

It checks the request's shape and size, then hands the parsed body to the Teams endpoint; it
knows nothing of botbuilder. ``serve`` runs it with limits against slow and silent clients:
a deadline for the request head and for the body, an idle (keep-alive) timeout and a
connection cap that, when full, closes the longest-idle connection to make room.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # a Teams activity with a full card is a few KB
MAX_DEPTH = 64  # a Teams activity nests about 10 deep; deeper is not an activity (and recursion is not free)
Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
Middleware = Callable[[web.Request, Callable[[web.Request], Awaitable[web.StreamResponse]]],
                      Awaitable[web.StreamResponse]]


class Endpoint(Protocol):
    async def handle(self, body: dict[str, Any], auth_header: str) -> tuple[int, object | None]:
        """Process one activity; return the HTTP status and the JSON body (or None)."""
        ...


@dataclass(frozen=True)
class ServerLimits:
    """Seconds and counts; the defaults survive hundreds of half-open and silent sockets."""

    header_timeout: float = 10.0  # from connect (or the last response) to a complete request head
    body_timeout: float = 15.0  # to read the whole body once the head is in
    idle_timeout: float = 30.0  # keep-alive: an idle connection after a response
    max_connections: int = 512
    max_header_bytes: int = 8190  # per header line and per field (aiohttp's parser)
    max_headers: int = 64


@dataclass
class _Connection:
    opened: float
    last: float
    busy: int = 0
    served: int = 0


@dataclass
class ConnectionGuard:
    """Tracks every connection of one server; closes those that send nothing in time and keeps
    their number under the cap. aiohttp itself has no deadline for a request head."""

    limits: ServerLimits
    connections: dict[RequestHandler, _Connection] = field(default_factory=dict)
    closed_idle: int = 0
    evicted: int = 0
    refused: int = 0

    def opened(self, handler: RequestHandler) -> bool:
        """A new connection; False if it must be refused (every slot busy with a request)."""
        now = time.monotonic()
        if len(self.connections) >= self.limits.max_connections:
            idle = [(c.last, h) for h, c in self.connections.items() if not c.busy]
            if not idle:
                self.refused += 1
                return False
            _, oldest = min(idle, key=lambda pair: pair[0])
            self.evicted += 1
            self._close(oldest)
        self.connections[handler] = _Connection(now, now)
        return True

    def lost(self, handler: RequestHandler) -> None:
        self.connections.pop(handler, None)

    def started(self, handler: object) -> None:
        state = self.connections.get(handler)  # type: ignore[call-overload]
        if state is not None:
            state.busy += 1

    def finished(self, handler: object) -> None:
        state = self.connections.get(handler)  # type: ignore[call-overload]
        if state is not None:
            state.busy -= 1
            state.served += 1
            state.last = time.monotonic()

    def reap(self) -> None:
        """Close connections idle past their deadline: the request head's, or keep-alive's."""
        now = time.monotonic()
        for handler, state in list(self.connections.items()):
            if state.busy:
                continue
            limit = self.limits.idle_timeout if state.served else self.limits.header_timeout
            if now - state.last > limit:
                self.closed_idle += 1
                self._close(handler)

    def _close(self, handler: RequestHandler) -> None:
        self.connections.pop(handler, None)
        handler.force_close()

    async def run(self) -> None:
        interval = max(0.05, min(self.limits.header_timeout, self.limits.idle_timeout) / 4)
        while True:
            await asyncio.sleep(interval)
            self.reap()


GUARD = web.AppKey("connection_guard", ConnectionGuard)


def create_app(
    endpoint: Endpoint, *, health: dict[str, str] | None = None, ready: Readiness | None = None,
    limits: ServerLimits | None = None, middlewares: Iterable[Middleware] = (),
) -> web.Application:
    limits = limits or ServerLimits()
    guard = ConnectionGuard(limits)

    @web.middleware
    async def track(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
        guard.started(request.protocol)
        try:
            return await handler(request)
        finally:
            guard.finished(request.protocol)

    stack: list[Any] = [track, *middlewares]  # the guard's bookkeeping first, then e.g. telemetry
    app = web.Application(client_max_size=MAX_BODY, middlewares=stack)
    app[GUARD] = guard

    def reject(status: int, reason: str) -> web.Response:
        log.info("request rejected", extra={"status": status, "error": reason})  # never the body
        return web.json_response({"error": reason}, status=status)

    async def messages(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return reject(415, "expected application/json")
        try:
            async with asyncio.timeout(limits.body_timeout):
                raw = await request.read()
        except TimeoutError:
            return reject(408, "request body too slow")
        except web.HTTPRequestEntityTooLarge:
            return reject(413, "request body too large")
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return reject(400, "malformed JSON")
        except RecursionError:
            return reject(400, "JSON nested too deeply")
        if not isinstance(body, dict):
            return reject(400, "not an activity")
        if _depth_exceeds(body, MAX_DEPTH):
            return reject(400, "JSON nested too deeply")
        status, payload = await endpoint.handle(body, request.headers.get("Authorization", ""))
        headers = {"Retry-After": "5"} if status == 503 else None
        if payload is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(payload, status=status, headers=headers)

    async def healthz(_: web.Request) -> web.Response:
        """Liveness: the process answers. Cheap; looks at nothing else."""
        return web.json_response({"status": "ok", **(health or {})})

    async def readyz(_: web.Request) -> web.Response:
        """Readiness: the store, the directory and the data key answer (``bot.health``)."""
        if ready is None:
            return web.json_response({"status": "ready", "checks": {}})
        ok, checks = await ready()
        return web.json_response({"status": "ready" if ok else "not ready", "checks": checks},
                                 status=200 if ok else 503, headers=None if ok else {"Retry-After": "5"})

    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether parsed JSON nests deeper than ``limit``, without recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class Server:
    """The app on a TCP port with ``ServerLimits``; ``stop`` stops accepting, lets in-flight
    requests finish (at most ``shutdown_timeout``) and closes every connection."""

    def __init__(self, app: web.Application, host: str, port: int, *, shutdown_timeout: float) -> None:
        self.app, self.host, self.port = app, host, port
        self.guard = app[GUARD]
        self.shutdown_timeout = shutdown_timeout
        limits = self.guard.limits
        self.runner = web.AppRunner(
            # ``stop`` waits for handlers itself; aiohttp's own wait (twice this) is only the last resort.
            app, access_log=None, shutdown_timeout=0.25, keepalive_timeout=limits.idle_timeout,
            max_line_size=limits.max_header_bytes, max_field_size=limits.max_header_bytes,
            max_headers=limits.max_headers,
        )
        self._reaper: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        """Binds the port; raises ``OSError`` (e.g. address in use) with nothing left open."""
        await self.runner.setup()
        server = self.runner.server
        assert server is not None
        made, lost = server.connection_made, server.connection_lost
        guard = self.guard

        def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            if not guard.opened(handler):
                transport.abort()

        def connection_lost(handler: RequestHandler, exc: BaseException | None = None) -> None:
            guard.lost(handler)
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]
        try:
            await web.TCPSite(self.runner, self.host, self.port, backlog=256).start()
        except BaseException:
            await self.stop()
            raise
        self._reaper = asyncio.create_task(guard.run())

    def in_flight(self) -> int:
        return sum(1 for state in self.guard.connections.values() if state.busy)

    async def stop(self) -> None:
        """Stop listening, close idle connections, give requests in flight ``shutdown_timeout``
        seconds to finish, then close the rest. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        for site in list(self.runner.sites):
            await site.stop()
        if self.runner.server is not None:
            self.runner.server.pre_shutdown()  # idle keep-alive connections close now, busy ones after their answer
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max(self.shutdown_timeout / 2, self.shutdown_timeout - 0.5)  # aiohttp: 2 x 0.25 s
            while self.in_flight() and loop.time() < deadline:
                await asyncio.sleep(0.02)
        await self.runner.cleanup()
        if self._reaper is not None:
            self._reaper.cancel()
