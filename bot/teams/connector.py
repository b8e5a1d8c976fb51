"""botbuilder's connector client, with the calls this bot makes sent as plain JSON (issue 16).

botbuilder's ``ConnectorClient`` sends every call through msrest: ``requests`` in a worker thread,
a new TCP connection per call, and an activity serialised by first deserialising it again.
``JsonConnectorClient`` stands in for it where botbuilder hands the client out (the
``ConnectorFactory`` that ``bot.teams.adapter.ReusingAuthentication`` wraps): the conversation
operations the CloudAdapter and ``bot.teams.messenger`` call (create, send, reply, update,
delete) go over the process's one ``ConnectorSession`` (``bot.chat.connector``), bounded by its
timeout, with the bearer token of the same ``AppCredentials`` the registration gives msrest.
Everything else (other operations, ``config``, ``attachments``) is the real msrest client's.

Failures keep botbuilder's shapes, so that callers (the SDK, the messenger's ``_status``,
``_retry_after``, ``_error_of``, ``CONNECTOR_ERRORS``, the endpoint's 503) see what msrest raised:
an error status is an ``ErrorResponseException`` with ``.response.status_code``/``.headers`` and
``.error.error.code``/``.message``; an unreachable connector (or the timeout) is a
``ClientRequestError``. Unlike msrest, a PUT or DELETE answered 5xx is not retried here: its status
reaches the messenger and the outbox, whose retries own it (BOTBUILDER-NOTES 8).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import json
import time
from collections.abc import Mapping
from typing import Any

from botbuilder.schema import Activity, ConversationParameters, ConversationResourceResponse, ResourceResponse
from botframework.connector import models
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import AppCredentials, AuthenticationConstants
from botframework.connector.models import Error, ErrorResponse, ErrorResponseException
from msrest.exceptions import ClientException, ClientRequestError
from msrest.serialization import Model, Serializer

from bot.chat.connector import ConnectorError, ConnectorSession, conversation_path

# What msrest accepts per operation (botframework/connector/aio/operations_async): anything else
# is an ErrorResponseException there, and here.
_CREATED = frozenset({200, 201, 202})
_DELETED = frozenset({200, 202})

# -- the wire form of a botbuilder model -------------------------------------------------------

_MSREST = Serializer({k: v for k, v in models.__dict__.items() if isinstance(v, type)})  # type: ignore[no-untyped-call]


class _Unusual(Exception):
    """A value the fast path does not know msrest's answer for: msrest serialises the model."""


def wire(model: Model, type_name: str) -> Any:
    """``model`` as msrest's ``Serializer.body(model, type_name)`` puts it on the wire (camelCase
    keys, ``None`` left out, enums as their values), without msrest's deserialise-validate-
    serialise round trip. Anything unusual (a dict where a model belongs, a type it does not
    know) goes to msrest itself; a test compares the two."""
    try:
        return _model(model)
    except _Unusual:
        return _MSREST.body(model, type_name)  # type: ignore[no-untyped-call]


def serialized(model: Model) -> Any:
    """``model.serialize()`` (msrest's JSON form of a model: an invoke response's body), by the
    same fast path as ``wire``; anything unusual is msrest's own."""
    try:
        return _model(model)
    except _Unusual:
        return model.serialize()  # type: ignore[no-untyped-call]


def _model(model: Model) -> dict[str, Any]:
    if not isinstance(model, Model):
        raise _Unusual()  # a dict where a model belongs: msrest would rebuild it as the model first
    out: dict[str, Any] = {}
    for attr, description in type(model)._attribute_map.items():
        value = getattr(model, attr, None)
        if value is not None:
            out[description["key"]] = _value(value, description["type"])
    return out


def _value(value: Any, kind: Any) -> Any:  # noqa: PLR0911 - one branch per msrest type
    if kind == "str":
        if type(value) is str:
            return value
        try:  # msrest's serialize_unicode: an enum's value, anything else as str()
            return value.value
        except AttributeError:
            return str(value)
    if kind == "object":
        return _object(value)
    if kind in ("bool", "int", "float"):
        if type(value) is not {"bool": bool, "int": int, "float": float}[kind]:
            raise _Unusual()
        return value
    if kind == "iso-8601":
        if not isinstance(value, datetime.datetime):
            raise _Unusual()
        return Serializer.serialize_iso(value)  # type: ignore[no-untyped-call]
    if not isinstance(kind, str) or not kind:
        raise _Unusual()
    if kind[0] == "[" and kind[-1] == "]":
        if isinstance(value, str):
            raise _Unusual()
        return [None if item is None else _value(item, kind[1:-1]) for item in value]
    if kind[0] == "{" and kind[-1] == "}":
        if type(value) is not dict:
            raise _Unusual()
        return {_key(k): None if v is None else _value(v, kind[1:-1]) for k, v in value.items()}
    if kind in _MSREST.dependencies and isinstance(value, Model):
        return _model(value)  # by its own class's map, as msrest does (a subclass keeps its fields)
    raise _Unusual()


def _object(value: Any) -> Any:
    """msrest's ``serialize_object``: exact basic types as they are, dicts and lists walked, models
    by their map; anything else (a datetime, an enum, a dict subclass) is left to msrest."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float:
        return value
    if kind is dict:
        return {_key(k): _object(v) for k, v in value.items()}
    if kind is list:
        return [_object(v) for v in value]
    if value is None:
        return None
    if isinstance(value, Model):
        return _model(value)
    raise _Unusual()


def _key(key: Any) -> str:
    if type(key) is not str:
        raise _Unusual()
    return key


# -- errors in botbuilder's shapes -------------------------------------------------------------


class _Answer:
    """What msrest's callers read of a failed answer (``requests.Response``'s names)."""

    def __init__(self, status: int, headers: Mapping[str, str]) -> None:
        self.status_code = status
        self.headers = headers
        self.reason = ""


class ConnectorCallFailed(ErrorResponseException):  # type: ignore[misc]
    """An error status from the Bot Connector, as botbuilder's ``ErrorResponseException``."""

    def __init__(self, failure: ConnectorError) -> None:
        assert failure.status is not None
        ClientException.__init__(self, str(failure))  # msrest's own __init__ would parse a requests answer
        self.message = str(failure)  # content-free: status and code only
        self.response = _Answer(failure.status, failure.headers)
        self.error = ErrorResponse(error=Error(code=failure.code or None, message=failure.message or None))
        self.status, self.code = failure.status, failure.code


class ConnectorUnreachable(ClientRequestError):  # type: ignore[misc]
    """The Bot Connector could not be reached or did not answer in time, as msrest says it."""


def _botbuilder_error(failure: ConnectorError) -> Exception:
    return ConnectorUnreachable(str(failure)) if failure.status is None else ConnectorCallFailed(failure)


# -- tokens ------------------------------------------------------------------------------------

REFRESH_MARGIN = 300.0  # seconds before expiry a token is fetched anew (as MSAL does)
UNKNOWN_LIFETIME = 60.0  # a token whose expiry cannot be read is asked for again after this long


def _expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT access token, unverified (only to know when to refresh it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        return None


class _Tokens:
    """The bearer token of one ``AppCredentials``, kept until shortly before it expires. MSAL's
    ``get_access_token`` is synchronous (and may call Entra ID): it runs in a worker thread, once
    for all callers waiting, and only when the kept token is due; anonymous credentials have none."""

    def __init__(self, credentials: AppCredentials, timeout: float) -> None:
        self._credentials = credentials
        self._timeout = timeout
        app_id = getattr(credentials, "microsoft_app_id", None)
        # AppCredentials._should_set_token: no app id (local mode) or the anonymous skill id, no token.
        self._anonymous = not app_id or app_id == AuthenticationConstants.ANONYMOUS_SKILL_APP_ID
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock: asyncio.Lock | None = None

    async def get(self) -> str | None:
        if self._anonymous:
            return None
        if self._token is not None and time.time() < self._refresh_at:
            return self._token
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._token is None or time.time() >= self._refresh_at:
                try:
                    async with asyncio.timeout(self._timeout):
                        token = await asyncio.to_thread(self._credentials.get_access_token)
                except TimeoutError:
                    raise ConnectorUnreachable("token request timed out") from None
                expiry = _expiry(token)
                self._token = token
                self._refresh_at = (time.time() + UNKNOWN_LIFETIME if expiry is None
                                    else expiry - REFRESH_MARGIN)
            return self._token

    def forget(self) -> None:
        """After a 401: the next call fetches a token anew."""
        self._token, self._refresh_at = None, 0.0


# -- the client ----------------------------------------------------------------------------------


class JsonConversations:
    """The ``conversations`` operations botbuilder's CloudAdapter and this bot's messenger call,
    as JSON; any other operation, or one called with msrest-only options, is msrest's."""

    def __init__(self, inner: Any, session: ConnectorSession, service_url: str, tokens: _Tokens) -> None:
        self._inner = inner
        self._session = session
        self._service_url = service_url
        self._tokens = tokens

    def __getattr__(self, name: str) -> Any:
        if name == "_inner":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self._inner, name)

    async def _call(self, method: str, path: str, body: Any, ok: frozenset[int]) -> Any:
        try:
            return await self._session.call(method, self._service_url, path, token=await self._tokens.get(),
                                            body=body, ok=ok)
        except ConnectorError as failure:
            if failure.status == 401:
                self._tokens.forget()
            raise _botbuilder_error(failure) from None

    async def create_conversation(self, parameters: ConversationParameters, **options: Any) -> Any:
        if options:
            return await self._inner.create_conversation(parameters, **options)
        answer = await self._call("POST", "/v3/conversations", wire(parameters, "ConversationParameters"), _CREATED)
        if not isinstance(answer, dict):
            return None
        return ConversationResourceResponse(activity_id=answer.get("activityId"),
                                            service_url=answer.get("serviceUrl"), id=answer.get("id"))

    async def send_to_conversation(self, conversation_id: str, activity: Activity, **options: Any) -> Any:
        if options:
            return await self._inner.send_to_conversation(conversation_id, activity, **options)
        return _resource(await self._call("POST", conversation_path(conversation_id), wire(activity, "Activity"),
                                          _CREATED))

    async def send_wire(self, conversation_id: str, activity: dict[str, Any]) -> ResourceResponse | None:
        """``send_to_conversation`` of an activity already in its wire form (``wire_card``):
        the same POST, with no model to serialise (the sweep's digests, issue 16)."""
        return _resource(await self._call("POST", conversation_path(conversation_id), activity, _CREATED))

    async def reply_to_activity(self, conversation_id: str, activity_id: str, activity: Activity,
                                **options: Any) -> Any:
        if options:
            return await self._inner.reply_to_activity(conversation_id, activity_id, activity, **options)
        return _resource(await self._call("POST", conversation_path(conversation_id, activity_id),
                                          wire(activity, "Activity"), _CREATED))

    async def update_activity(self, conversation_id: str, activity_id: str, activity: Activity,
                              **options: Any) -> Any:
        if options:
            return await self._inner.update_activity(conversation_id, activity_id, activity, **options)
        return _resource(await self._call("PUT", conversation_path(conversation_id, activity_id),
                                          wire(activity, "Activity"), _CREATED))

    async def delete_activity(self, conversation_id: str, activity_id: str, **options: Any) -> None:
        if options:
            await self._inner.delete_activity(conversation_id, activity_id, **options)
            return
        await self._call("DELETE", conversation_path(conversation_id, activity_id), None, _DELETED)


def _resource(answer: Any) -> ResourceResponse | None:
    return ResourceResponse(id=answer.get("id")) if isinstance(answer, dict) else None


# -- issue 16: the sweep's digests, posted without a turn (bot.teams.messenger.remind) ------------

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


def wire_card(card: dict[str, Any], summary: str) -> dict[str, Any]:
    """``MessageFactory.attachment(CardFactory.adaptive_card(card))`` with ``summary`` (a digest, a
    recipient's card), in the wire form ``wire`` gives it (a test compares the two). ``card`` is a
    bound template (``Cards``): JSON types only, sent as it is."""
    return {"type": "message", "attachmentLayout": "list", "summary": summary,
            "attachments": [{"contentType": CARD_TYPE, "content": card}]}


async def send_wire(client: Any, conversation_id: str, activity: dict[str, Any]) -> ResourceResponse | None:
    """POST ``activity`` (wire form) to the conversation on ``client``: as it is on a
    ``JsonConnectorClient``; msrest's client gets the model msrest makes of it."""
    conversations = client.conversations
    if isinstance(conversations, JsonConversations):
        return await conversations.send_wire(conversation_id, activity)
    answer = await conversations.send_to_conversation(conversation_id, Activity.deserialize(activity))
    return answer if isinstance(answer, ResourceResponse) else None


class JsonConnectorClient:
    """A ``ConnectorClient`` whose ``conversations`` post JSON on the shared session; the rest of
    it (``config`` with its credentials, ``attachments``, ...) is the msrest client it wraps."""

    def __init__(self, inner: ConnectorClient, session: ConnectorSession) -> None:
        self._inner = inner
        tokens = _Tokens(inner.config.credentials, session.timeout)
        self.conversations = JsonConversations(inner.conversations, session, inner.config.base_url, tokens)

    def __getattr__(self, name: str) -> Any:
        if name == "_inner":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self._inner, name)


__all__ = ["ConnectorCallFailed", "ConnectorUnreachable", "JsonConnectorClient", "JsonConversations", "wire_card",
           "send_wire", "serialized", "wire"]
