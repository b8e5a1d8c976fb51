"""The seams between the use cases and the outside world."""

from __future__ import annotations

import abc
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.model import AuditEvent, Delivery, DirectoryClient, Draft, Handoff
from bot.domain.template import Identity


class Conflict(Exception):
    """A write lost a race: the record changed (or appeared) since it was read."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class ClientDirectory(Protocol):
    async def find(self, identity: Identity) -> list[DirectoryClient]:
        """Directory entries that match this name and birth date."""
        ...


class Notice(StrEnum):
    """What the counsellor is told about their handoff, by reference only."""

    TRANSFERRED = "transferred"
    RETURNED = "returned"


class Messenger(Protocol):
    async def deliver(self, handoff: Handoff) -> Delivery:
        """Put the terugkoppeling in the recipient's 1:1 chat; raise ``DeliveryError`` if not."""
        ...

    async def withdraw(self, handoff: Handoff) -> None:
        """Overwrite the recipient's card with a content-free one, delete it, confirm briefly."""
        ...

    async def notify_counsellor(self, handoff: Handoff, notice: Notice) -> None:
        """Tell the counsellor what became of their handoff (reference only)."""
        ...


class DeliveryError(Exception):
    """The recipient's chat could not be reached (after the messenger's own bounded retries)."""

    def __init__(self, status: int | None, retryable: bool) -> None:
        super().__init__(f"delivery failed (status {status}, retryable={retryable})")
        self.status = status
        self.retryable = retryable


class Store(abc.ABC):
    """Everything the bot keeps. Every backend passes ``tests/integration/test_store_contract.py``.

    Contract:
    - ``client`` data is sealed at rest, one key per record; when a record's ``client`` becomes
      ``None`` (or the record is deleted) its ciphertext and its key are deleted with it.
    - ``save_*`` is optimistic: it succeeds only if the stored ``version`` equals the given
      record's, and returns the record with the next version; otherwise it raises ``Conflict``.
    - ``add_handoff`` is create-only, and at most one handoff exists per draft id.
    - Audit events are append-only and come back in the order they were appended.
    """

    @abc.abstractmethod
    async def add_draft(self, draft: Draft) -> Draft: ...

    @abc.abstractmethod
    async def get_draft(self, draft_id: str) -> Draft | None: ...

    @abc.abstractmethod
    async def save_draft(self, draft: Draft) -> Draft: ...

    @abc.abstractmethod
    async def delete_draft(self, draft_id: str) -> None: ...

    @abc.abstractmethod
    async def add_handoff(self, handoff: Handoff) -> Handoff: ...

    @abc.abstractmethod
    async def get_handoff(self, handoff_id: str) -> Handoff | None: ...

    @abc.abstractmethod
    async def handoff_for_draft(self, draft_id: str) -> Handoff | None: ...

    @abc.abstractmethod
    async def save_handoff(self, handoff: Handoff) -> Handoff: ...

    @abc.abstractmethod
    async def delete_handoff(self, handoff_id: str) -> None: ...

    @abc.abstractmethod
    async def last_sent(self, fingerprint: str) -> datetime | None:
        """When a terugkoppeling for this client fingerprint was last sent, if ever."""

    @abc.abstractmethod
    async def mark_sent(self, fingerprint: str, at: datetime) -> None: ...

    @abc.abstractmethod
    async def append_audit(self, event: AuditEvent) -> None: ...

    @abc.abstractmethod
    async def audit_events(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[AuditEvent]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...
