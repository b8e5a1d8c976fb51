"""What every part of the bench shares: paths, environments for child processes, activities."""

from __future__ import annotations

import base64
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import PYCACHE

ROOT = Path(__file__).resolve().parents[1]
DIRECTORY_FILE = ROOT / "examples" / "clients.json"
BOT = {"id": "28:terugkoppeling-bot", "name": "Terugkoppeling"}
COUNSELLOR_TENANT = "tenant-vdab"
ELS_AAD = "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e01"
ELS_TENANT = "2b7d0c6e-1f4a-4b8e-9c3d-aaaa00000002"
CLIENT = {"naam": "Amina El Idrissi", "geboortedatum": "1990-04-12"}


def new_data_key() -> str:
    """A fresh ``BOT_DATA_KEY``: base64 of 32 random bytes."""
    return base64.b64encode(os.urandom(32)).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no inherited bot settings, the repo importable, bytecode
    cached under ``PYCACHE`` (see ``bench/__init__.py``)."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BOT_", "Microsoft", "HOST", "PORT", "PYTHONDONTWRITEBYTECODE"))}
    return {**clean, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(PYCACHE), **extra}


def bot_env(db: Path, connector_url: str, data_key: str, port: int) -> dict[str, str]:
    """``python -m bot`` in local mode on a SQLite file, talking to the loopback connector."""
    return child_env(
        BOT_STORE=f"sqlite:///{db}", BOT_DATA_KEY=data_key, BOT_TEAMS_SERVICE_URL=connector_url,
        BOT_DIRECTORY_FILE=str(DIRECTORY_FILE), HOST="127.0.0.1", PORT=str(port), BOT_SWEEP_INTERVAL_SECONDS="0",
        # The bench sends hundreds of cards a second to one recipient's chat, far past Teams' limits
        # (7/s, 60 per 30 s per conversation); the limiter would make every row measure its waits.
        # It is measured on its own (``bench/ratelimit.py``, tests/e2e/test_sweep_rate_limits.py).
        BOT_TEAMS_TENANT_RATE="1000000", BOT_TEAMS_CONVERSATION_RATE="1000000",
        BOT_TEAMS_CONVERSATION_PER_30S="1000000", BOT_TEAMS_CONVERSATION_PER_HOUR="1000000",
    )


@dataclass(frozen=True)
class Person:
    """Someone in Teams with a personal chat with the bot (as ``tests/support/teams.py`` TeamsUser)."""

    aad: str
    tenant: str
    name: str
    conversation_id: str

    @classmethod
    def counsellor(cls, n: int) -> Person:
        aad = f"aad-user-{n}"
        return cls(aad, COUNSELLOR_TENANT, f"Bemiddelaar {n}", f"a:personal-{aad}")

    def activity(self, service_url: str, **fields: Any) -> dict[str, Any]:
        base = {
            "type": "message",
            "id": str(uuid.uuid4()),
            "timestamp": datetime.now(UTC).isoformat(),
            "channelId": "msteams",
            "serviceUrl": service_url,
            "from": {"id": f"29:{self.aad}", "name": self.name, "aadObjectId": self.aad},
            "recipient": dict(BOT),
            "conversation": {"id": self.conversation_id, "conversationType": "personal", "tenantId": self.tenant},
            "channelData": {"tenant": {"id": self.tenant}},
            "locale": "nl-BE",
        }
        return {**base, **fields}

    def message(self, service_url: str, text: str) -> dict[str, Any]:
        return self.activity(service_url, text=text)

    def click(self, service_url: str, verb: str, data: dict[str, Any], reply_to: str | None) -> dict[str, Any]:
        """An ``adaptiveCard/action`` invoke, as Teams sends it for an ``Action.Execute``."""
        value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
        return self.activity(service_url, type="invoke", name="adaptiveCard/action", value=value, replyToId=reply_to)


def els(conversation_id: str) -> Person:
    """The recipient, Els Peeters (Atlas), in the 1:1 chat the bot opened with her."""
    return Person(ELS_AAD, ELS_TENANT, "Els Peeters", conversation_id)


def action_data(card: dict[str, Any], verb: str) -> dict[str, Any] | None:
    """The ``data`` of the card's ``Action.Execute`` with ``verb`` (as ``tests/support/cards.py``)."""
    return next((a.get("data") or {} for a in card.get("actions", []) if a.get("verb") == verb), None)
