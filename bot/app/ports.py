"""The seams between the use cases and the outside world."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.audit import Checkpoint
from bot.domain.handoff import Change, Draft, FingerprintMark, Handoff
from bot.domain.model import Agency, AuditEvent, Delivery, DirectoryClient, DpoContact, Notification, Recipient
from bot.domain.template import Identity

Events = Sequence[AuditEvent]


class Conflict(Exception):
    """A write lost a race: the record changed (or appeared) since it was read."""


class StoreUnavailable(Exception):
    """The store cannot be reached right now; nothing was half-written, and trying again is safe."""


class Unreadable(Exception):
    """A stored record cannot be opened (its key is not among the configured ones, or it is
    damaged). Content-free: only the record's id and why."""

    def __init__(self, record_id: str, why: str) -> None:
        super().__init__(f"record {record_id} cannot be read ({why})")
        self.record_id = record_id
        self.why = why


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """In a list of due work: a record that could not be opened, reported and skipped."""

    record_id: str
    why: str


class DirectoryUnavailable(Exception):
    """VDAB's client-tracking system could not answer (down, slow, refused us, or answered
    something unexpected). Content-free: ``reason`` is a short code for the audit, e.g.
    ``timeout``, ``status_503``, ``malformed``, ``circuit_open``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"client directory unavailable ({reason})")
        self.reason = reason


class RecipientUnresolved(Exception):
    """The directory named a trajectbegeleider (by e-mail/UPN) whom Microsoft Graph could not
    resolve to an Entra object id in the agency's tenant. ``reason`` is content-free."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"recipient could not be resolved ({reason})")
        self.reason = reason


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class ClientDirectory(Protocol):
    async def find(self, identity: Identity) -> list[DirectoryClient]:
        """Directory entries that match this name and birth date (any order of the name's words).

        Raises ``DirectoryUnavailable`` when the directory cannot answer, and
        ``RecipientUnresolved`` when a match's trajectbegeleider cannot be resolved."""
        ...

    async def lookup(self, klant_id: str) -> DirectoryClient | None:
        """The client as the directory knows them now (label, trajectbegeleider), or ``None``.
        Raises like ``find``."""
        ...

    async def colleagues(self, agency: Agency) -> list[Recipient]:
        """Issue 14, "Doorsturen": the trajectbegeleiders of ``agency`` the directory knows, reachable
        in Teams. Raises like ``find``."""
        ...


class Notice(StrEnum):
    """What the counsellor is told about their handoff, by reference only."""

    TRANSFERRED = "transferred"
    RETURNED = "returned"
    DELIVERED_LATE = "delivered_late"  # after "wordt verstuurd": the outbox got it through
    UNDELIVERABLE = "undeliverable"  # the outbox gave up; the content is purged
    UNCONFIRMED = "unconfirmed"  # the recipient was reminded the maximum number of times
    EXPIRED = "expired"  # the retention cap purged it unconfirmed
    NO_LONGER_ELIGIBLE = "no_longer_eligible"  # withdrawn before delivery: label lost or recipient changed
    PROTOCOL_ENDED = "protocol_ended"  # withdrawn: the protocol, or the agency's participation, ended
    INCIDENT_WITHDRAWN = "incident_withdrawn"  # withdrawn: a breach reported later (``incidents report``)
    # -- issue 14: handed to another trajectbegeleider of the agency --
    REASSIGNED = "reassigned"  # by the recipient ("Doorsturen naar een collega")
    REASSIGNED_TO_BACKUP = "reassigned_to_backup"  # nobody reacted after the reminders: the agency's backup


@dataclass(frozen=True, slots=True)
class CardRemoval:
    """What became of the recipient's card (F.3, art. 6): overwritten with a content-free card,
    deleted, and the status of the connector call that failed, if one did."""

    overwritten: bool
    deleted: bool
    status: int | None = None
    retryable: bool = False  # the failed call is worth trying again (429/5xx/network)

    @property
    def content_left(self) -> bool:
        return not self.overwritten


class Messenger(Protocol):
    async def deliver(self, handoff: Handoff) -> Delivery:
        """Put the terugkoppeling in the recipient's 1:1 chat; raise ``DeliveryError`` if not."""
        ...

    async def withdraw(self, handoff: Handoff) -> CardRemoval:
        """Overwrite the recipient's card with a content-free one, delete it, and confirm briefly
        (only once the content is gone); say what happened."""
        ...

    async def retract_draft_card(self, draft: Draft) -> None:
        """Overwrite the counsellor's card of a draft that ended unsent with a content-free one."""
        ...

    async def remind(self, handoffs: Sequence[Handoff]) -> None:
        """One reminder message to one recipient listing ``handoffs`` (all theirs, references,
        senders and dates only, each with a button that shows its card); raise ``DeliveryError``
        if it did not go out."""
        ...

    async def notify_counsellor(self, handoff: Handoff, notice: Notice) -> None:
        """Tell the counsellor what became of their handoff (reference only)."""
        ...

    async def remove_copy(self, handoff: Handoff, copy: Delivery) -> CardRemoval:
        """Issue 14: overwrite the previous recipient's ``copy`` with a content-free card ("doorgestuurd")
        and delete it; say what happened."""
        ...

    async def notify_dpo(self, contact: DpoContact, incident: IncidentNotice) -> None:
        """Tell one DPO of an incident: a card in their 1:1 chat or an e-mail (Graph ``sendMail``);
        raise ``DeliveryError`` if not."""
        ...


@dataclass(frozen=True, slots=True)
class IncidentNotice:
    """What a DPO is told of an incident (art. 9), content-free: ``fields`` are template field
    names, never values; ``actions`` say what the bot did (codes, worded by the Teams layer)."""

    notification_id: str  # carried by the card's "Kennis genomen"
    incident: int
    reference: str
    category: str
    agency: str
    detected_at: datetime
    notified_at: datetime
    fields: tuple[str, ...]
    actions: tuple[str, ...]
    sender_mailbox: str = ""
    sender_tenant: str = ""


class DeliveryError(Exception):
    """The recipient's chat could not be reached (after the messenger's own bounded retries)."""

    # Why, when it is more than "Teams refused": "not_installed" = the app could not be installed
    # for the recipient (their tenant's administrator has to act). Content-free; audited.
    reason: str | None = None

    def __init__(self, status: int | None, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(f"delivery failed (status {status}, retryable={retryable})")
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after  # seconds, from the connector's Retry-After header


class Store(abc.ABC):
    """Everything the bot keeps. Every backend passes ``tests/integration/test_store_contract.py``.

    Contract:
    - ``client`` data is sealed at rest, one key per record; when a record's ``client`` becomes
      ``None`` (or the record is deleted) its ciphertext and its key are deleted with it.
    - ``save_*`` is optimistic: it succeeds only if the stored ``version`` equals the given
      record's, and returns the record with the next version; otherwise it raises ``Conflict``.
    - ``add_handoff`` is create-only, and at most one handoff exists per draft id; ``add_draft`` is
      create-only, and at most one draft exists per owner (``Conflict`` for a second).
    - Every write takes the audit ``events`` its change implies and appends them in the same
      atomic write (nothing or everything); ``save_handoff`` also records the fingerprint
      (``mark_sent``) and deletes the draft (``drop_draft``) in that write. ``delete_draft``
      appends its events only if this call deleted the draft.
    - ``due_handoffs`` and ``expired_drafts`` find due work through an index on the due time,
      oldest first, never by reading every record; a handoff with ``due_at`` None is never due.
      A record that cannot be opened comes back as ``UnreadableRecord``, never as an exception
      that hides the others; ``get_*`` raise ``Unreadable`` for it.
    - Audit events are append-only (the retention sweep alone removes the oldest, behind a
      checkpoint: ``prune_audit``) and come back in the order they were appended, numbered
      1, 2, 3 … (``seq``) and chained: ``mac = link(sealer.audit_key, previous mac, event, seq)``
      (``bot.domain.audit``), computed in the same atomic write that appends the event.
    """

    @abc.abstractmethod
    async def add_draft(self, draft: Draft, events: Events = ()) -> Draft: ...

    @abc.abstractmethod
    async def get_draft(self, draft_id: str) -> Draft | None: ...

    @abc.abstractmethod
    async def save_draft(self, draft: Draft, events: Events = ()) -> Draft: ...

    @abc.abstractmethod
    async def delete_draft(self, draft_id: str, events: Events = ()) -> bool:
        """Delete the draft and its sealed data; ``True`` if this call deleted it."""

    @abc.abstractmethod
    async def draft_of(self, owner: str) -> str | None:
        """The id of the counsellor's unfinished draft (``Draft.owner``); at most one exists."""

    @abc.abstractmethod
    async def expired_drafts(self, now: datetime, limit: int) -> list[str]:
        """Ids of drafts whose ``expires_at`` has passed."""

    @abc.abstractmethod
    async def add_handoff(self, handoff: Handoff, events: Events = ()) -> Handoff: ...

    @abc.abstractmethod
    async def get_handoff(self, handoff_id: str) -> Handoff | None: ...

    @abc.abstractmethod
    async def handoff_for_draft(self, draft_id: str) -> Handoff | None: ...

    @abc.abstractmethod
    async def handoff_by_reference(self, reference: str) -> Handoff | None:
        """The handoff people know as ``reference`` (``TK-…``), while its envelope is kept."""

    @abc.abstractmethod
    async def save_handoff(
        self, handoff: Handoff, events: Events = (), *, mark_sent: FingerprintMark | None = None,
        drop_draft: str | None = None,
    ) -> Handoff: ...

    @abc.abstractmethod
    async def delete_handoff(self, handoff_id: str, events: Events = ()) -> None: ...

    # -- batched sweep writes (issue 16) ---------------------------------------------------------

    async def save_handoffs(self, changes: Sequence[tuple[Handoff, Events]]) -> list[Handoff | None]:
        """Many ``save_handoff`` at once, for sweep steps that change a record's envelope only (a
        claim, a reminder) and none of its lookup keys but the due time (its recipient, state and
        counsellor stay: the pending and overview indexes are left as they are):
        ``changes`` are (record as read, with its changes applied; its events).
        Each is optimistic on its own: one whose stored version moved on is not written (``None``
        in its place) and the others are. The client data must be as stored: it is neither read
        nor written (no decryption). Backends write them in as few atomic writes as they can (one
        SQLite transaction; entity-group transactions on Table Storage), each record together with
        its events. This default writes them one by one."""
        saved: list[Handoff | None] = []
        for handoff, events in changes:
            try:
                saved.append(await self.save_handoff(handoff, events))
            except Conflict:
                saved.append(None)
        return saved

    @abc.abstractmethod
    async def due_handoffs(self, now: datetime, limit: int) -> list[Handoff | UnreadableRecord]:
        """Handoffs whose ``due_at`` has passed, earliest first."""

    @abc.abstractmethod
    async def sweep_keys(self, now: datetime | None = None) -> int:
        """Delete per-record keys that no stored ciphertext names any more (left by a crash between
        the key store's write and the content's); how many."""

    @abc.abstractmethod
    async def count_open(self) -> int:
        """How many handoffs are open (the ``handoffs.open`` metric): a count, never a record."""

    @abc.abstractmethod
    async def open_handoffs(self, limit: int) -> list[Handoff | UnreadableRecord]:
        """Handoffs not yet closed (in the outbox or waiting for "Overgezet"), for when the protocol
        ends; oldest first."""

    # -- the counsellor's overview (issue 14) ----------------------------------------------------

    @abc.abstractmethod
    async def counsellor_handoffs(self, owner: str, limit: int, offset: int = 0) -> list[Handoff | UnreadableRecord]:
        """The handoffs of one counsellor (``Handoff.owner``), open and closed ones not yet
        forgotten, newest first (skipping ``offset``), through an index on the owner: never another
        counsellor's, never a scan of every record."""

    @abc.abstractmethod
    async def next_due(self) -> datetime | None:
        """The earliest ``due_at`` or draft expiry, so a sweeper can sleep until then."""

    @abc.abstractmethod
    async def last_sent(self, fingerprint: str) -> datetime | None:
        """When a terugkoppeling for this client fingerprint was last sent, if ever."""

    @abc.abstractmethod
    async def mark_sent(self, fingerprint: str, at: datetime) -> None: ...

    @abc.abstractmethod
    async def append_audit(self, *events: AuditEvent) -> None:
        """Events that change no record (a refusal and its incident), appended together."""

    @abc.abstractmethod
    async def audit_events(self, since: datetime | None = None, until: datetime | None = None) -> list[AuditEvent]: ...

    @abc.abstractmethod
    async def audit_head(self) -> int:
        """The highest ``seq`` ever appended (kept apart from the events: truncation shows)."""

    @abc.abstractmethod
    async def ended_with_content(self) -> list[str]:
        """References of closed handoffs that still hold client data: must always be empty."""

    @abc.abstractmethod
    async def sealed_key_ids(self) -> dict[str, int]:
        """How many stored records hold client data sealed under each master key id
        (``Sealer.key_id``): what start-up checks against the configured keys. Ids only."""

    # -- DPO notifications (art. 9, ``bot.app.incidents``) ---------------------------------------

    @abc.abstractmethod
    async def incident_events(self, after: int, limit: int) -> list[AuditEvent]:
        """Incident events with ``seq > after``, in order (an index range, never the whole trail)."""

    @abc.abstractmethod
    async def incident_cursor(self) -> int:
        """The ``seq`` up to which incidents have notifications (0 at first)."""

    @abc.abstractmethod
    async def add_notifications(self, notifications: Sequence[Notification], cursor: int) -> int:
        """Create the notifications not there yet (same id: skipped) and move the cursor up to
        ``cursor`` (never down); how many were created."""

    @abc.abstractmethod
    async def get_notification(self, notification_id: str) -> Notification | None: ...

    @abc.abstractmethod
    async def save_notification(self, notification: Notification, events: Events = ()) -> Notification:
        """Optimistic like ``save_*`` (``Conflict``), with its audit events in the same write."""

    @abc.abstractmethod
    async def due_notifications(self, now: datetime, limit: int) -> list[Notification]:
        """Notifications whose ``due_at`` has passed, earliest first, through an index on it."""

    @abc.abstractmethod
    async def notifications(self) -> list[Notification]:
        """Every notification, for ``python -m bot incidents``."""

    # -- the bot's own retention (issue 15, ``bot.app.retention``) -------------------------------

    @abc.abstractmethod
    async def forget_fingerprints(self, before: datetime, limit: int, events: Callable[[int], Events]) -> int:
        """Delete at most ``limit`` client fingerprints last sent before ``before``, found through an
        index on that time (never a scan), with the audit ``events(count)`` in the same write; how many."""

    @abc.abstractmethod
    async def audit_checkpoint(self) -> Checkpoint | None:
        """Where the trail resumes after pruning (``None``: nothing was ever pruned)."""

    @abc.abstractmethod
    async def audit_after(self, after: int, limit: int) -> list[AuditEvent]:
        """At most ``limit`` events with ``seq > after``, in order: a range of the numbers, never the trail."""

    @abc.abstractmethod
    async def prune_audit(self, checkpoint: Checkpoint, previous: Checkpoint | None, events: Events) -> int:
        """Replace the checkpoint ``previous`` by ``checkpoint`` (``Conflict`` if another pruner moved
        it first), append ``events`` in the same write, and delete every event up to ``checkpoint.seq``;
        how many were deleted. ``audit_events`` never returns an event at or before the checkpoint."""
    # -- the trajectbegeleider's side (issue 14: openstaand) ----------------------------------------

    @abc.abstractmethod
    async def pending_for(self, recipient: str, offset: int, limit: int) -> list[Handoff | UnreadableRecord]:
        """The handoffs waiting in this trajectbegeleider's chat (``Handoff.pending_key``: delivered,
        not closed), oldest first, from ``offset``: through an index on the recipient, never a scan."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def apply(self, change: Change[Draft] | Change[Handoff]) -> Draft | Handoff | None:
        """Write one lifecycle ``Change`` atomically; the stored record (``None`` once deleted, or
        for a draft another call deleted first)."""
        record = change.record
        if isinstance(record, Draft):
            if change.delete:
                await self.delete_draft(record.id, change.events)
                return None
            if record.version == 0:
                return await self.add_draft(record, change.events)
            return await self.save_draft(record, change.events)
        if change.delete:
            await self.delete_handoff(record.id, change.events)
            return None
        if record.version == 0:
            return await self.add_handoff(record, change.events)
        return await self.save_handoff(record, change.events, mark_sent=change.mark_sent, drop_draft=change.drop_draft)
