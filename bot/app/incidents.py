"""Art. 9: every incident reaches the DPOs of VDAB and of the agency concerned, exactly once each.

An incident is an audit event (``AuditName.INCIDENT``: ``misdelivery``, ``recipient_not_allowed``,
``content_left_in_teams``). The sweep reads the incident events after a stored cursor (their
audit ``seq``) and creates one ``Notification`` per incident and DPO contact, with an id derived
from both, so however many replicas sweep, each is created once; then it delivers the due ones,
each claimed by a write first (like the outbox), retried with the outbox's backoff
(``Schedule.retry_delay``) up to ``Schedule.max_attempts``. A delivery is audited
(``dpo_notified``) in the same write that marks it sent. A process that dies between sending and
that write sends again once the claim has lapsed: at least once, never more than that.

What a DPO is told is content-free: the reference, the category, the agency, the times, the
names of the template fields that were filled (never their values) and what the bot did. The DPO
acknowledges with "Kennis genomen"; only the DPO the card was sent to can, and it is audited
(``acknowledged``).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.app.ports import Clock, Conflict, DeliveryError, IncidentNotice, Messenger, Store
from bot.domain.model import Actor, AuditEvent, AuditName, DpoContact, DpoSettings, Notification
from bot.domain.schedule import Schedule
from bot.domain.template import IDENTITY_FIELDS, Content

if TYPE_CHECKING:
    from bot.app.services import Terugkoppeling

log = logging.getLogger(__name__)

# Every handoff has the required fields; the optional ones are not known any more once purged.
REQUIRED_FIELDS: tuple[str, ...] = (*IDENTITY_FIELDS, *(n for n, f in Content.model_fields.items() if f.is_required()))
# What the bot did, per category (codes; the Teams layer words them).
ACTIONS: dict[str, tuple[str, ...]] = {
    "misdelivery": ("purged", "card_removed"),
    "recipient_not_allowed": ("refused", "nothing_sent"),
    "content_left_in_teams": ("purged", "card_not_removed"),
    # Reported by a person afterwards (``python -m bot incidents report``), e.g. a trajectbegeleider
    # who phoned that the client is not theirs after the card was already closed.
    "wrong_recipient": ("reported", "withdrawn_if_open"),
    "other_breach": ("reported", "withdrawn_if_open"),
}
REPORTABLE = ("wrong_recipient", "other_breach")
NOTHING_SENT = frozenset({"recipient_not_allowed"})


def notification_id(incident: int, contact: DpoContact) -> str:
    """The same incident and contact give the same id on every replica (fits a card's data)."""
    digest = hashlib.sha256(contact.key.encode()).hexdigest()[:16]
    return f"{incident:012d}-{digest}"


def fields_of(category: str) -> tuple[str, ...]:
    return () if category in NOTHING_SENT else REQUIRED_FIELDS


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """The answer to "Kennis genomen": the notification, and whether this actor may acknowledge it."""

    notification: Notification | None
    allowed: bool


@dataclass
class IncidentRow:
    """One incident for ``python -m bot incidents``: when it was detected, notified, acknowledged."""

    seq: int
    reference: str
    category: str
    agency: str
    detected_at: datetime
    notified: dict[str, datetime] = field(default_factory=dict)  # organisation → first delivery
    acknowledged: dict[str, datetime] = field(default_factory=dict)  # organisation → first acknowledgement
    pending: int = 0  # notifications not delivered yet
    failed: int = 0  # notifications given up
    by_card: set[str] = field(default_factory=set)  # organisations told by a card (who can acknowledge)

    @property
    def open(self) -> bool:
        """Not yet delivered to every DPO, or not acknowledged by every organisation told by card."""
        return self.pending > 0 or self.failed > 0 or not self.notified or any(
            org not in self.acknowledged for org in self.by_card)


class Incidents:
    def __init__(self, *, store: Store, messenger: Messenger, clock: Clock, schedule: Schedule,
                 dpo: DpoSettings | None = None) -> None:
        self.store = store
        self.messenger = messenger
        self.clock = clock
        self.schedule = schedule
        self.dpo = dpo or DpoSettings()

    # -- the sweep ------------------------------------------------------------------------------

    async def sweep(self, batch: int = 100) -> Counter[str]:
        """Notifications for incidents since the cursor, then every due delivery. Counts only what
        was sent, deferred or given up (nothing when nothing happened)."""
        done: Counter[str] = Counter()
        if not self.dpo.contacts:
            return done  # no DPO configured: the incidents wait for one (start-up says so)
        await self._collect(batch)
        while due := await self.store.due_notifications(self.clock.now(), batch):
            for notification in due:
                try:
                    outcome = await self._deliver(notification)
                except Exception as error:  # noqa: BLE001 - it stays due; the others go on
                    log.error("dpo notification failed", extra={"error": type(error).__name__})
                    outcome = "failed"
                if outcome:
                    done[outcome] += 1
            if len(due) < batch:
                break
        return done

    async def _collect(self, batch: int) -> None:
        cursor = await self.store.incident_cursor()
        while True:
            # Every event up to the head read now is committed (numbers are given out in the write
            # that appends them), so once the incidents up to it are done the cursor may pass it:
            # the next sweep reads only what is newer, not every event since the last incident.
            head = await self.store.audit_head()
            events = await self.store.incident_events(cursor, batch)
            seqs = [int(e.seq or 0) for e in events]
            last = max([cursor, *seqs]) if len(events) == batch else max([cursor, head, *seqs])
            if last > cursor:
                await self.store.add_notifications([n for e in events for n in self._notifications(e)], last)
                cursor = last
            if len(events) < batch:
                return

    def _notifications(self, event: AuditEvent) -> list[Notification]:
        assert event.seq is not None
        return [
            Notification(id=notification_id(event.seq, contact), incident=event.seq, subject=event.subject,
                         category=event.reason or "", agency=event.agency, detected_at=event.at, contact=contact,
                         due_at=event.at)
            for contact in self.dpo.concerned(event.agency)
        ]

    async def _deliver(self, notification: Notification) -> str | None:
        now = self.clock.now()
        try:  # claimed first: another sweeper that reads it now finds it not due
            claimed = await self.store.save_notification(
                notification.model_copy(update={"attempts": notification.attempts + 1,
                                                "due_at": now + self.schedule.lease}))
        except Conflict:
            return None
        extra = {"ref": claimed.subject, "incident": claimed.incident, "organisation": claimed.contact.organisation,
                 "channel": claimed.contact.channel, "attempt": claimed.attempts}
        try:
            await self.messenger.notify_dpo(claimed.contact, self.notice(claimed, now))
        except DeliveryError as error:
            if error.retryable and claimed.attempts < self.schedule.max_attempts:
                later = now + self.schedule.retry_delay(claimed.attempts, error.retry_after)
                log.warning("dpo notification deferred", extra={**extra, "status": error.status})
                await self.store.save_notification(claimed.model_copy(update={"due_at": later}))
                return "dpo_deferred"
            log.error("dpo notification abandoned", extra={**extra, "status": error.status})
            await self.store.save_notification(
                claimed.model_copy(update={"due_at": None, "failed": str(error.status or "network")}))
            return "dpo_failed"
        event = AuditEvent(at=now, event=AuditName.NOTIFIED, subject=claimed.subject, agency=claimed.agency,
                           reason=f"{claimed.incident}:{claimed.contact.organisation}:{claimed.contact.channel}")
        await self.store.save_notification(claimed.model_copy(update={"due_at": None, "sent_at": now}), [event])
        log.info("dpo notified", extra=extra)
        return "dpo_notified"

    def notice(self, notification: Notification, now: datetime) -> IncidentNotice:
        return IncidentNotice(
            notification_id=notification.id, incident=notification.incident, reference=notification.subject,
            category=notification.category, agency=notification.agency.value if notification.agency else "",
            detected_at=notification.detected_at, notified_at=now, fields=fields_of(notification.category),
            actions=ACTIONS.get(notification.category, ()), sender_mailbox=self.dpo.sender_mailbox,
            sender_tenant=self.dpo.sender_tenant,
        )

    # -- "Kennis genomen" -----------------------------------------------------------------------

    async def acknowledge(self, actor: Actor, notification_id: str) -> Acknowledgement:
        """Only the DPO the card went to (still configured) acknowledges; once, audited."""
        for _ in range(5):
            notification = await self.store.get_notification(notification_id)
            if notification is None or not notification.contact.is_person(actor) or \
                    notification.contact not in self.dpo.contacts:
                log.warning("acknowledgement refused", extra={"notification": notification_id[:64]})
                return Acknowledgement(notification, allowed=False)
            if notification.acknowledged_at is not None:
                return Acknowledgement(notification, allowed=True)
            now = self.clock.now()
            event = AuditEvent(at=now, event=AuditName.ACKNOWLEDGED, subject=notification.subject,
                               actor=actor.aad_object_id, agency=notification.agency,
                               reason=f"{notification.incident}:{notification.contact.organisation}")
            try:
                saved = await self.store.save_notification(notification.model_copy(update={"acknowledged_at": now}),
                                                           [event])
            except Conflict:
                continue  # the sweep marked it sent meanwhile: look again
            return Acknowledgement(saved, allowed=True)
        return Acknowledgement(None, allowed=False)


async def acknowledge(app: Terugkoppeling, actor: Actor, notification_id: str) -> Acknowledgement:
    """The ``kennis_genomen`` use case."""
    return await app.incidents.acknowledge(actor, notification_id)


async def listing(store: Store, *, only_open: bool = False) -> list[IncidentRow]:
    """Every incident in the audit trail with its notifications (``python -m bot incidents``)."""
    rows: dict[int, IncidentRow] = {}
    for event in await store.audit_events():
        if event.event is AuditName.INCIDENT and event.seq is not None:
            rows[event.seq] = IncidentRow(event.seq, event.subject, event.reason or "",
                                          event.agency.value if event.agency else "", event.at)
    for n in await store.notifications():
        row = rows.get(n.incident)
        if row is None:
            continue
        org = n.contact.organisation
        if n.sent_at is not None:
            row.notified[org] = min(row.notified.get(org, n.sent_at), n.sent_at)
            if n.contact.channel == "teams":
                row.by_card.add(org)
        elif n.failed is not None:
            row.failed += 1
        else:
            row.pending += 1
        if n.acknowledged_at is not None:
            row.acknowledged[org] = min(row.acknowledged.get(org, n.acknowledged_at), n.acknowledged_at)
    ordered = [rows[k] for k in sorted(rows)]
    return [r for r in ordered if r.open] if only_open else ordered


@dataclass(frozen=True, slots=True)
class Reported:
    """What ``report`` did: the incident's ``seq`` (``None``: that reference is not known), whether
    it was already recorded, and whether an open handoff was withdrawn and its card removed."""

    reference: str
    seq: int | None
    already: bool = False
    withdrawn: bool = False
    card_removed: bool | None = None  # None: there was no card to remove


async def report(app: Terugkoppeling, reference: str, category: str, reported_by: str) -> Reported:
    """Art. 9 for a breach found later, e.g. a delivery to the wrong person: record it as an
    incident (once per reference and category), withdraw the handoff if it is still open (card
    overwritten and deleted, content purged, the counsellor told), and let the sweep tell the DPOs.
    The report carries the reference and a category, never a description: no free text."""
    if category not in REPORTABLE:
        raise ValueError(category)
    now = app.clock.now()
    handoff = await app.store.handoff_by_reference(reference)
    events = [e for e in await app.store.audit_events() if e.subject == reference]
    agency = handoff.agency if handoff else next((e.agency for e in events if e.agency is not None), None)
    if handoff is None and not events:
        return Reported(reference, None)
    recorded = [e for e in events if e.event is AuditName.INCIDENT and e.reason == category]
    if recorded:
        seq = recorded[0].seq
    else:
        await app.store.append_audit(AuditEvent(at=now, event=AuditName.INCIDENT, subject=reference,
                                                actor=reported_by, agency=agency, reason=category))
        seq = max((e.seq or 0) for e in await app.store.audit_events(since=now) if e.subject == reference)
    log.warning("incident reported", extra={"ref": reference, "category": category})
    if handoff is None or not handoff.state.is_open:
        return Reported(reference, seq, already=bool(recorded))
    closed, applied = await app.outbox.handoff(handoff, lambda h: h.withdrawn(
        category, at=now, lease=app.schedule.lease, actor=reported_by) if h.state.is_open else None)
    removed = None
    if applied and closed is not None:
        await app.outbox.follow_up(closed, named=handoff)
        if closed.delivery is not None:  # true only once Teams confirmed the deletion (audited)
            removed = any(e.event is AuditName.CARD_DELETED and e.subject == reference
                          for e in await app.store.audit_events(since=now))
    return Reported(reference, seq, already=bool(recorded), withdrawn=applied, card_removed=removed)
