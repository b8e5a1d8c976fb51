"""A Bot Connector (Teams) stand-in on loopback: records every call and can inject faults.

The bot under test gets ``serviceUrl = connector.url`` and makes its real outgoing REST calls
(v3 conversations API, as botbuilder sends them) to this server.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    """One request the bot made, and what the stand-in answered."""

    method: str
    path: str
    conversation_id: str | None
    activity_id: str | None
    body: Any
    status: int
    result_id: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    method: str | None
    path_contains: str | None
    status: int | str
    times: int
    retry_after: int | None = None
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in (None, method)) and (self.path_contains is None or self.path_contains in path)


class FakeConnector:
    """``async with FakeConnector() as connector:`` → ``connector.url`` to use as serviceUrl."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._conversations: dict[tuple[str, str], str] = {}
        self._live: dict[str, dict[str, dict[str, Any]]] = {}
        self._server: TestServer | None = None
        self.url = ""

    async def __aenter__(self) -> FakeConnector:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self.url = str(self._server.make_url("/"))

    async def stop(self) -> None:
        if self._server:
            await self._server.close()

    # -- faults ---------------------------------------------------------------------------------

    def fail(self, *, method: str | None = None, path_contains: str | None = None, status: int | str = 429,
             times: int = 1, retry_after: int | None = None, seconds: float = 0.0) -> None:
        """The next ``times`` matching calls get ``status`` ("drop" closes the connection,
        "delay" waits ``seconds`` and then answers normally)."""
        self._faults.append(Fault(method, path_contains, status, times, retry_after, seconds))

    def clear_failures(self) -> None:
        self._faults.clear()

    def _fault_for(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.matches(method, path):
                fault.times -= 1
                return fault
        return None

    # -- the REST API ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = unquote(request.path)
        body = await request.json() if request.can_read_body else None
        parts = path.strip("/").split("/")  # v3 / conversations / {id} / activities / {activityId}
        conversation = parts[2] if len(parts) > 2 else None
        activity_id = parts[4] if len(parts) > 4 else None
        fault = self._fault_for(request.method, path)
        if fault is not None and fault.status == "delay":
            await asyncio.sleep(fault.seconds)
        elif fault is not None:
            status = 0 if fault.status == "drop" else int(fault.status)
            self.calls.append(Call(request.method, path, conversation, activity_id, body, status))
            if fault.status == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never reaches the client
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            error = {"error": {"code": "ServiceError" if status >= 500 else "Throttled", "message": "injected"}}
            return web.json_response(error, status=status, headers=headers)

        if parts[:2] != ["v3", "conversations"]:
            return self._record(request.method, path, None, None, body, 404, {"error": {"code": "NotFound"}})
        if request.method == "POST" and len(parts) == 2:
            return self._create(path, body)
        if request.method == "POST" and len(parts) in (4, 5) and parts[3] == "activities":
            new_id = f"act-{next(self._ids)}"
            self._live.setdefault(conversation or "", {})[new_id] = {**(body or {}), "id": new_id}
            return self._record("POST", path, conversation, activity_id, body, 201, {"id": new_id}, new_id)
        if request.method == "PUT" and len(parts) == 5:
            live = self._live.setdefault(conversation or "", {})
            if activity_id not in live:
                return self._record("PUT", path, conversation, activity_id, body, 404, {"error": {"code": "NotFound"}})
            live[activity_id or ""] = {**(body or {}), "id": activity_id}
            return self._record("PUT", path, conversation, activity_id, body, 200, {"id": activity_id}, activity_id)
        if request.method == "DELETE" and len(parts) == 5:
            self._live.get(conversation or "", {}).pop(activity_id or "", None)
            return self._record("DELETE", path, conversation, activity_id, None, 200, None)
        if request.method == "GET" and len(parts) == 5 and parts[3] == "members":
            member = {"id": parts[4], "name": "Teams User", "aadObjectId": parts[4]}
            return self._record("GET", path, conversation, None, None, 200, member)
        bad_method = {"error": {"code": "BadMethod"}}
        return self._record(request.method, path, conversation, activity_id, body, 405, bad_method)

    def _create(self, path: str, body: dict[str, Any]) -> web.Response:
        members = body.get("members") or []
        if body.get("isGroup") or len(members) != 1:
            return self._record("POST", path, None, None, body, 400, {"error": {"code": "BadArgument"}})
        tenant = body.get("tenantId") or body.get("tenantID") or ((body.get("channelData") or {}).get("tenant") or {})
        key = (members[0]["id"], tenant if isinstance(tenant, str) else tenant.get("id", ""))
        conversation = self._conversations.setdefault(key, f"a:1{key[0]}-{len(self._conversations) + 1}")
        return self._record("POST", path, conversation, None, body, 201, {"id": conversation}, conversation)

    def _record(self, method: str, path: str, conversation: str | None, activity_id: str | None, body: Any,
                status: int, answer: Any, result_id: str | None = None) -> web.Response:
        self.calls.append(Call(method, path, conversation, activity_id, body, status, result_id))
        if answer is None:
            return web.Response(status=status)
        return web.json_response(answer, status=status)

    # -- what the tests ask ---------------------------------------------------------------------

    def ok(self) -> list[Call]:
        return [c for c in self.calls if 200 <= c.status < 300]

    def created(self) -> list[Call]:
        """Successful conversation creations (``POST /v3/conversations``)."""
        return [c for c in self.ok() if c.method == "POST" and c.path.rstrip("/") == "/v3/conversations"]

    def conversation_for(self, member_id: str) -> str | None:
        for call in reversed(self.created()):
            if call.body["members"][0]["id"] == member_id:
                return call.result_id
        return None

    def calls_in(self, conversation_id: str) -> list[Call]:
        """Successful activity calls (post, reply, update, delete) in one conversation."""
        return [c for c in self.ok() if c.conversation_id == conversation_id and "/activities" in c.path]

    def calls_to_conversations(self, exclude: str | None = None) -> list[Call]:
        """Every call that creates a conversation or touches one other than ``exclude``."""
        return [c for c in self.calls if c.conversation_id != exclude or c.path.rstrip("/") == "/v3/conversations"]

    def sent_to(self, conversation_id: str) -> list[Call]:
        return [c for c in self.calls_in(conversation_id) if c.method == "POST"]

    def sent_cards(self) -> list[dict[str, Any]]:
        """Every Adaptive Card posted as a new message or reply, in order."""
        return [
            a["content"]
            for c in self.ok() if c.method == "POST" and "/activities" in c.path
            for a in (c.body or {}).get("attachments") or [] if a.get("contentType", "").endswith("card.adaptive")
        ]

    def all_cards(self) -> list[dict[str, Any]]:
        """Every Adaptive Card the bot put on a screen: posted, replied or written over an old one."""
        return [
            a["content"]
            for c in self.ok() if c.method in ("POST", "PUT") and "/activities" in c.path
            for a in (c.body or {}).get("attachments") or [] if a.get("contentType", "").endswith("card.adaptive")
        ]

    def cards_to(self, member_id: str) -> list[dict[str, Any]]:
        """Cards posted into the 1:1 chat the bot opened with ``member_id``."""
        conversation = self.conversation_for(member_id)
        return [
            a["content"] for c in self.sent_to(conversation or "") for a in (c.body or {}).get("attachments") or []
        ]

    def live_activities(self, conversation_id: str) -> list[dict[str, Any]]:
        """What the user would see in that chat now: posted, updated in place, minus deleted."""
        return list(self._live.get(conversation_id, {}).values())

    def last_card(self, conversation_id: str) -> tuple[str, dict[str, Any]] | None:
        for call in reversed(self.sent_to(conversation_id)):
            for attachment in (call.body or {}).get("attachments") or []:
                return call.result_id or "", attachment["content"]
        return None

    def last_text(self, conversation_id: str) -> str | None:
        for call in reversed(self.sent_to(conversation_id)):
            if (call.body or {}).get("text"):
                return call.body["text"]
        return None
