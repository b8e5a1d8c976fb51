"""The two baselines, each run as its own process: ``python -m bench.servers raw|echo --port N``.

* ``raw``: aiohttp answering ``POST /api/messages`` with 200 after reading the body — the floor.
* ``echo``: a stock botbuilder ``ActivityHandler`` that echoes the text with ``send_activity``, on
  a stock CloudAdapter configured as the bot is in local mode (anonymous), fed by the bot's own
  aiohttp plumbing (``create_app`` + ``TeamsEndpoint``): the HTTP path is the bot's, the adapter
  and the handler are botbuilder's own.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(turn_context.activity.text or ""))


def raw_app() -> web.Application:
    async def messages(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


def echo_app() -> web.Application:
    """Stock botbuilder: ``CloudAdapter(ConfigurationBotFrameworkAuthentication(configuration))`` with
    the bot's local-mode configuration (anonymous: no ``MicrosoftAppId``), behind the bot's own
    endpoint and aiohttp app. Deliberately not ``bot.teams.adapter.create_adapter``: that one may
    carry the bot's own improvements to the adapter, which the baseline must not have."""
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    from bot.teams.adapter import BotRegistration
    from bot.teams.endpoint import TeamsEndpoint
    from bot.web import create_app

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(BotRegistration()))
    return create_app(TeamsEndpoint(adapter, EchoBot()))


async def serve(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)  # as ``python -m bot`` runs its app
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.servers")
    parser.add_argument("kind", choices=("raw", "echo"))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = raw_app() if args.kind == "raw" else echo_app()
    try:
        asyncio.run(serve(app, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
