"""The floor: the least a bot can do for the bot's work, as its own process.

``python -m bench.floor --port N --db PATH``

What any Teams bot that keeps the protocol must do per request, and nothing more: bare aiohttp,
the activity parsed from JSON, one envelope seal (``bot.adapters.crypto.Sealer``, 2× AES-GCM), one
SQLite transaction on its own thread (one hop; WAL and the bot's pragmas), and the connector calls
as plain JSON on one keep-alive aiohttp session (4 s timeout, as the bot's).

* ``message``: seal a draft, write it, reply with the identification card (one connector call), 200.
* invoke ``verstuur``: seal the handoff, open the 1:1 chat with the recipient and post her card
  (two connector calls), write the handoff and its audit line in one transaction, answer with the
  receipt card.

No botbuilder, no msrest, no pydantic: the row shows what the rest of a stack costs on top. Cards are
the bot's own templates from ``cards/`` with the placeholders left in (the same bytes to send).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

from bench.common import ELS_AAD, ELS_TENANT, ROOT
from bot.adapters.crypto import Sealer

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = """
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT NULL,
    key_id TEXT NOT NULL, wrapped BLOB NOT NULL, ciphertext BLOB NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (n INTEGER PRIMARY KEY, record TEXT NOT NULL, event TEXT NOT NULL, at TEXT NOT NULL);
"""


def card(name: str, **texts: str) -> dict[str, Any]:
    raw = (ROOT / "cards" / f"{name}.json").read_text()
    for key, value in texts.items():
        raw = raw.replace("${" + key + "}", value)
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


class Floor:
    def __init__(self, db: Path) -> None:
        self.sealer = Sealer(os.urandom(32))
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        self.db = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode = WAL", "secure_delete = ON", "busy_timeout = 5000", "synchronous = NORMAL"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(SCHEMA)
        self.identification = card("identificatie")
        self.recipient_card = card("ontvanger")
        self.receipt = card("ontvangstbewijs")  # its heading as the bot's says it: delivered
        self.receipt["body"] = [{"type": "TextBlock", "text": "Terugkoppeling verstuurd", "weight": "Bolder",
                                 "size": "Medium", "wrap": True},
                                *(part for part in self.receipt["body"] if "$include" not in part)]
        self.session: ClientSession | None = None

    def _write(self, records: list[tuple[Any, ...]], audit: str | None) -> None:
        """One transaction: the records, and the audit line if any."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", records)
            if audit is not None:
                self.db.execute("INSERT INTO audit (record, event, at) VALUES (?, 'verstuurd', ?)",
                                (records[0][0], records[0][-1]))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    async def write(self, records: list[tuple[Any, ...]], audit: str | None = None) -> None:
        await asyncio.get_running_loop().run_in_executor(self.thread, self._write, records, audit)

    def sealed(self, kind: str, owner: str, content: dict[str, Any]) -> tuple[Any, ...]:
        record = uuid.uuid4().hex
        s = self.sealer.seal(record, json.dumps(content).encode())
        return record, kind, owner, s.key_id, s.wrapped_key, s.ciphertext, datetime.now(UTC).isoformat()

    async def call(self, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.session is not None
        async with self.session.request(method, url, data=json.dumps(body),
                                        headers={"Content-Type": "application/json"}) as response:
            raw = await response.read()
            if response.status >= 300:
                raise web.HTTPBadGateway(text=f"connector answered {response.status}")
        return json.loads(raw) if raw else {}

    async def messages(self, request: web.Request) -> web.Response:
        activity = json.loads(await request.read())
        service = activity["serviceUrl"].rstrip("/")
        conversation = activity["conversation"]["id"]
        sender = activity["from"]
        owner = sender.get("aadObjectId") or sender["id"]
        if activity.get("type") == "message":
            tenant = activity["conversation"]["tenantId"]
            draft = self.sealed("draft", owner, {"step": "identificatie", "tenant": tenant})
            await self.write([draft])
            reply = {"type": "message", "from": activity["recipient"], "recipient": sender,
                     "conversation": {"id": conversation}, "replyToId": activity["id"],
                     "attachments": [{"contentType": ADAPTIVE_CARD, "content": self.identification}]}
            await self.call("POST", f"{service}/v3/conversations/{quote(conversation, safe='')}/activities/"
                                    f"{quote(activity['id'], safe='')}", reply)
            return web.Response(status=200)
        action = (activity.get("value") or {}).get("action") or {}
        if activity.get("type") == "invoke" and action.get("verb") == "verstuur":
            handoff = self.sealed("handoff", owner, {"data": action.get("data"), "recipient": ELS_AAD})
            created = await self.call("POST", f"{service}/v3/conversations", {
                "bot": activity["recipient"], "members": [{"id": f"29:{ELS_AAD}"}], "isGroup": False,
                "tenantId": ELS_TENANT, "channelData": {"tenant": {"id": ELS_TENANT}}})
            chat = created["id"]
            await self.call("POST", f"{service}/v3/conversations/{quote(chat, safe='')}/activities", {
                "type": "message", "from": activity["recipient"], "conversation": {"id": chat},
                "attachments": [{"contentType": ADAPTIVE_CARD, "content": self.recipient_card}]})
            await self.write([handoff], audit="verstuurd")
            return web.json_response({"statusCode": 200, "type": ADAPTIVE_CARD, "value": self.receipt})
        return web.Response(status=400)

    async def start(self, _: web.Application) -> None:
        self.session = ClientSession(connector=TCPConnector(limit=100), timeout=ClientTimeout(total=4))

    async def stop(self, _: web.Application) -> None:
        if self.session is not None:
            await self.session.close()
        self.thread.shutdown()
        self.db.close()


def make_app(db: Path) -> web.Application:
    floor = Floor(db)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/messages", floor.messages)
    app.router.add_get("/healthz", healthz)
    app.on_startup.append(floor.start)
    app.on_cleanup.append(floor.stop)
    return app


async def serve(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)  # as ``python -m bot`` runs its app
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    try:
        asyncio.run(serve(make_app(args.db), args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
