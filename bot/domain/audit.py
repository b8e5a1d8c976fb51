"""The audit trail's hash chain: each event carries an HMAC over its predecessor's and its own
fields, under a key the bot holds. Editing, deleting or reordering an event breaks every link
from there on, and nobody without the key can recompute the chain."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC

from bot.domain.model import AuditEvent

GENESIS = ""


def canonical(event: AuditEvent, seq: int) -> bytes:
    """The fields a link covers, in a fixed order and notation."""
    fields = [seq, event.at.astimezone(UTC).isoformat(), event.event, event.subject, event.actor,
              event.agency.value if event.agency else None, event.reason]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def link(key: bytes, previous: str, event: AuditEvent, seq: int) -> str:
    return hmac.new(key, previous.encode() + b"|" + canonical(event, seq), hashlib.sha256).hexdigest()
