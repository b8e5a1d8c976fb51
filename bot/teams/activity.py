"""Typed views of what Teams sends, parsed at the edge so nothing downstream sees raw dicts."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain.model import Actor, Address

_ID = r"^[A-Za-z0-9_-]{8,64}$"
_MAX_INPUT = 2000  # a card field longer than this is garbage, not a typo
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)

Verb = Literal[
    "nieuw",
    "identificeer",
    "herbegin",
    "bevestig_herhaling",
    "bekijk",
    "wijzig",
    "annuleer",
    "verstuur",
    "overgezet",
    "niet_mijn_klant",
    "ververs",
]


class ActionData(BaseModel):
    """``action.data`` of an ``Action.Execute``: our ids plus the card's input values."""

    model_config = ConfigDict(extra="allow")

    draft: str | None = Field(default=None, pattern=_ID)
    handoff: str | None = Field(default=None, pattern=_ID)
    poging: int | None = Field(default=None, ge=0, le=1000)  # which delivery attempt posted the card

    def inputs(self) -> dict[str, str]:
        """The card's inputs; Teams sends them as strings, anything else is dropped."""
        extra = self.model_extra or {}
        return {k: v[:_MAX_INPUT] for k, v in extra.items() if isinstance(v, str) and len(k) <= 64}


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
    """A message's text without @mentions, trimmed and lower-cased, leading '/' removed."""
    stripped = _MENTION.sub(" ", text or "").strip().lower()
    return stripped.removeprefix("/").strip()


def actor_of(activity: Any) -> Actor | None:
    """Who sent the activity, by Entra ID object id and tenant; None if Teams did not say."""
    sender = activity.from_property
    aad = getattr(sender, "aad_object_id", None) if sender else None
    tenant = _tenant_of(activity)
    if not aad or not tenant:
        return None
    return Actor(aad_object_id=aad, tenant_id=tenant, name=(sender.name or "")[:100])


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
    return tenant_id or getattr(activity.conversation, "tenant_id", None)
