"""The client directory from a JSON file: the embedded stand-in for VDAB's client system."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from bot.domain.model import DirectoryClient
from bot.domain.template import Identity


class _DirectoryFile(BaseModel):
    clients: list[DirectoryClient]


class FileDirectory:
    """Reads the whole file once; call ``reload()`` after it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reload()

    def reload(self) -> None:
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self._clients = _DirectoryFile.model_validate(data).clients

    def __len__(self) -> int:
        return len(self._clients)

    async def find(self, identity: Identity) -> list[DirectoryClient]:
        # Matching is the domain's rule; the adapter narrows by birth date, which is exact.
        return [c for c in self._clients if c.geboortedatum == identity.geboortedatum]
