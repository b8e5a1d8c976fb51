"""What every store backend shares: splitting a record into its clear envelope and sealed client data.

Both backends keep a record's wrapped key in a key store apart from its ciphertext (another SQLite
file, another table), so that a copy of the content taken before a purge opens with nothing the bot
holds after it. The ciphertext names its key by ``key_ref``: each seal has a key of its own, so a
new key can be written before the content that needs it, and the old one deleted after.
"""

from __future__ import annotations

import hashlib
import json
from typing import TypeVar

from pydantic import BaseModel

from bot import logs
from bot.adapters.crypto import Sealed, Sealer
from bot.domain.model import ClientData

R = TypeVar("R", bound=BaseModel)


def envelope(record: BaseModel) -> str:
    """The record without its client data, as JSON: safe to keep in clear."""
    return record.model_dump_json(exclude={"client"})


def seal_client(sealer: Sealer, record_id: str, client: ClientData | None) -> Sealed | None:
    if client is None:
        return None
    return sealer.seal(record_id, client.model_dump_json().encode())


def key_ref(sealed: Sealed) -> str:
    """Names one sealed version's key in the key store (a digest of the wrapped key: no secret)."""
    return hashlib.sha256(b"key-ref|" + sealed.wrapped_key).hexdigest()[:16]


def restore(model: type[R], sealer: Sealer, doc: str, sealed: Sealed | None) -> R:
    data = json.loads(doc)
    if sealed is not None:
        data["client"] = json.loads(sealer.open(data["id"], sealed))
        logs.sensitive(*_strings(data["client"]))  # in clear now: no log line may carry it
    return model.model_validate(data)


def _strings(value: object) -> list[str]:
    """Every string in decrypted client data, dates also as people write them (dd/mm/jjjj)."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, str):
        parts = value.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            return [value, f"{parts[2]}/{parts[1]}/{parts[0]}"]
        return [value]
    return []
