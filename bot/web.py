"""The aiohttp application: ``POST /api/messages`` for Teams, ``GET /healthz`` for probes.

It checks the request's shape and size, then hands the parsed body to the Teams endpoint; it
knows nothing of botbuilder.
"""

from __future__ import annotations

import json
from typing import Protocol

from aiohttp import web

MAX_BODY = 256 * 1024  # a Teams activity with a full card is a few KB


class Endpoint(Protocol):
    async def handle(self, body: dict, auth_header: str) -> tuple[int, object | None]:
        """Process one activity; return the HTTP status and the JSON body (or None)."""
        ...


def create_app(endpoint: Endpoint, *, health: dict[str, str] | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def messages(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "malformed JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "not an activity"}, status=400)
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
