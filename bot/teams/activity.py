"""Typed views of what Teams sends, parsed at the edge so nothing downstream sees raw dicts."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.domain.model import Actor, Address
from bot.teams.verbs import Verb

_ID = r"^[A-Za-z0-9_-]{8,64}$"
# "<at>Terugkoppeling</at> /terugkoppeling" is 40 characters: a longer message is never a command,
# and is not parsed as one (parsing is linear anyway, but a message of 200 KB costs nothing).
_MAX_COMMAND = 200
# All of a card's string inputs together: the template's fields allow about 1,000 characters and
# the cards say so (maxLength), so no Teams client sends more. Up to this bound an over-long field
# is reported next to the field (``too_long``); past it the action is not one a card could send.
MAX_INPUT_CHARS = 8_000


class ActionData(BaseModel):
    """``action.data`` of an ``Action.Execute``: our ids plus the card's input values."""

    model_config = ConfigDict(extra="allow")

    draft: str | None = Field(default=None, pattern=_ID)
    handoff: str | None = Field(default=None, pattern=_ID)
    poging: int | None = Field(default=None, ge=0, le=1000)  # which delivery attempt posted the card
    pagina: int | None = Field(default=None, ge=1, le=1000)  # issue 14: a page of ``openstaand``

    @model_validator(mode="after")
    def _bounded(self) -> ActionData:
        if sum(len(v) for v in self.inputs().values()) > MAX_INPUT_CHARS:
            raise ValueError("card inputs too long")  # content-free; parse_invoke turns it into None
        return self

    def inputs(self) -> dict[str, str]:
        """The card's inputs, whole; Teams sends them as strings, anything else is dropped.

        Never cut: the template reports an over-long value next to its field (``too_long``) after
        trimming; inputs past ``MAX_INPUT_CHARS`` in all make the whole action invalid."""
        extra = self.model_extra or {}
        return {k: v for k, v in extra.items() if isinstance(v, str) and len(k) <= 64}


class ExecuteAction(BaseModel):
    type: Literal["Action.Execute"]
    verb: Verb
    data: ActionData = Field(default_factory=ActionData)

    @field_validator("data", mode="before")
    @classmethod
    def _data_object(cls, value: Any) -> Any:
        return {} if value is None else value


class AdaptiveCardInvoke(BaseModel):
    """The value of an ``adaptiveCard/action`` invoke (Universal Actions)."""

    action: ExecuteAction
    trigger: str | None = None


def parse_invoke(value: Any) -> ExecuteAction | None:
    """The action, or None when the invoke is malformed (never an exception)."""
    try:
        return AdaptiveCardInvoke.model_validate(value).action
    except ValidationError:
        return None


def command_text(text: str | None) -> str:
    """A message's text without @mentions, trimmed and lower-cased, leading '/' removed.

    One pass with ``str.find`` (no regex: ``<at>.*?</at>`` is quadratic on an unclosed ``<at>``);
    a message longer than any command is not one ("")."""
    if not isinstance(text, str) or len(text) > _MAX_COMMAND:
        return ""
    lowered = text.lower()
    kept: list[str] = []
    position = 0
    while (start := lowered.find("<at>", position)) != -1:
        end = lowered.find("</at>", start + 4)
        if end == -1:
            break  # an unclosed mention stays as text, as it always did
        kept.extend((lowered[position:start], " "))
        position = end + 5
    kept.append(lowered[position:])
    return "".join(kept).strip().removeprefix("/").strip()


def _url_safe_id(value: str | None) -> str | None:
    """Ids that go into the Connector's URL paths (``/v3/conversations/{id}/activities``): Teams's are
    printable ASCII (``a:1…``, ``19:…@thread.v2``, ``29:1…``); anything else could not be sent to at all
    (botbuilder's HTTP client fails to encode it: a 500, found by the fuzz test), so it is refused."""
    if value is not None and not (value.isascii() and value.isprintable() and " " not in value):
        raise ValueError("not an id Teams sends")
    return value


class _Account(BaseModel):
    model_config = ConfigDict(strict=True)

    id: str | None = None
    name: str | None = None
    aadObjectId: str | None = None  # noqa: N815 - the wire name

    _id = field_validator("id", "aadObjectId")(_url_safe_id)


class _Conversation(BaseModel):
    model_config = ConfigDict(strict=True)

    id: str | None = None
    conversationType: str | None = None  # noqa: N815
    tenantId: str | None = None  # noqa: N815

    _id = field_validator("id", "tenantId")(_url_safe_id)


class _Tenant(BaseModel):
    model_config = ConfigDict(strict=True)

    id: str | None = None


class _ChannelData(BaseModel):
    model_config = ConfigDict(strict=True)

    tenant: _Tenant | None = None


class _Envelope(BaseModel):
    """The fields that say who is speaking, where: each a string (or absent), never coerced.

    botbuilder's msrest turns ``{"aadObjectId": {}}`` into the id ``"{}"``; this refuses it."""

    model_config = ConfigDict(strict=True, populate_by_name=True)

    type: str
    id: str | None = None
    name: str | None = None
    text: str | None = None
    serviceUrl: str | None = None  # noqa: N815
    channelId: str | None = None  # noqa: N815
    replyToId: str | None = None  # noqa: N815
    locale: str | None = None
    from_: _Account | None = Field(default=None, alias="from")
    recipient: _Account | None = None
    conversation: _Conversation | None = None
    channelData: _ChannelData | None = None  # noqa: N815

    @field_validator("serviceUrl")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        # Replies go to this URL: one that is not http(s) with a host cannot be called at all.
        if value is not None:
            try:
                parts = urlsplit(value)
                usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
            except ValueError:  # e.g. "http://[::1" or a port out of range
                usable = False
            if not usable or not value.isprintable() or " " in value:
                raise ValueError("not an http(s) URL")
        return value


def well_typed(body: dict[str, Any]) -> bool:
    """True when the activity's identity and routing fields have the types Teams sends."""
    try:
        _Envelope.model_validate(body)
    except (ValidationError, RecursionError):
        return False
    return True


def actor_of(activity: Any) -> Actor | None:
    """Who sent the activity, by Entra ID object id and tenant; None if Teams did not say."""
    sender = activity.from_property
    aad = getattr(sender, "aad_object_id", None) if sender else None
    tenant = _tenant_of(activity)
    if not isinstance(aad, str) or not aad or not tenant:
        return None
    name = sender.name if isinstance(sender.name, str) else ""
    return Actor(aad_object_id=aad, tenant_id=tenant, name=name[:100])


def address_of(activity: Any) -> Address:
    """Where to reach this conversation again later."""
    return Address(
        service_url=activity.service_url,
        conversation_id=activity.conversation.id,
        tenant_id=_tenant_of(activity) or "",
        user_id=activity.from_property.id,
        bot_id=activity.recipient.id if activity.recipient else "",
        bot_name=(activity.recipient.name or "") if activity.recipient else "",
        channel_id=activity.channel_id or "msteams",
    )


def is_personal(activity: Any) -> bool:
    """Teams marks 1:1 chats ``personal``; anything else (or nothing) is not private enough."""
    return getattr(activity.conversation, "conversation_type", None) == "personal"


def _tenant_of(activity: Any) -> str | None:
    """Teams names the tenant in channelData; conversation.tenantId is the fallback."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = channel_data.get("tenant")
    tenant_id = tenant.get("id") if isinstance(tenant, dict) else None
    if isinstance(tenant_id, str) and tenant_id:
        return tenant_id
    fallback = getattr(activity.conversation, "tenant_id", None)
    return fallback if isinstance(fallback, str) and fallback else None
