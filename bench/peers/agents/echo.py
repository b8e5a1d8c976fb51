"""A peer for the bench: the Microsoft 365 Agents SDK's echo bot, in its own virtualenv.

``bench/.venvs/agents/bin/python bench/peers/agents/echo.py handler|application --port N``

* ``handler``: an ``ActivityHandler`` whose ``on_message_activity`` echoes the text;
* ``application``: an ``AgentApplication`` with one ``message`` route that echoes the text.

Both are hosted as the SDK's quickstart hosts them: an aiohttp app with
``jwt_authorization_middleware``, ``CloudAdapter.process`` on ``POST /api/messages``, in anonymous
mode (``anonymous_allowed``, no client id: the local mode of the bot it is compared with). The
echo goes out through the SDK's own connector client to the activity's ``serviceUrl``: the bench's
loopback connector. ``GET /healthz`` answers 200 for the bench's start-up wait. Nothing here
imports the bot: this runs with the Agents SDK's pins, not the bot's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from aiohttp import web
from microsoft_agents.hosting.aiohttp import CloudAdapter, jwt_authorization_middleware, start_agent_process
from microsoft_agents.hosting.core import (
    ActivityHandler,
    AgentApplication,
    MemoryStorage,
    MessageFactory,
    TurnContext,
    TurnState,
)
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration, AnonymousTokenProvider


class AnonymousConnections:
    """The ``Connections`` an anonymous agent needs: every token is the anonymous one (the adapter
    takes that path anyway for anonymous claims; the SDK's MSAL connection manager is for real
    registrations)."""

    def __init__(self, config: AgentAuthConfiguration) -> None:
        self._config, self._provider = config, AnonymousTokenProvider()

    def get_connection(self, connection_name: str) -> AnonymousTokenProvider:
        return self._provider

    def get_default_connection(self) -> AnonymousTokenProvider:
        return self._provider

    def get_token_provider(self, claims_identity: object, service_url: str) -> AnonymousTokenProvider:
        return self._provider

    def get_token_provider_from_activity(self, *_: object) -> AnonymousTokenProvider:
        return self._provider

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return self._config


class EchoHandler(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:  # type: ignore[override]
        await turn_context.send_activity(MessageFactory.text(turn_context.activity.text or ""))


def echo_application(adapter: CloudAdapter, connections: AnonymousConnections) -> AgentApplication[TurnState]:
    app = AgentApplication[TurnState](storage=MemoryStorage(), adapter=adapter, connection_manager=connections)

    @app.activity("message")
    async def on_message(context: TurnContext, _state: TurnState) -> None:
        await context.send_activity(MessageFactory.text(context.activity.text or ""))

    return app


def make_app(kind: str) -> web.Application:
    config = AgentAuthConfiguration(anonymous_allowed=True)
    connections = AnonymousConnections(config)
    adapter = CloudAdapter(connection_manager=connections)
    handler, application = EchoHandler(), echo_application(adapter, connections)

    async def messages(request: web.Request) -> web.StreamResponse:
        if kind == "handler":
            response = await adapter.process(request, handler)
        else:
            response = await start_agent_process(request, application, adapter)
        return response or web.Response(status=202)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(middlewares=[jwt_authorization_middleware])
    app["agent_configuration"] = config
    app["adapter"] = adapter
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="echo.py")
    parser.add_argument("kind", choices=("handler", "application"))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        asyncio.run(serve(make_app(args.kind), args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
