"""A Bot Connector (Teams) stand-in on loopback: records every call and can inject faults.

The bot under test gets ``serviceUrl = connector.url`` and makes its real outgoing REST calls
(Bot Connector API v3, as botbuilder/msrest sends them) to this server::

    async with FakeConnector() as connector:
        ...  # run the bot with service_url=connector.url
        assert len(connector.created()) == 1
        assert len(connector.live_activities(conversation_id)) == 1

Routes (ids are percent-decoded per path segment, so ids with ``:``, ``/``, ``?``, ``#`` work):

* ``POST   /v3/conversations``                        create (1:1, tenant required) → 201
  ``{id, activityId, serviceUrl}``; the same member + tenant always gets the same id.
  With ``require_install``, a member for whom the app was not installed (``install()``) gets
  Teams' refusal instead: 403 ``BadArgument`` "Bot is not installed in user's personal scope"
  (``not_installed_answer``; the docs name the code ``ForbiddenOperationException``)
* ``POST   /v3/conversations/{cid}/activities``        send  → 201 ``{id}``
* ``POST   /v3/conversations/{cid}/activities/{aid}``  reply → 201 ``{id}`` (a new activity)
* ``PUT    /v3/conversations/{cid}/activities/{aid}``  update in place → 200 ``{id}``; 404 if not live
* ``DELETE /v3/conversations/{cid}/activities/{aid}``  delete → 200, empty body (also if not live)
* ``GET    /v3/conversations/{cid}/members/{mid}``     one member, TeamsChannelAccount-like JSON

Every request is recorded as a :class:`Call` in ``.calls`` (in arrival order), including the ones
that were refused or faulted. The query helpers (``created()``, ``sent()``, ``cards()`` ...)
only look at calls that were answered 2xx, i.e. that took effect.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any
from urllib.parse import unquote

from aiohttp import web

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"

# Teams' answer to creating a 1:1 chat with a user who does not have the app in their personal scope.
NOT_INSTALLED_MESSAGE = "Bot is not installed in user's personal scope"

# Error codes the Teams service uses for these statuses (only the code matters to botbuilder).
_ERROR_CODES = {
    400: "BadArgument",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    412: "PreconditionFailed",
    413: "MessageSizeTooBig",
    429: "Throttled",
    500: "InternalServerError",
    502: "ServiceError",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def error_body(status: int, message: str = "injected by FakeConnector", code: str | None = None) -> dict[str, Any]:
    """An ``ErrorResponse`` the way the Bot Connector shapes it: ``{"error": {"code", "message"}}``."""
    fallback = "ServiceError" if status >= 500 else "BadArgument"
    return {"error": {"code": code or _ERROR_CODES.get(status, fallback), "message": message}}


@dataclass
class Call:
    """One request the bot made, and what the stand-in answered."""

    method: str
    path: str  # percent-decoded, without the query string
    conversation_id: str | None  # the ``{conversationId}`` in the URL (None for create)
    activity_id: str | None  # the ``{activityId}`` in the URL (replied-to, updated or deleted)
    body: Any  # parsed JSON, or None when there was no body
    headers: dict[str, str]
    time: float = field(default_factory=monotonic)  # time.monotonic() on arrival
    status: int | None = None  # the HTTP status answered; None while pending or if dropped
    result_id: str | None = None  # the id answered: new conversation id or new/updated activity id
    fault: str | None = None  # "429", "drop", "delay" ... when a fail() rule matched this call

    @property
    def ok(self) -> bool:
        """Answered 2xx, so it took effect."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def is_create(self) -> bool:
        return self.method == "POST" and self.path.rstrip("/") == "/v3/conversations"

    @property
    def is_activity(self) -> bool:
        """A call on ``/v3/conversations/{cid}/activities[/{aid}]``."""
        return self.conversation_id is not None and "/activities" in self.path


@dataclass
class Fault:
    """A queued ``fail()`` rule; ``times`` counts down as calls match it."""

    method: str | None
    path_contains: str | None
    status: int | str  # an HTTP status, "drop" or "delay"
    times: int
    retry_after: float | int | None = None
    body: Any = None
    seconds: float = 0.0
    path_is: str | None = None
    hook: Callable[[], Any] | None = None

    def matches(self, method: str, path: str) -> bool:
        method_ok = self.method is None or self.method.upper() == method
        path_ok = (self.path_contains is None or self.path_contains in path) and self.path_is in (None, path)
        return method_ok and path_ok


@dataclass
class Throttle:
    """Teams' rate limits, enforced (opt-in: ``FakeConnector.enforce_rate_limits()``).

    A call that would be one too many in any window, per tenant (every call; the tenant of a
    conversation the stand-in created, else the body's ``conversation.tenantId`` or
    ``channelData.tenant.id``) or per conversation (activity calls), is answered 429 with
    ``Retry-After``, not applied, and counted in ``throttled``. Refused calls do not fill a window.
    Windows are (count, seconds): at most count calls arriving in any ``seconds``.
    """

    tenant: tuple[tuple[int, float], ...] = ((50, 1.0),)
    conversation: tuple[tuple[int, float], ...] = ((7, 1.0), (60, 30.0))
    retry_after: int = 1
    throttled: int = 0
    _arrivals: dict[tuple[str, str, float], deque[float]] = field(default_factory=dict)

    def admit(self, tenant: str | None, conversation: str | None, now: float) -> bool:
        windows = [("tenant", tenant or "?", count, seconds) for count, seconds in self.tenant]
        if conversation is not None:
            windows += [("conversation", conversation, count, seconds) for count, seconds in self.conversation]
        logs = []
        for kind, key, count, seconds in windows:
            log = self._arrivals.setdefault((kind, key, seconds), deque())
            while log and log[0] <= now - seconds:
                log.popleft()
            if len(log) >= count:
                self.throttled += 1
                return False
            logs.append(log)
        for log in logs:
            log.append(now)
        return True


class FakeConnector:
    """The Bot Connector service on ``127.0.0.1:<free port>``; ``.url`` is its serviceUrl."""

    def __init__(self, *, require_install: bool = False) -> None:
        self.url = ""
        self.calls: list[Call] = []
        self.members: dict[str, dict[str, Any]] = {}  # member id → fields to answer for GET member
        # Teams opens a 1:1 chat only with someone who has the app (personal scope): with
        # ``require_install``, only with the (member id, tenant id) pairs in ``installed``.
        self.require_install = require_install
        self.installed: set[tuple[str, str]] = set()
        self.not_installed_answer: dict[str, Any] = error_body(403, NOT_INSTALLED_MESSAGE, "BadArgument")
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._conversations: dict[tuple[str, str], str] = {}  # (member id, tenant id) → conversation id
        self._tenants: dict[str, str] = {}  # conversation id → tenant id (for created conversations)
        self._live: dict[str, dict[str, dict[str, Any]]] = {}  # conversation id → activity id → activity
        self._runner: web.AppRunner | None = None
        self.throttle: Throttle | None = None  # Teams' rate limits, when enforce_rate_limits() was called

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port and set ``.url`` (``http://127.0.0.1:PORT/``)."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeConnector:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # -- fault injection ------------------------------------------------------------------------

    def fail(
        self,
        method: str | None = None,
        path_contains: str | None = None,
        status: int | str = 429,
        times: int = 1,
        retry_after: float | int | None = None,
        body: Any = None,
        *,
        seconds: float = 0.0,
        path_is: str | None = None,
        hook: Callable[[], Any] | None = None,
    ) -> None:
        """Queue a rule: the next ``times`` calls matching ``method`` and ``path_contains`` (a
        substring of the decoded path) are recorded but not applied, and answered with ``status``
        (+ ``Retry-After`` if given, + ``body`` or a Connector-style JSON error).

        ``status="drop"`` closes the connection without an answer; ``status="delay"`` waits
        ``seconds`` and then handles the call normally. ``status="crash"`` runs ``hook`` (e.g. kill
        the bot's process) without applying the call; ``status="crash-after"`` applies the call
        (the card is live), then runs ``hook`` before answering. ``path_is`` matches the whole
        path (``/v3/conversations`` is conversation creation only). The first matching rule wins.
        """
        if isinstance(status, str) and status not in ("drop", "delay", "crash", "crash-after"):
            raise ValueError(f"status must be an int, 'drop', 'delay', 'crash' or 'crash-after', not {status!r}")
        self._faults.append(Fault(method, path_contains, status, times, retry_after, body, seconds, path_is, hook))

    def enforce_rate_limits(self, **limits: Any) -> Throttle:
        """From now on answer 429 (+ ``Retry-After``) to calls over Teams' limits: per tenant 50/s,
        per conversation 7/s and 60 per 30 s (``Throttle``'s fields override them)."""
        self.throttle = Throttle(**limits)
        return self.throttle

    def _tenant_of(self, call: Call) -> str | None:
        body = call.body if isinstance(call.body, dict) else {}
        if call.conversation_id in self._tenants:
            return self._tenants[call.conversation_id]
        tenant = next((v for k, v in body.items() if k.lower() == "tenantid" and v), None)
        return (tenant or (body.get("conversation") or {}).get("tenantId")
                or ((body.get("channelData") or {}).get("tenant") or {}).get("id"))

    def clear_failures(self) -> None:
        """Forget the rules not used up yet."""
        self._faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # -- the REST API ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = request.raw_path.split("?", 1)[0]
        parts = [unquote(segment) for segment in raw.strip("/").split("/")]
        conversation = parts[2] if len(parts) > 2 and parts[:2] == ["v3", "conversations"] else None
        activity_id = parts[4] if len(parts) > 4 and parts[3] == "activities" else None
        call = Call(request.method, unquote(raw), conversation, activity_id, None, dict(request.headers))
        self.calls.append(call)
        text = await request.text()
        try:
            call.body = json.loads(text) if text.strip() else None
        except ValueError:
            return self._answer(call, 400, error_body(400, "body is not JSON"))

        throttle = self.throttle
        if throttle is not None and not throttle.admit(self._tenant_of(call), call.conversation_id, call.time):
            headers = {"Retry-After": str(throttle.retry_after)}
            return self._answer(call, 429, error_body(429, "too many requests"), headers=headers)
        fault = self._take_fault(call.method, call.path)
        if fault is not None:
            call.fault = str(fault.status)
            if fault.status in ("crash", "crash-after"):
                response = self._route(call, parts) if fault.status == "crash-after" else None
                assert fault.hook is not None, "a crash needs a hook"
                fault.hook()
                if response is not None:
                    return response
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never reaches the client
            if fault.status == "delay":
                await asyncio.sleep(fault.seconds)
            elif fault.status == "drop":
                assert request.transport is not None
                request.transport.close()  # the client sees the connection closed with no answer
                return web.Response(status=500)  # never reaches the client
            else:
                status = int(fault.status)
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return self._answer(call, status, fault.body if fault.body is not None else error_body(status),
                                    headers=headers)
        return self._route(call, parts)

    def _route(self, call: Call, parts: list[str]) -> web.Response:
        if parts[:2] != ["v3", "conversations"]:
            return self._answer(call, 404, error_body(404, f"no route {call.path}"))
        method, n = call.method, len(parts)
        if method == "POST" and n == 2:
            return self._create(call)
        if n in (4, 5) and parts[3] == "activities":
            if not isinstance(call.body, dict) and method in ("POST", "PUT"):
                return self._answer(call, 400, error_body(400, "an activity is required"))
            if method == "POST":
                return self._post(call)
            if method == "PUT" and n == 5:
                return self._update(call)
            if method == "DELETE" and n == 5:
                self._live.get(call.conversation_id or "", {}).pop(call.activity_id or "", None)
                return self._answer(call, 200, None)
        if method == "GET" and n == 5 and parts[3] == "members":
            return self._answer(call, 200, self._member(parts[4], call.conversation_id or ""))
        return self._answer(call, 405, error_body(405, f"{method} {call.path} is not supported by the stand-in"))

    def _create(self, call: Call) -> web.Response:
        body = call.body if isinstance(call.body, dict) else {}
        members = body.get("members") or []
        if body.get("isGroup") or len(members) != 1 or not members[0].get("id"):
            return self._answer(call, 400, error_body(400, "only 1:1 conversations with one member"))
        # botbuilder serialises ConversationParameters.tenant_id as "tenantID"; the service reads either.
        tenant = next((v for k, v in body.items() if k.lower() == "tenantid" and v), None)
        tenant = tenant or ((body.get("channelData") or {}).get("tenant") or {}).get("id")
        if not tenant:
            return self._answer(call, 400, error_body(400, "tenant id is required"))
        key = (members[0]["id"], tenant)
        if self.require_install and key not in self.installed:
            return self._answer(call, 403, self.not_installed_answer)
        conversation = self._conversations.setdefault(key, f"a:1{key[0]}-{len(self._conversations) + 1}")
        self._tenants[conversation] = tenant
        activity_id = None
        if isinstance(body.get("activity"), dict):
            activity_id = self._add_live(conversation, body["activity"])
        answer = {"id": conversation, "activityId": activity_id, "serviceUrl": self.url}
        return self._answer(call, 201, answer, result_id=conversation)

    def _post(self, call: Call) -> web.Response:
        new_id = self._add_live(call.conversation_id or "", call.body)
        return self._answer(call, 201, {"id": new_id}, result_id=new_id)

    def _update(self, call: Call) -> web.Response:
        live = self._live.get(call.conversation_id or "", {})
        activity_id = call.activity_id or ""
        if activity_id not in live:
            return self._answer(call, 404, error_body(404, "activity not found", "ActivityNotFoundInConversation"))
        live[activity_id] = {**call.body, "id": activity_id}
        return self._answer(call, 200, {"id": activity_id}, result_id=activity_id)

    def _add_live(self, conversation: str, activity: dict[str, Any]) -> str:
        new_id = f"act-{next(self._ids)}"
        self._live.setdefault(conversation, {})[new_id] = {**activity, "id": new_id}
        return new_id

    def _member(self, member_id: str, conversation: str) -> dict[str, Any]:
        default = {
            "id": member_id,
            "name": "Teams User",
            "aadObjectId": member_id,
            "tenantId": self._tenants.get(conversation),
            "userRole": "user",
        }
        return {**default, **self.members.get(member_id, {})}

    @staticmethod
    def _answer(call: Call, status: int, answer: Any, *, result_id: str | None = None,
                headers: dict[str, str] | None = None) -> web.Response:
        call.status, call.result_id = status, result_id
        if answer is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(answer, status=status, headers=headers)

    def install(self, member_id: str, tenant_id: str) -> None:
        """The Teams app is now installed for that member (personal scope): chats can be opened."""
        self.installed.add((member_id, tenant_id))

    # -- what the tests ask ---------------------------------------------------------------------

    def ok(self) -> list[Call]:
        """Calls answered 2xx (they took effect)."""
        return [c for c in self.calls if c.ok]

    def created(self) -> list[Call]:
        """Successful conversation creations (``POST /v3/conversations``); ``result_id`` is the id."""
        return [c for c in self.ok() if c.is_create]

    def sent(self) -> list[Call]:
        """Successful activity posts: sends and replies; ``result_id`` is the new activity id."""
        return [c for c in self.ok() if c.method == "POST" and c.is_activity]

    def updated(self) -> list[Call]:
        """Successful activity updates (PUT)."""
        return [c for c in self.ok() if c.method == "PUT" and c.is_activity]

    def deleted(self) -> list[Call]:
        """Successful activity deletions."""
        return [c for c in self.ok() if c.method == "DELETE" and c.is_activity]

    def cards(self) -> list[dict[str, Any]]:
        """Every Adaptive Card content the bot put on a screen, in order: posted, replied,
        written over an old message, or sent along with a conversation creation."""
        found: list[dict[str, Any]] = []
        for call in self.ok():
            body = call.body if isinstance(call.body, dict) else {}
            activity = body.get("activity") if call.is_create else body if call.is_activity else None
            for attachment in (activity or {}).get("attachments") or []:
                if attachment.get("contentType") == ADAPTIVE_CARD:
                    found.append(attachment.get("content"))
        return found

    def calls_to(self, conversation_id: str) -> list[Call]:
        """Every recorded call addressed to that conversation (also refused/faulted ones)."""
        return [c for c in self.calls if c.conversation_id == conversation_id]

    def live_activities(self, conversation_id: str) -> list[dict[str, Any]]:
        """What the user would see in that chat now: posted, updated in place, minus deleted."""
        return list(self._live.get(conversation_id, {}).values())

    def show(self, conversation_id: str, activity_id: str, card: dict[str, Any]) -> None:
        """What a Teams client does with a refreshed card: it shows the new one in its place."""
        activity = self._live[conversation_id][activity_id]
        activity["attachments"] = [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]

    def clear(self) -> None:
        """Forget the recorded calls. Conversations, live activities and fault rules stay."""
        self.calls.clear()

    async def wait_for(self, predicate: Callable[[FakeConnector], Any], timeout: float = 5.0,
                       interval: float = 0.01) -> Any:
        """Poll until ``predicate(self)`` (sync or async) is truthy and return its value;
        ``TimeoutError`` (listing the calls seen) after ``timeout`` seconds."""
        deadline = monotonic() + timeout
        while True:
            value = predicate(self)
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if monotonic() >= deadline:
                seen = [f"{c.method} {c.path} → {c.status}" for c in self.calls]
                raise TimeoutError(f"condition not met within {timeout}s; calls: {seen}")
            await asyncio.sleep(interval)

    # -- shorthands used by the end-to-end tests ------------------------------------------------

    def conversation_for(self, member_id: str) -> str | None:
        """The 1:1 conversation the bot last created with ``member_id``."""
        for call in reversed(self.created()):
            if call.body["members"][0]["id"] == member_id:
                return call.result_id
        return None

    def calls_in(self, conversation_id: str) -> list[Call]:
        """Successful activity calls (post, reply, update, delete) in one conversation."""
        return [c for c in self.ok() if c.conversation_id == conversation_id and c.is_activity]

    def calls_to_conversations(self, exclude: str | None = None) -> list[Call]:
        """Every call that creates a conversation or touches one other than ``exclude``."""
        return [c for c in self.calls if c.is_create or c.conversation_id != exclude]

    def sent_to(self, conversation_id: str) -> list[Call]:
        return [c for c in self.sent() if c.conversation_id == conversation_id]

    def all_cards(self) -> list[dict[str, Any]]:
        return self.cards()

    def cards_to(self, member_id: str) -> list[dict[str, Any]]:
        """Attachment contents posted into the 1:1 chat the bot opened with ``member_id``."""
        conversation = self.conversation_for(member_id)
        return [a["content"] for c in self.sent_to(conversation or "") for a in c.body.get("attachments") or []]

    def last_card(self, conversation_id: str) -> tuple[str, dict[str, Any]] | None:
        """(activity id, content) of the last attachment posted into that conversation."""
        for call in reversed(self.sent_to(conversation_id)):
            for attachment in call.body.get("attachments") or []:
                return call.result_id or "", attachment["content"]
        return None

    def last_text(self, conversation_id: str) -> str | None:
        for call in reversed(self.sent_to(conversation_id)):
            if call.body.get("text"):
                return str(call.body["text"])
        return None
