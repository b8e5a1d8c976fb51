"""What both hosts check of an incoming body, before and after their SDK parses it: one copy.

An activity that fails a check is a 400 on either host (never a 500), and nothing of it enters a
turn. The SDK's own parse sits between ``plausible`` and ``routable``.
"""

from __future__ import annotations

import json
from typing import Any

from bot.teams.activity import well_typed

# A message longer than this is answered as any non-command is, without its text entering the turn
# (where every word of it would be remembered for log redaction).
MAX_MESSAGE_TEXT = 2_000


def _unicode_text(body: dict[str, Any]) -> bool:
    """True when every string in the body (keys too) is text that UTF-8 can carry: a JSON escape
    like ``"\\ud800"`` parses into a lone surrogate half, which no store, log or card can take."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError, ValueError, TypeError):
        return False
    return True


def plausible(body: dict[str, Any]) -> bool:
    """The body could be an activity Teams sent: a string ``type``, identity and routing fields of
    the types Teams sends (``well_typed``), and text UTF-8 can carry. Checked before the SDK parses."""
    return isinstance(body.get("type"), str) and well_typed(body) and _unicode_text(body)


def routable(activity: Any) -> bool:
    """The parsed activity (either SDK's model) names its conversation, service URL and sender.
    A text longer than ``MAX_MESSAGE_TEXT`` is dropped here: never a command, and client data the bot
    has no use for."""
    if not activity.conversation or not activity.conversation.id or not activity.service_url:
        return False
    if not activity.from_property or not activity.from_property.id:
        return False
    if isinstance(activity.text, str) and len(activity.text) > MAX_MESSAGE_TEXT:
        activity.text = ""
    return True
