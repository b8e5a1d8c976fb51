"""The outbox: the one place that writes lifecycle changes, delivers, retries, follows up and sweeps.

Writes go through ``change``: it applies a transition (``bot.domain.handoff``) to the latest
version of a record and saves the result with its audit events in one atomic store write. When
the write loses a race (``Conflict``), it re-reads the record and asks the transition again; a
transition answers ``None`` when the latest version no longer needs it (another replica or click
did it first), and that version stands. ``Conflict`` never leaves this module: after
``MAX_TRIES`` lost races in a row the store counts as overloaded (``StoreUnavailable``, a 503
that Teams retries).

Delivery, retries with backoff, giving up, removing the recipient's card and telling the
counsellor (the follow-up), reminders, escalation and the retention cap all run from here;
``sweep`` is the only timed worker. Every step is claimed by a write before anything is sent, so
several replicas can sweep at once without sending anything twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot import telemetry
from bot.app.ports import (
    ClientDirectory,
    Clock,
    Conflict,
    DeliveryError,
    DirectoryUnavailable,
    Messenger,
    Notice,
    RecipientUnresolved,
    Store,
    StoreUnavailable,
    Unreadable,
    UnreadableRecord,
)
from bot.domain.directory import still_backed
from bot.domain.handoff import Change, Draft, Handoff, HandoffState
from bot.domain.model import AuditEvent, AuditName, Reason, Recipient, new_id, new_reference
from bot.domain.policy import Policy
from bot.domain.schedule import Schedule, Step

log = logging.getLogger(__name__)
MAX_TRIES = 8
# A Teams message holds about 28 KB; a digest of 30 terugkoppelingen is about 17 KB. A recipient
# with more due at once gets them in messages of 30 (oldest first).
DIGEST_ITEMS = 30
DIGEST_FLUSH = 25  # reminded transitions written together while digests go out (a short pause each)
DIGEST_SENDS = 8  # digest reminders in flight at once; the rate limiter sets the pace (more only adds loop latency)
BRUSSELS = ZoneInfo("Europe/Brussels")

R = TypeVar("R", Draft, Handoff)
Transition = Callable[[R], Change[R] | None]

CLOSING_NOTICES = {
    HandoffState.TRANSFERRED: Notice.TRANSFERRED,
    HandoffState.RETURNED: Notice.RETURNED,
    HandoffState.EXPIRED: Notice.EXPIRED,
    HandoffState.UNDELIVERABLE: Notice.UNDELIVERABLE,
    HandoffState.WITHDRAWN: Notice.NO_LONGER_ELIGIBLE,
}
ENDED = frozenset({Reason.OUTSIDE_PROTOCOL.value, Reason.AGENCY_ENDED.value, Reason.AGENCY_NOT_LISTED.value})
REPORTED = frozenset({"wrong_recipient", "other_breach"})  # withdrawn after a reported breach (bot.app.incidents)
REASSIGNED_NOTICES = {"colleague": Notice.REASSIGNED, "backup": Notice.REASSIGNED_TO_BACKUP}  # issue 14


def closing_notice(handoff: Handoff) -> Notice:
    """What the counsellor is told when their handoff closed."""
    if handoff.state is HandoffState.WITHDRAWN and handoff.closed_because in ENDED:
        return Notice.PROTOCOL_ENDED
    if handoff.state is HandoffState.WITHDRAWN and handoff.closed_because in REPORTED:
        return Notice.INCIDENT_WITHDRAWN
    return CLOSING_NOTICES[handoff.state]


@dataclass(frozen=True, slots=True)
class Written:
    """What ``change`` left in the store: the latest record (``None`` once deleted), and whether
    it was this call's transition that made it so."""

    record: Draft | Handoff | None
    applied: bool


@dataclass(frozen=True, slots=True)
class Delivered:
    handoff: Handoff


@dataclass(frozen=True, slots=True)
class Deferred:
    """Teams could not take it now; the outbox tries again later."""

    handoff: Handoff


@dataclass(frozen=True, slots=True)
class Rejected:
    """Teams refused for good; nothing was sent."""

    error: DeliveryError


@dataclass(frozen=True, slots=True)
class Backups:
    """Issue 14: per agency, the backup trajectbegeleider (object id or e-mail, as the directory
    names them) who gets the cards nobody reacted to after ``after`` reminders."""

    recipients: dict[str, str]
    after: int = 3


class Outbox:
    def __init__(
        self, *, store: Store, messenger: Messenger, clock: Clock, schedule: Schedule,
        directory: ClientDirectory | None = None, policy: Policy | None = None, backups: Backups | None = None,
    ) -> None:
        self.backups = backups  # issue 14
        self.store = store
        self.policy = policy or Policy()
        self.directory = directory  # asked again before a queued card goes out (art. 4, F.2.a)
        self.messenger = messenger
        self.clock = clock
        self.schedule = schedule

    # -- writes ---------------------------------------------------------------------------------

    async def change(self, record: R, transition: Transition[R]) -> Written:
        """Apply ``transition`` to the latest version of ``record`` and write it atomically."""
        for _ in range(MAX_TRIES):
            change = transition(record)
            if change is None:
                return Written(record, applied=False)
            try:
                return Written(await self.store.apply(change), applied=True)
            except Conflict:
                latest = await self._reread(record)
                if latest is None:
                    return Written(None, applied=False)
                record = latest
        raise StoreUnavailable(f"{MAX_TRIES} lost write races in a row")

    async def _reread(self, record: R) -> R | None:
        if isinstance(record, Draft):
            return await self.store.get_draft(record.id)
        return await self.store.get_handoff(record.id)

    async def handoff(self, handoff: Handoff, transition: Transition[Handoff]) -> tuple[Handoff | None, bool]:
        written = await self.change(handoff, transition)
        assert written.record is None or isinstance(written.record, Handoff)
        return written.record, written.applied

    # -- delivery -------------------------------------------------------------------------------

    async def deliver(self, handoff: Handoff, *, first: bool, notify: bool | None = None
                      ) -> Delivered | Deferred | Rejected | None:
        """One delivery attempt. ``first``: the counsellor's own ``verstuur``, where a final refusal
        leaves the draft at its preview; from the sweep, it gives up after the retry bound.
        ``None`` when the sweep gave up. ``notify``: a deferral promises the counsellor a notice
        (by default on their own ``verstuur``). A correction's replaced card goes first."""
        tell = first if notify is None else notify
        if handoff.stale_delivery is not None:
            handoff = await self._remove_stale(handoff)
            if handoff.stale_delivery is not None or handoff.state is not HandoffState.DELIVERING:
                if handoff.state is not HandoffState.DELIVERING:
                    return None  # closed meanwhile: theirs stands
                # Its content is still in the recipient's chat: no second live copy; try both again later.
                return Deferred(await self._defer(handoff, DeliveryError(None, retryable=True), tell_counsellor=tell))
        try:
            delivery = await self.messenger.deliver(handoff)
        except DeliveryError as error:
            if error.retryable and (first or handoff.attempts < self.schedule.max_attempts):
                return Deferred(await self._defer(handoff, error, tell_counsellor=tell))
            if first:
                # Refused for good (e.g. 403): nothing was sent; the counsellor keeps the preview.
                log.warning("delivery refused", extra={"ref": handoff.reference, "status": error.status})
                reason = " ".join(filter(None, (error.reason, str(error.status or "network"))))
                now = self.clock.now()
                await self.handoff(handoff, lambda h: h.refused(at=now, reason=reason) if _same_attempt(h, handoff)
                                   else None)
                return Rejected(error)
            await self._give_up(handoff, error)
            return None
        now = self.clock.now()
        saved, applied = await self.handoff(
            handoff, lambda h: h.delivered(delivery, at=now, schedule=self.schedule)
            if h.state is HandoffState.DELIVERING else None,
        )
        assert saved is not None
        if applied and saved.tell_when_delivered:
            await self.messenger.notify_counsellor(saved, Notice.DELIVERED_LATE)
        if applied and saved.tell_reassigned:  # issue 14: handed on, and now it landed
            await self.messenger.notify_counsellor(saved, REASSIGNED_NOTICES.get(saved.tell_reassigned,
                                                                                 Notice.REASSIGNED))
        return Delivered(saved)

    # -- issue 14: the counsellor corrects a sent terugkoppeling ---------------------------------

    async def correct(self, handoff: Handoff, transition: Transition[Handoff]) -> Delivered | Deferred | None:
        """Write the correction (``Handoff.corrected``), then replace the recipient's card: the old one
        overwritten and deleted, then the new one posted. A crash anywhere in between leaves the
        handoff in the outbox with what is still to do, which the sweep finishes once the lease has
        passed. ``None`` when the handoff had moved on (closed, or corrected by another click)."""
        queued, applied = await self.handoff(handoff, transition)
        if not applied or queued is None:
            return None
        outcome = await self.deliver(queued, first=False, notify=True)
        return outcome if isinstance(outcome, Delivered | Deferred) else None

    async def _remove_stale(self, handoff: Handoff) -> Handoff:
        """The card a correction replaces: overwritten with a content-free one and deleted (the
        recipient is told the new version follows), before anything new is posted."""
        stale = handoff.stale_delivery
        removal = await self.messenger.withdraw(handoff.model_copy(update={"delivery": stale}))
        now = self.clock.now()
        saved, _ = await self.handoff(handoff, lambda h: h.stale_card_removed(
            overwritten=removal.overwritten, deleted=removal.deleted, status=removal.status,
            retryable=removal.retryable, at=now,
        ) if _same_attempt(h, handoff) and h.stale_delivery == stale else None)
        return saved or handoff

    async def _defer(self, handoff: Handoff, error: DeliveryError, *, tell_counsellor: bool) -> Handoff:
        delay = self.schedule.retry_delay(handoff.attempts, error.retry_after)
        log.warning(
            "delivery deferred",
            extra={"ref": handoff.reference, "status": error.status, "attempt": handoff.attempts,
                   "delay_s": delay.total_seconds()},
        )
        now = self.clock.now()
        saved, _ = await self.handoff(
            handoff, lambda h: h.deferred(at=now, until=now + delay, status=error.status,
                                          tell_counsellor=tell_counsellor) if _same_attempt(h, handoff) else None,
        )
        return saved or handoff  # someone else moved it on: theirs stands

    async def _give_up(self, handoff: Handoff, error: DeliveryError) -> None:
        """Past the retry bound (or refused for good): purge, and tell the counsellor."""
        log.warning(
            "delivery abandoned", extra={"ref": handoff.reference, "status": error.status, "attempt": handoff.attempts}
        )
        now = self.clock.now()
        closed, applied = await self.handoff(
            handoff, lambda h: h.given_up(at=now, lease=self.schedule.lease, status=error.status)
            if _same_attempt(h, handoff) else None,
        )
        if applied and closed is not None:
            await self.follow_up(closed, named=handoff)

    async def record(self, draft: Draft) -> tuple[Handoff, bool]:
        """The outbox record for ``draft``, and whether this call created it (or a concurrent retry did)."""
        for _ in range(5):
            change = Handoff.recorded(draft, id=new_id(), reference=new_reference(), now=self.clock.now(),
                                      lease=self.schedule.lease)
            try:
                return await self.store.add_handoff(change.record, change.events), True
            except Conflict:
                if (existing := await self.store.handoff_for_draft(draft.id)) is not None:
                    return existing, False
        raise StoreUnavailable("no free reference after 5 tries")  # 16.7M references: never in practice

    async def awaiting_notice(self, handoff: Handoff) -> Handoff:
        """A repeated ``verstuur`` while still in the outbox: promise a notice when it lands."""
        saved, _ = await self.handoff(
            handoff, lambda h: h.awaiting_notice()
            if h.state is HandoffState.DELIVERING and not h.tell_when_delivered else None,
        )
        return saved or handoff

    async def close(self, handoff: Handoff, transition: Transition[Handoff]) -> tuple[Handoff | None, bool]:
        """Close a handoff (the recipient's click) and do the follow-up if this call closed it."""
        closed, applied = await self.handoff(handoff, transition)
        if applied and closed is not None:
            closed = await self.follow_up(closed, named=handoff)
        return closed, applied

    async def follow_up(self, handoff: Handoff, named: Handoff | None = None) -> Handoff:
        """Remove the recipient's card and tell the counsellor (once); if this process dies halfway,
        the sweep does it again once the lease has passed. What happened to the card is audited, and
        a failed removal is retried (bounded). ``named``: the record as it was before this process
        closed it, whose client the counsellor's notice names (issue 14: the counsellor sent it and may
        see it; held in memory only, never written again). A follow-up redone by the sweep has no name
        left to give, and says the reference only."""
        card = handoff
        if handoff.delivery is None and handoff.stale_delivery is not None:  # closed mid-correction
            card = handoff.model_copy(update={"delivery": handoff.stale_delivery})
        removal = await self.messenger.withdraw(card) if card.delivery is not None else None
        if handoff.stale_copy is not None:  # issue 14: an old copy Teams did not let go of before
            await self.messenger.remove_copy(handoff, handoff.stale_copy)
        if not handoff.counsellor_told:
            client = named.client if named is not None and named.id == handoff.id else None
            told = handoff.model_copy(update={"client": client}) if client and handoff.client is None else handoff
            await self.messenger.notify_counsellor(told, closing_notice(handoff))
        if removal is None:
            done, _ = await self.handoff(handoff, lambda h: h.followed_up(self.schedule.forget_at(h))
                                         if h.follow_up else None)
            return done or handoff
        now = self.clock.now()
        retry_at = now + self.schedule.retry_delay(handoff.removal_attempts + 1, None)
        done, _ = await self.handoff(handoff, lambda h: h.card_removal(
            overwritten=removal.overwritten, deleted=removal.deleted, status=removal.status,
            retryable=removal.retryable, at=now, retry_at=retry_at, max_attempts=self.schedule.max_removals,
            keep_until=self.schedule.forget_at(h),
        ) if h.follow_up and h.removal_attempts == handoff.removal_attempts else None)
        return done or handoff

    # -- drafts ---------------------------------------------------------------------------------

    async def open_draft(self, change: Change[Draft]) -> Draft:
        """A new draft; a counsellor has at most one unfinished draft, so a new ``terugkoppeling``
        replaces the one they left (purged, its card blanked), and one past its time expires."""
        for _ in range(MAX_TRIES):
            draft_id = await self.store.draft_of(change.record.owner)
            existing = await self.store.get_draft(draft_id) if draft_id else None
            if existing is not None and existing.expires_at <= self.clock.now():
                await self.expire_draft(existing)
            elif existing is not None:
                if await self.store.delete_draft(existing.id, existing.replaced(self.clock.now()).events):
                    await self.retract_card(existing)
            try:
                return await self.store.add_draft(change.record, change.events)
            except Conflict:
                continue  # a second start at the same moment got there first: take that one
        raise StoreUnavailable(f"{MAX_TRIES} lost write races in a row")

    async def expire_draft(self, draft: Draft) -> bool:
        """Purge an unfinished draft past its time and blank the counsellor's card; ``True`` if
        this call purged it."""
        if not await self.store.delete_draft(draft.id, draft.expired(self.clock.now()).events):
            return False
        await self.retract_card(draft)
        return True

    async def retract_card(self, draft: Draft) -> None:
        """F.2.c: the counsellor's card of a draft that ended unsent shows no client data."""
        if draft.card_activity_id and draft.client is not None:
            await self.messenger.retract_draft_card(draft)

    async def _expire_draft_id(self, draft_id: str) -> bool:
        try:
            draft = await self.store.get_draft(draft_id)
        except Unreadable as error:
            # Retention wins: a draft nobody can read is purged all the same.
            log.error("unreadable record", extra={"record": draft_id, "error": error.why})
            now = self.clock.now()
            events = [AuditEvent(at=now, event=name, subject=draft_id, reason=reason) for name, reason in
                      ((AuditName.EXPIRED, "unreadable"), (AuditName.PURGED, None))]
            return await self.store.delete_draft(draft_id, events)
        return draft is not None and await self.expire_draft(draft)

    # -- the sweep ------------------------------------------------------------------------------

    async def sweep(self, batch: int = 100) -> Counter[str]:
        """All time-driven work that is due now: expired drafts, the outbox, reminders, escalations,
        the retention cap, and unfinished follow-ups. One record that fails is reported and
        skipped; it never stops the work for the others."""
        done: Counter[str] = Counter()
        while ids := await self.store.expired_drafts(self.clock.now(), batch):
            await _tally(done, [self._expire_draft_id(i) for i in ids], "draft_expired")
            if len(ids) < batch:
                break
        # Steps of different handoffs are independent (each is claimed on its own): overlap their
        # waits for Teams and the store, a few at a time so Teams' rate limits are not hit.
        limit = asyncio.Semaphore(self.schedule.concurrency)
        if self.policy.any_ended(self._today()):
            done.update(await self._end_of_protocol(batch, limit))

        async def step(handoff: Handoff) -> str | None:
            async with limit:
                with telemetry.sweep_step("handoff", agency=handoff.agency.value):  # a no-op when telemetry is off
                    return await self._step(handoff)

        seen: set[str] = set()
        reminders: list[tuple[Handoff, float]] = []  # claimed (and when), sent below as one digest per recipient
        while True:
            due = [h for h in await self.store.due_handoffs(self.clock.now(), batch) if _id(h) not in seen]
            if not due:
                break
            seen.update(_id(h) for h in due)
            for bad in (h for h in due if isinstance(h, UnreadableRecord)):
                # Reported (log and audit, ids only) and skipped: it never stops the others' work.
                log.error("unreadable record", extra={"record": bad.record_id, "error": bad.why})
                await self.store.append_audit(AuditEvent(at=self.clock.now(), event=AuditName.RECORD_UNREADABLE,
                                                         subject=bad.record_id, reason=bad.why))
                done["unreadable"] += 1
            handoffs = [h for h in due if isinstance(h, Handoff)]
            digest = {h.id for h in handoffs if self._digest_due(h)}
            if digest:
                reminders += await self._claim_reminders([h for h in handoffs if h.id in digest])
            await _tally(done, [step(h) for h in handoffs if h.id not in digest])
        if reminders:
            done.update(await self._send_digests(reminders, batch))

        async def orphan_keys() -> None:
            if swept := await self.store.sweep_keys(self.clock.now()):
                done["orphan_keys_deleted"] += swept

        await _tally(done, [orphan_keys()])  # a step like the others: a full disk, say, is counted, not fatal
        if telemetry.enabled():
            telemetry.observe_open_handoffs(await self.store.count_open())
        if done:
            log.info("sweep", extra={"done": dict(done)})
        return done

    def _today(self) -> date:
        return self.clock.now().astimezone(BRUSSELS).date()

    async def _end_of_protocol(self, batch: int, limit: asyncio.Semaphore) -> Counter[str]:
        """Art. 8/12: past the end (of the protocol, or of one agency's part), nothing more is
        delivered or reminded; every open handoff of that scope is withdrawn, and both parties told."""
        done: Counter[str] = Counter()
        seen: set[str] = set()
        while True:
            batch_of = [h for h in await self.store.open_handoffs(batch) if _id(h) not in seen]
            if not batch_of:
                return done
            seen.update(_id(h) for h in batch_of)

            async def end(handoff: Handoff) -> bool:
                async with limit:
                    return await self._withdraw_if_ended(handoff)

            ended = [h for h in batch_of if isinstance(h, Handoff)]
            await _tally(done, [end(h) for h in ended], "protocol_ended")

    async def _withdraw_if_ended(self, handoff: Handoff) -> bool:
        reason = self.policy.ended(handoff.agency.value, self._today())
        if reason is None or not handoff.state.is_open:
            return False
        now = self.clock.now()
        closed, applied = await self.handoff(handoff, lambda h: h.withdrawn(
            reason.value, at=now, lease=self.schedule.lease, event=AuditName.PROTOCOL_ENDED,
        ) if h.state.is_open else None)
        if applied and closed is not None:
            await self.follow_up(closed, named=handoff)
        return applied

    async def _step(self, handoff: Handoff) -> str | None:
        if handoff.state.is_open and await self._withdraw_if_ended(handoff):
            return "protocol_ended"
        now = self.clock.now()
        lease = self.schedule.lease
        step = self.schedule.step(handoff, now)
        if step is None:  # e.g. a reminder due outside office hours: look again when it can be sent
            later = self.schedule.reschedule(handoff, now)
            await self.handoff(handoff, lambda h: h.rescheduled(later) if h.version == handoff.version else None)
            return None
        if step is Step.EXPIRE:
            closed, applied = await self.handoff(
                handoff, lambda h: h.expired(at=now, lease=lease) if self.schedule.step(h, now) is step else None
            )
            if applied and closed is not None:
                await self.follow_up(closed, named=handoff)
            return step if applied else None
        if step is Step.TRANSFER:  # issue 14: the undo window of "Overgezet" has passed
            return step if await self.transfer_after_window(handoff) else None
        claimed, applied = await self.handoff(
            handoff, lambda h: h.claimed(until=now + lease, delivery_attempt=step is Step.DELIVER)
            if self.schedule.step(h, now) is step else None,
        )
        if not applied or claimed is None:
            return None  # another sweeper took it first
        if step is Step.FORGET:
            await self.handoff(claimed, lambda h: h.forgotten(now) if not h.state.is_open and not h.follow_up
                               else None)
        elif step is Step.DELIVER:
            if claimed.reassignments:  # issue 14: handed on (the directory names the first recipient)
                await self.redeliver(claimed)
            elif await self._still_backed(claimed):
                await self.deliver(claimed, first=False)
        elif step in (Step.REMIND, Step.ESCALATE) and await self._to_backup(claimed):
            return "backup"  # issue 14: to the agency's backup instead of one more reminder or the escalation
        elif step is Step.REMIND:
            await self._remind(claimed)
        elif step is Step.ESCALATE:
            await self.messenger.notify_counsellor(claimed, Notice.UNCONFIRMED)
            await self._after_notice(claimed, lambda h: h.escalated_to_counsellor(at=now, schedule=self.schedule)
                                     if h.state is HandoffState.DELIVERED and not h.escalated else None)
        else:
            await self.follow_up(claimed)
        return step

    async def _still_backed(self, handoff: Handoff) -> bool:
        """Before a queued card goes out hours later: is it still this client's trajectbegeleider, and
        does the client still follow an active inburgeringstraject? If not, nothing is sent and the
        counsellor is told why; if the directory cannot say now, the delivery waits. An agency taken
        off the allow-list since (art. 8) gets nothing more either; that is not an incident."""
        now = self.clock.now()
        if not self.policy.agency_listed(handoff.agency.value):
            return await self._withdraw_undelivered(handoff, Reason.AGENCY_NOT_LISTED, now)
        klant_id = handoff.client.klant_id if handoff.client else None
        if self.directory is None or klant_id is None:
            return True
        try:
            reason = still_backed(await self.directory.lookup(klant_id), handoff.recipient)
        except (DirectoryUnavailable, RecipientUnresolved) as error:
            log.warning("directory unavailable before delivery",
                        extra={"ref": handoff.reference, "error": getattr(error, "reason", "")})
            if handoff.attempts >= self.schedule.max_attempts:
                await self._give_up(handoff, DeliveryError(None, retryable=False))
                return False
            delay = self.schedule.retry_delay(handoff.attempts, None)
            await self.handoff(handoff, lambda h: h.deferred(at=now, until=now + delay, status="directory",
                                                             tell_counsellor=False) if _same_attempt(h, handoff)
                               else None)
            return False
        if reason is None:
            return True
        return await self._withdraw_undelivered(handoff, reason, now)

    async def _withdraw_undelivered(self, handoff: Handoff, reason: Reason, now: datetime) -> bool:
        closed, applied = await self.handoff(
            handoff, lambda h: h.withdrawn(reason.value, at=now, lease=self.schedule.lease)
            if _same_attempt(h, handoff) else None,
        )
        if applied and closed is not None:
            await self.follow_up(closed, named=handoff)
        return False

    async def _remind(self, handoff: Handoff) -> None:
        failed: int | None = None
        try:
            await self.messenger.remind([handoff])
        except DeliveryError as error:
            if error.retryable:
                return  # the lease runs out and the next sweep tries again
            failed = error.status or 0
        now = self.clock.now()
        await self._after_notice(
            handoff, lambda h: h.reminded(at=now, schedule=self.schedule, failed_status=failed)
            if h.state is HandoffState.DELIVERED and h.reminders_sent == handoff.reminders_sent else None,
        )

    async def _after_notice(self, handoff: Handoff, transition: Transition[Handoff]) -> None:
        """Record a notice that went out. If the recipient closed the handoff meanwhile (which
        wins), the notice is still evidence: its event is appended on its own."""
        change = transition(handoff)
        _, applied = await self.handoff(handoff, transition)
        if not applied and change is not None:
            await self.store.append_audit(*change.events)


    # -- the trajectbegeleider's side (issue 14): "Doorsturen", the backup recipient -------------

    async def reassign(self, handoff: Handoff, to: Recipient, *, reason: str, actor: str = "") -> Handoff | None:
        """Hand a delivered handoff to ``to`` (same agency), audited ``reassigned``: the previous copy
        is overwritten and deleted first, then the card goes to ``to`` (retried by the sweep like
        any delivery; a crash halfway is picked up there once the lease has passed); the counsellor
        is told once it landed. ``None`` if the handoff moved on meanwhile."""
        now = self.clock.now()
        moved, applied = await self.handoff(handoff, lambda h: h.reassigned(
            to, reason=reason, at=now, lease=self.schedule.lease, actor=actor,
        ) if h.state is HandoffState.DELIVERED and h.version == handoff.version else None)
        if not applied or moved is None:
            return None
        return await self.redeliver(moved)

    async def move_copy(self, handoff: Handoff, activity_id: str) -> Handoff | None:
        """``toon`` from another message: that message becomes the live copy, and the old copy is
        overwritten and deleted first (it is retried when the handoff closes if Teams failed now).
        ``None`` if it could not be moved (e.g. it moved on meanwhile): show nothing then."""
        moved, applied = await self.handoff(handoff, lambda h: h.shown_in(activity_id)
                                            if h.version == handoff.version and h.state is HandoffState.DELIVERED
                                            and h.delivery is not None and h.stale_copy is None
                                            and h.undo_until is None else None)
        if not applied or moved is None or moved.stale_copy is None:
            return None
        return await self._remove_stale_copy(moved)

    async def _remove_stale_copy(self, handoff: Handoff) -> Handoff:
        assert handoff.stale_copy is not None
        copy = handoff.stale_copy
        removal = await self.messenger.remove_copy(handoff, copy)
        now = self.clock.now()
        saved, _ = await self.handoff(handoff, lambda h: h.copy_removed(
            overwritten=removal.overwritten, deleted=removal.deleted, status=removal.status,
            retryable=removal.retryable, at=now,
        ) if h.state.is_open and h.stale_copy == copy else None)
        return saved or handoff

    async def redeliver(self, handoff: Handoff) -> Handoff:
        """A reassigned handoff in the outbox: never two live copies, so the previous recipient's
        goes before the new one is posted; if it cannot go now, the delivery waits for it."""
        if handoff.stale_copy is not None:
            removal = await self.messenger.remove_copy(handoff, handoff.stale_copy)
            now = self.clock.now()
            copy = handoff.stale_copy
            saved, _ = await self.handoff(handoff, lambda h: h.copy_removed(
                overwritten=removal.overwritten, deleted=removal.deleted, status=removal.status,
                retryable=removal.retryable, at=now,
            ) if h.state is HandoffState.DELIVERING and h.stale_copy == copy else None)
            if saved is None or saved.state is not HandoffState.DELIVERING:
                return saved or handoff
            if saved.stale_copy is not None:
                if saved.attempts >= self.schedule.max_attempts:
                    await self._give_up(saved, DeliveryError(removal.status, retryable=False))
                    return await self.store.get_handoff(saved.id) or saved
                delay = self.schedule.retry_delay(saved.attempts, None)
                later, _ = await self.handoff(saved, lambda h: h.deferred(
                    at=now, until=now + delay, status=removal.status, tell_counsellor=False,
                ) if _same_attempt(h, saved) else None)
                return later or saved
            handoff = saved
        outcome = await self.deliver(handoff, first=False)
        if isinstance(outcome, Delivered | Deferred):
            return outcome.handoff
        return await self.store.get_handoff(handoff.id) or handoff


    async def transfer_after_window(self, handoff: Handoff) -> bool:
        """Issue 14: "Overgezet" was not undone in time: closed as transferred, purged, the card
        removed and the counsellor told (only now). ``True`` if this call closed it."""
        now = self.clock.now()
        closed, applied = await self.handoff(handoff, lambda h: h.transfer_window_passed(
            at=now, lease=self.schedule.lease,
        ) if h.state is HandoffState.DELIVERED and h.undo_until is not None and h.undo_until <= now else None)
        if applied and closed is not None:
            await self.follow_up(closed)
        return applied

    async def _to_backup(self, handoff: Handoff) -> bool:
        """Issue 14: nobody reacted after the configured number of reminders, and the agency has a
        backup the directory knows: the card goes to them, through the same mechanics as
        "Doorsturen" (audited ``reassigned``, reason ``backup``), once per handoff; the backup is
        reminded in turn and only then is the counsellor told. ``False``: the usual step goes on."""
        backups = self.backups
        if (backups is None or self.directory is None or handoff.state is not HandoffState.DELIVERED
                or handoff.reminders_sent < backups.after or handoff.tell_reassigned == "backup"):
            return False
        wanted = backups.recipients.get(handoff.agency.value)
        if not wanted:
            return False
        try:
            known = await self.directory.colleagues(handoff.agency)
        except (DirectoryUnavailable, RecipientUnresolved) as error:
            log.warning("directory unavailable for the backup", extra={"ref": handoff.reference,
                                                                       "error": getattr(error, "reason", "")})
            return False
        backup = next((p for p in known if wanted in (p.aad_object_id, p.email) and p.agentschap is handoff.agency
                       and self.policy.may_receive(p) is None), None)
        if backup is None or (backup.aad_object_id, backup.tenant_id) == (handoff.recipient.aad_object_id,
                                                                          handoff.recipient.tenant_id):
            if backup is None:
                log.warning("backup recipient not in the directory", extra={"ref": handoff.reference,
                                                                           "agency": handoff.agency.value})
            return False
        return await self.reassign(handoff, backup, reason="backup") is not None
    # -- digest reminders (issues 14 and 16) ----------------------------------------------------------
    # One reminder message per recipient per sweep, listing all their due reminders. Each handoff is
    # claimed first (its own ``claimed`` write, so no other sweeper sends it too), and after the
    # message its own ``reminded`` transition and audit event are written; both in batches, one
    # store write for many records (``Store.save_handoffs``), without touching the content.

    def _digest_due(self, handoff: Handoff) -> bool:
        """A reminder for the digest; one that may go to the agency's backup instead takes the
        single way (``_step`` → ``_to_backup``), which reminds it there if it does not."""
        return (self.schedule.step(handoff, self.clock.now()) is Step.REMIND
                and self.policy.ended(handoff.agency.value, self._today()) is None
                and not self._backup_may_apply(handoff))

    def _backup_may_apply(self, handoff: Handoff) -> bool:
        backups = self.backups
        return (backups is not None and handoff.reminders_sent >= backups.after
                and handoff.tell_reassigned != "backup" and bool(backups.recipients.get(handoff.agency.value)))

    async def _claim_reminders(self, handoffs: list[Handoff]) -> list[tuple[Handoff, float]]:
        """Claim due reminders (or claim again ones claimed before) in one write, with when (on the
        monotonic clock); those another sweeper or a click changed first are left to it."""
        until = self.clock.now() + self.schedule.lease
        claims = [h.claimed(until=until, delivery_attempt=False) for h in handoffs]
        saved = await self.store.save_handoffs([(change.record, change.events) for change in claims])
        at = time.monotonic()
        return [(h, at) for h in saved if h is not None]

    async def _send_digests(self, claimed: list[tuple[Handoff, float]], batch: int) -> Counter[str]:
        """One message per recipient (tenant + user; up to ``DIGEST_ITEMS`` each), sent concurrently
        (the messenger keeps to Teams' rate limits); the ``reminded`` writes batched as the messages
        go out. A message about to go out more than half a lease after its claims claims them again
        first, so that no other sweeper can have taken them meanwhile."""
        done: Counter[str] = Counter()
        groups: dict[tuple[str, str], list[tuple[Handoff, float]]] = {}
        for handoff, at in sorted(claimed, key=lambda c: c[0].sent_at or c[0].created_at):
            groups.setdefault((handoff.recipient.tenant_id, handoff.recipient.aad_object_id), []).append((handoff, at))
        messages = [claims[start:start + DIGEST_ITEMS] for claims in groups.values()
                    for start in range(0, len(claims), DIGEST_ITEMS)]
        fresh = self.schedule.lease.total_seconds() / 2
        sends = asyncio.Semaphore(DIGEST_SENDS)
        written: list[tuple[Handoff, int | None]] = []  # sent (or refused for good), to record as reminded

        async def flush() -> None:
            chunk, written[:] = written[:], []
            if chunk:
                done.update(await self._record_reminded(chunk))

        async def send(claims: list[tuple[Handoff, float]]) -> None:
            async with sends:
                if min(at for _, at in claims) < time.monotonic() - fresh:
                    claims = await self._claim_reminders([h for h, _ in claims])
                    if not claims:
                        return
                group = [h for h, _ in claims]
                failed: int | None = None
                try:
                    with telemetry.sweep_step("reminder", agency=group[0].agency.value):
                        await self.messenger.remind(group)
                except DeliveryError as error:
                    if error.retryable:
                        done["remind_deferred"] += len(group)
                        return  # the claims run out and the next sweep tries again
                    failed = error.status or 0
                written.extend((h, failed) for h in group)
            if len(written) >= min(batch, DIGEST_FLUSH):
                await flush()

        for outcome in await asyncio.gather(*(send(m) for m in messages), return_exceptions=True):
            if isinstance(outcome, BaseException):
                log.error("sweep step failed", extra={"error": type(outcome).__name__})
                done["failed"] += 1
        await flush()
        return done

    async def _record_reminded(self, sent: list[tuple[Handoff, int | None]]) -> Counter[str]:
        """The ``reminded`` transitions of reminders that went out, in one write; one whose record
        moved on meanwhile (the recipient closed it) goes the single way, which keeps the notice's
        event as evidence (``_after_notice``)."""
        now = self.clock.now()
        changes = []
        for n, (h, failed) in enumerate(sent, start=1):
            changes.append((h, failed, h.reminded(at=now, schedule=self.schedule, failed_status=failed)))
            if n % 10 == 0:
                await asyncio.sleep(0)  # let the sends in flight go on: they keep a pace
        saved = await self.store.save_handoffs([(change.record, change.events) for _, _, change in changes])
        done: Counter[str] = Counter()
        for (handoff, failed, _), stored in zip(changes, saved, strict=True):
            if stored is None:
                await self._after_notice(handoff, self._reminded(handoff, now, failed))
            done["remind"] += 1
        return done


    def _reminded(self, seen: Handoff, at: datetime, failed: int | None) -> Transition[Handoff]:
        return lambda h: (h.reminded(at=at, schedule=self.schedule, failed_status=failed)
                          if h.state is HandoffState.DELIVERED and h.reminders_sent == seen.reminders_sent else None)


async def _tally(done: Counter[str], steps: list[Awaitable[str | bool | None]], label: str | None = None) -> None:
    """Run independent sweep steps together and count them: a step that raises is reported and
    counted as failed (it stays due, and nothing is half-done: every step is claimed first); one
    that did something counts under ``label``, or under the step name it answered."""
    for outcome in await asyncio.gather(*steps, return_exceptions=True):
        if isinstance(outcome, BaseException):
            log.error("sweep step failed", extra={"error": type(outcome).__name__})
            done["failed"] += 1
        elif outcome:
            done[label or str(outcome)] += 1


def _same_attempt(latest: Handoff, seen: Handoff) -> bool:
    """Still in the outbox at the attempt this call made: nobody else moved it on meanwhile."""
    return latest.state is HandoffState.DELIVERING and latest.attempts == seen.attempts


def _id(record: Handoff | UnreadableRecord) -> str:
    return record.id if isinstance(record, Handoff) else record.record_id
