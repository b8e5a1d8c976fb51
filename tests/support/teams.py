"""Drive the real bot over HTTP the way Teams does: message and invoke activities, as named users.

``Harness`` runs the bot's aiohttp app on loopback (real sockets), with its outgoing Bot
Connector calls going to a ``FakeConnector`` on loopback. Every card the bot shows (invoke
responses and posted messages) is checked against the Adaptive Card 1.5 schema.
"""

from __future__ import annotations

import io
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot import logs
from bot.adapters.clock import FixedClock
from bot.bootstrap import Runtime, build
from bot.config import Settings
from tests.support.cards import action_data, assert_valid_card
from tests.support.connector import FakeConnector

DATA_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
BOT = {"id": "28:terugkoppeling-bot", "name": "Terugkoppeling"}


@dataclass
class Harness:
    """The bot under test, its connector stand-in, a fixed clock and everything it logged."""

    tmp: Path
    connector: FakeConnector
    clock: FixedClock
    env: dict[str, str] = field(default_factory=dict)
    runtime: Runtime | None = None
    server: TestServer | None = None
    http: ClientSession | None = None
    log_stream: io.StringIO = field(default_factory=io.StringIO)
    seen_cards: list[dict[str, Any]] = field(default_factory=list)
    external_url: str | None = None  # a bot in another process (``python -m bot``), instead of ``start``
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request, e.g. Authorization
    graph_credentials: Any = None  # Graph stand-in credentials (tests/support/graph.py FakeCredentials)
    directory_credential: Any = None  # VDAB's directory stand-in token (tests/support/directory.py)

    @property
    def db_path(self) -> Path:
        return self.tmp / "data" / "terugkoppeling.db"

    def directory_file(self) -> Path:
        """The demo directory; outside local mode (the bot refuses the demo file there) a copy of it."""
        demo = Path(__file__).resolve().parents[2] / "examples" / "clients.json"
        if not self.env.get("MicrosoftAppId"):
            return demo
        copy = self.tmp / "clients.json"
        if not copy.exists():
            copy.write_bytes(demo.read_bytes())
        return copy

    def settings(self) -> Settings:
        values = {
            "BOT_STORE": f"sqlite:///{self.db_path}",
            "BOT_TEAMS_SERVICE_URL": self.connector.url,
            "BOT_DATA_KEY": DATA_KEY,
            "BOT_DIRECTORY_FILE": str(self.directory_file()),
            "BOT_UNDO_MINUTES": "0",  # "Overgezet" purges at once unless a test opens the undo window (issue 14)
            "BOT_HOST": os.environ.get("BOT_HOST", "botbuilder"),  # tests/e2e/conftest.py runs both
            **self.env,
        }
        return Settings(_env_file=None, **values)

    async def start(self) -> None:
        self.runtime = await build(self.settings(), clock=self.clock, graph_credential_for=self.graph_credentials,
                                   directory_credential=self.directory_credential)
        self.server = TestServer(self.runtime.app, host="127.0.0.1")
        await self.server.start_server()
        self.http = self.http or ClientSession()

    async def stop(self) -> None:
        if self.server:
            await self.server.close()
        if self.runtime:
            await self.runtime.close()
        self.server = self.runtime = None

    async def restart(self) -> None:
        """A new process's worth of bot on the same database: nothing lives in memory."""
        await self.stop()
        await self.start()

    async def close(self) -> None:
        await self.stop()
        if self.http:
            await self.http.close()

    @property
    def url(self) -> str:
        if self.external_url:
            return self.external_url
        assert self.server is not None
        return str(self.server.make_url("/api/messages"))

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        self.http = self.http or ClientSession()
        async with self.http.post(self.url, json=activity, headers={**self.headers, **(headers or {})}) as response:
            body = await response.json() if response.content_type == "application/json" else await response.text()
            return response.status, body

    async def sweep(self, at: datetime | None = None) -> dict[str, int]:
        """Move the clock to ``at`` (if given) and run one sweep, as the timer or ``python -m bot sweep`` does."""
        assert self.runtime is not None
        if at is not None:
            self.clock.set(at)
        settle = getattr(self.runtime.store, "settle", None)
        if settle is not None:  # the store's tidy-up (1 s after a write) is long done by a moment this late:
            await settle()      # otherwise a key it was about to delete counts as an orphan of the fixed clock
        return dict(await self.runtime.service.sweep())

    def card_seen(self, card: dict[str, Any]) -> dict[str, Any]:
        assert_valid_card(card)
        self.seen_cards.append(card)
        return card

    def user(self, aad: str, tenant: str, name: str, *, conversation_type: str = "personal") -> TeamsUser:
        return TeamsUser(self, aad, tenant, name, conversation_type)

    def all_logs(self) -> str:
        return self.log_stream.getvalue()

    def db_bytes(self) -> bytes:
        files = [self.db_path, self.db_path.with_name(self.db_path.name + "-wal")]
        return b"".join(p.read_bytes() for p in files if p.exists())


class TeamsUser:
    """One person in Teams, with their own chat with the bot."""

    def __init__(self, harness: Harness, aad: str, tenant: str, name: str, conversation_type: str) -> None:
        self.h = harness
        self.aad, self.tenant, self.name = aad, tenant, name
        self.conversation_type = conversation_type
        self.conversation_id = f"a:{conversation_type}-{aad}"
        self.card: dict[str, Any] | None = None  # the card on screen after the last step
        self.card_activity_id: str | None = None

    def activity(self, **fields: Any) -> dict[str, Any]:
        base = {
            "type": "message",
            "id": str(uuid.uuid4()),
            "timestamp": self.h.clock.now().isoformat(),
            "channelId": "msteams",
            "serviceUrl": self.h.connector.url,
            "from": {"id": f"29:{self.aad}", "name": self.name, "aadObjectId": self.aad},
            "recipient": dict(BOT),
            "conversation": {"id": self.conversation_id, "conversationType": self.conversation_type,
                             "tenantId": self.tenant},
            "channelData": {"tenant": {"id": self.tenant}},
            "locale": "nl-BE",
        }
        base.update(fields)
        return base

    async def say(self, text: str) -> tuple[int, Any]:
        """Send a message; the bot's answer is in the connector (see ``last_card``/``last_text``)."""
        status, body = await self.h.post(self.activity(text=text))
        card = self.h.connector.last_card(self.conversation_id)
        if card is not None:
            self.card = self.h.card_seen(card[1])
            self.card_activity_id = card[0]
        return status, body

    async def invoke(self, value: Any, *, reply_to: str | None = None) -> tuple[int, Any]:
        return await self.h.post(
            self.activity(type="invoke", name="adaptiveCard/action", value=value,
                          replyToId=reply_to or self.card_activity_id)
        )

    async def click(self, verb: str, inputs: dict[str, str] | None = None, *, card: dict[str, Any] | None = None,
                    data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Press the button ``verb`` on the card on screen (or ``card``), with typed ``inputs``."""
        source = card or self.card
        assert source is not None, "no card on screen"
        payload = {**(data if data is not None else action_data(source, verb)), **(inputs or {})}
        status, body = await self.invoke({"action": {"type": "Action.Execute", "verb": verb, "data": payload},
                                          "trigger": "manual"})
        assert status == 200, (status, body)
        assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive", body
        self.card = self.h.card_seen(body["value"])
        live = {a["id"] for a in self.h.connector.live_activities(self.conversation_id)}
        if card is None and self.card_activity_id in live:
            # Universal Actions: Teams shows the answer in place of the clicked card.
            self.h.connector.show(self.conversation_id, self.card_activity_id, self.card)
        return self.card

    def last_text(self) -> str | None:
        return self.h.connector.last_text(self.conversation_id)

    def texts(self) -> list[str]:
        """Every plain message the bot posted in this user's chat, oldest first."""
        return [c.body["text"] for c in self.h.connector.sent_to(self.conversation_id) if c.body.get("text")]

    async def look(self) -> list[dict[str, Any]]:
        """Open the chat, as Teams does: every card with a ``refresh`` action is refreshed for this
        user and shows whatever the bot answers. Returns the cards now on screen, oldest first."""
        connector = self.h.connector
        shown = []
        for activity in connector.live_activities(self.conversation_id):
            for attachment in activity.get("attachments") or []:
                card = attachment["content"]
                refresh = card.get("refresh")
                if refresh:
                    action = refresh["action"]
                    status, body = await self.invoke(
                        {"action": {"type": "Action.Execute", "verb": action["verb"], "data": action["data"]},
                         "trigger": "automatic"}, reply_to=activity["id"])
                    assert status == 200 and body["statusCode"] == 200, body
                    card = self.h.card_seen(body["value"])
                    connector.show(self.conversation_id, activity["id"], card)
                shown.append(card)
        return shown

    def adopt(self, conversation_id: str, card_activity_id: str, card: dict[str, Any]) -> None:
        """Look at a chat the bot opened with this user (proactive 1:1)."""
        self.conversation_id = conversation_id
        self.card_activity_id = card_activity_id
        self.card = self.h.card_seen(card)


def capture_logs(stream: io.StringIO) -> logging.Handler:
    """Everything logged, at every level, through the bot's own formatter and pytest's."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RedactingFilter())  # as ``logs.setup`` installs it
    handler.setLevel(logging.DEBUG)
    return handler


def aware(value: str) -> datetime:
    return datetime.fromisoformat(value)
