"""A peer for the bench: the Teams SDK v2 (``microsoft-teams-apps``) echo bot, hosted on aiohttp.

``bench/.venvs/teams/bin/python bench/peers/teams/echo.py --port N``

The SDK's ``App`` with one ``on_message`` handler that echoes the text with ``ctx.send``. The SDK
hosts itself through an ``HttpServerAdapter`` (FastAPI + uvicorn by default); this one is a small
aiohttp adapter, so the HTTP server is the same as the other rows' and the comparison is of the
SDKs. Anonymous: ``dangerously_allow_unauthenticated_requests`` with no client id (the local mode
of the bot it is compared with). The echo goes out through the SDK's own API client to the
activity's ``serviceUrl``: the bench's loopback connector. ``GET /healthz`` answers 200 for the
bench's start-up wait. Nothing here imports the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from microsoft_teams.api.activities import MessageActivity
from microsoft_teams.apps import ActivityContext, App
from microsoft_teams.apps.http.adapter import HttpMethod, HttpRequest, HttpResponse, HttpRouteHandler


class AiohttpAdapter:
    """``HttpServerAdapter`` on aiohttp: JSON body in, the SDK's status and JSON body out."""

    def __init__(self) -> None:
        self.app = web.Application()
        self._runner: web.AppRunner | None = None

    def register_route(self, method: HttpMethod, path: str, handler: HttpRouteHandler) -> None:
        if method != "POST":
            raise ValueError(f"Unsupported HTTP method: {method}")

        async def route(request: web.Request) -> web.Response:
            body: dict[str, Any] = json.loads(await request.read())
            result: HttpResponse = await handler(HttpRequest(body=body, headers=dict(request.headers)))
            if result.get("body") is not None:
                return web.json_response(result["body"], status=result["status"])
            return web.Response(status=result["status"])

        self.app.router.add_post(path, route)

    def serve_static(self, path: str, directory: str) -> None:
        self.app.router.add_static(path, directory)

    async def start(self, port: int) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def make_app() -> App:
    adapter = AiohttpAdapter()

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    adapter.app.router.add_get("/healthz", healthz)
    app = App(http_server_adapter=adapter, dangerously_allow_unauthenticated_requests=True)

    @app.on_message
    async def on_message(ctx: ActivityContext[MessageActivity]) -> None:
        await ctx.send(ctx.activity.text or "")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="echo.py")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        asyncio.run(make_app().start(args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
