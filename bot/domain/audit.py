"""The audit trail's hash chain: each event carries an HMAC over its predecessor's and its own
fields, under a key the bot holds. Editing, deleting or reordering an event breaks every link
from there on, and nobody without the key can recompute the chain."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from bot.domain.model import AuditEvent

GENESIS = ""


def canonical(event: AuditEvent, seq: int) -> bytes:
    """The fields a link covers, in a fixed order and notation."""
    fields = [seq, event.at.astimezone(UTC).isoformat(), event.event, event.subject, event.actor,
              event.agency.value if event.agency else None, event.reason]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def link(key: bytes, previous: str, event: AuditEvent, seq: int) -> str:
    return hmac.new(key, previous.encode() + b"|" + canonical(event, seq), hashlib.sha256).hexdigest()


# -- the bot's own retention (issue 15): a checkpoint anchors the chain once old events are pruned --

CHECKPOINT_FORMAT = "terugkoppeling-audit-checkpoint/1"


class Checkpoint(BaseModel):
    """Where the trail resumes after its oldest events were pruned: the last pruned event's number
    and link, how many were pruned in all, and the period they covered. ``seal`` is an HMAC under the
    audit key (like the chain's links); ``signature`` an Ed25519 signature by the evidence signing
    key, when the sweep had it. Both cover exactly ``signed_bytes``. Content-free by construction."""

    model_config = ConfigDict(frozen=True)

    seq: int  # the last pruned event: the chain resumes at seq + 1, linked on from ``mac``
    mac: str
    count: int  # events pruned since the trail began (all checkpoints together)
    first_at: datetime  # the oldest pruned event
    last_at: datetime  # the newest pruned event
    made_at: datetime
    seal: str = ""
    signature: str = ""  # base64, or empty when unsigned
    signed_by: str = ""  # the signing key's fingerprint (``bot.app.signing.fingerprint``)

    def signed_bytes(self) -> bytes:
        fields = [CHECKPOINT_FORMAT, self.seq, self.mac, self.count, self.first_at.astimezone(UTC).isoformat(),
                  self.last_at.astimezone(UTC).isoformat(), self.made_at.astimezone(UTC).isoformat()]
        return json.dumps(fields, separators=(",", ":")).encode()


def checkpoint_seal(key: bytes, checkpoint: Checkpoint) -> str:
    """The checkpoint's HMAC under the audit key (domain-separated from the chain's links)."""
    return hmac.new(key, b"checkpoint|" + checkpoint.signed_bytes(), hashlib.sha256).hexdigest()
