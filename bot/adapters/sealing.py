"""What every store backend shares: splitting a record into its clear envelope and sealed client data."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel

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


def restore(model: type[R], sealer: Sealer, doc: str, sealed: Sealed | None) -> R:
    data = json.loads(doc)
    if sealed is not None:
        data["client"] = json.loads(sealer.open(data["id"], sealed))
    return model.model_validate(data)
