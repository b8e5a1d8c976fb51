"""The aiohttp application: ``POST /api/messages`` for Teams, ``GET /healthz`` for probes.

It checks the request's shape and size, then hands the parsed body to the Teams endpoint; it
knows nothing of botbuilder.
"""

from __future__ import annotations

import json
import logging
from typing import Protocol

from aiohttp import web

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # a Teams activity with a full card is a few KB


class Endpoint(Protocol):
    async def handle(self, body: dict, auth_header: str) -> tuple[int, object | None]:
        """Process one activity; return the HTTP status and the JSON body (or None)."""
        ...


def create_app(endpoint: Endpoint, *, health: dict[str, str] | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    def reject(status: int, reason: str) -> web.Response:
        log.info("request rejected", extra={"status": status, "error": reason})  # never the body
        return web.json_response({"error": reason}, status=status)

    async def messages(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return reject(415, "expected application/json")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return reject(400, "malformed JSON")
        except web.HTTPRequestEntityTooLarge:
            return reject(413, "request body too large")
        if not isinstance(body, dict):
            return reject(400, "not an activity")
        status, payload = await endpoint.handle(body, request.headers.get("Authorization", ""))
        headers = {"Retry-After": "5"} if status == 503 else None
        if payload is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(payload, status=status, headers=headers)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", **(health or {})})

    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app
