"""The use cases of the conversation contract, each returning a value the Teams layer renders.

Errors a person can act on are values (``Refused``, ``FormErrors``, ``Stale``), not exceptions.
Every state change is audited, without client data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from bot.app.ports import ClientDirectory, Clock, Conflict, DeliveryError, Messenger, Notice, Store
from bot.domain.directory import Ineligible, eligibility, matches
from bot.domain.model import (
    Actor,
    Address,
    Agency,
    AuditEvent,
    ClientData,
    Delivery,
    Draft,
    Handoff,
    HandoffState,
    Reason,
    Stage,
    client_fingerprint,
    new_id,
    new_reference,
)
from bot.domain.policy import Policy
from bot.domain.schedule import Schedule, Step
from bot.domain.template import FieldError, check_content, check_identity

log = logging.getLogger(__name__)
BRUSSELS = ZoneInfo("Europe/Brussels")


@dataclass(frozen=True, slots=True)
class Shown:
    """Show the card of the draft's current stage."""

    draft: Draft


@dataclass(frozen=True, slots=True)
class FormErrors:
    """Show the current stage's form again, with what was typed and what is wrong."""

    draft: Draft
    values: dict[str, str]
    errors: tuple[FieldError, ...]


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Reason
    draft_id: str | None = None


@dataclass(frozen=True, slots=True)
class Stale:
    """The draft or handoff no longer exists, or has moved on: nothing to do."""


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The draft was purged at the counsellor's request."""


@dataclass(frozen=True, slots=True)
class Sent:
    handoff: Handoff


@dataclass(frozen=True, slots=True)
class Queued:
    """Recorded in the outbox; Teams did not take it yet. The counsellor hears when it lands."""

    handoff: Handoff


@dataclass(frozen=True, slots=True)
class NotDelivered:
    """Teams could not be reached; the draft is kept at the preview so it can be sent again."""

    draft: Draft
    reason: str | None = None  # DeliveryError.reason, e.g. "not_installed"


@dataclass(frozen=True, slots=True)
class Closed:
    """The handoff was transferred or returned, and its content purged."""

    handoff: Handoff


@dataclass(frozen=True, slots=True)
class AlreadyClosed:
    handoff: Handoff


@dataclass(frozen=True, slots=True)
class Current:
    """The recipient's card is the handoff's live copy: show it as it is."""

    handoff: Handoff


@dataclass(frozen=True, slots=True)
class Superseded:
    """A stray copy of an open handoff (an attempt that crashed after posting): show no content."""

    handoff: Handoff


CLOSING_NOTICES = {
    HandoffState.TRANSFERRED: Notice.TRANSFERRED,
    HandoffState.RETURNED: Notice.RETURNED,
    HandoffState.EXPIRED: Notice.EXPIRED,
    HandoffState.UNDELIVERABLE: Notice.UNDELIVERABLE,
}


class Terugkoppeling:
    """The application service: one method per step of the conversation contract."""

    def __init__(
        self,
        *,
        store: Store,
        directory: ClientDirectory,
        messenger: Messenger,
        clock: Clock,
        policy: Policy,
        fingerprint_key: bytes,
        schedule: Schedule | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.messenger = messenger
        self.clock = clock
        self.policy = policy
        self.schedule = schedule or Schedule()
        self._fingerprint_key = fingerprint_key

    def today(self) -> date:
        return self.clock.now().astimezone(BRUSSELS).date()

    async def _audit(
        self, event: str, subject: str, actor: str = "", agency: Agency | None = None, reason: str | None = None
    ) -> None:
        await self.store.append_audit(
            AuditEvent(at=self.clock.now(), event=event, subject=subject, actor=actor, agency=agency, reason=reason)
        )

    async def _refuse(self, reason: Reason, actor: Actor, subject: str = "", agency: Agency | None = None) -> Refused:
        await self._audit("refused", subject, actor.aad_object_id, agency, reason=reason.value)
        if reason is Reason.RECIPIENT_NOT_ALLOWED:
            # Art. 9: the directory points outside the agreed agency tenants; nothing was sent, but
            # the privacy officers must see it.
            await self._audit("incident", subject, actor.aad_object_id, agency, reason=reason.value)
        return Refused(reason, subject or None)

    async def _owned_draft(
        self, actor: Actor, draft_id: str, *stages: Stage
    ) -> Draft | Refused | Stale | Shown:
        draft = await self.store.get_draft(draft_id)
        if draft is None:
            return Stale()
        if draft.expires_at <= self.clock.now():
            await self._expire(draft)
            return Stale()
        if (draft.counsellor.aad_object_id, draft.counsellor.tenant_id) != (
            actor.aad_object_id,
            actor.tenant_id,
        ):
            return await self._refuse(Reason.NOT_OWNER, actor, draft.id)
        if stages and draft.stage not in stages:
            # A click on an out-of-date card, or Teams repeating an invoke whose answer got lost:
            # show the draft where it stands instead of doing the step again.
            return Shown(draft)
        return draft

    async def current(self, actor: Actor, draft_id: str) -> Shown | Refused | Stale:
        """Where a draft stands: the answer when a concurrent click changed it first."""
        draft = await self._owned_draft(actor, draft_id)
        return Shown(draft) if isinstance(draft, Draft) else draft

    # -- counsellor -----------------------------------------------------------------------------

    async def start(self, counsellor: Actor, address: Address) -> Shown | Refused:
        """``terugkoppeling``: open a draft and show the identification card."""
        if reason := self.policy.may_start(counsellor, self.today()):
            return await self._refuse(reason, counsellor)
        now = self.clock.now()
        draft = await self.store.add_draft(
            Draft(
                id=new_id(),
                counsellor=counsellor,
                counsellor_address=address,
                created_at=now,
                expires_at=now + self.policy.draft_ttl,
            )
        )
        await self._audit("started", draft.id, counsellor.aad_object_id)
        return Shown(draft)

    async def restart(self, actor: Actor, draft_id: str) -> Shown | Refused | Stale:
        """After a refusal: the identification card again, for another client."""
        draft = await self._owned_draft(actor, draft_id, Stage.IDENTIFY)
        return draft if not isinstance(draft, Draft) else Shown(draft)

    async def identify(
        self, actor: Actor, draft_id: str, form: Mapping[str, object]
    ) -> Shown | FormErrors | Refused | Stale:
        """``identificeer``: find the client; only an active inburgeringstraject qualifies."""
        draft = await self._owned_draft(actor, draft_id, Stage.IDENTIFY)
        if not isinstance(draft, Draft):
            return draft
        checked = check_identity(form, self.today())
        if checked.model is None:
            return FormErrors(draft, checked.values, checked.errors)
        verdict = eligibility(matches(checked.model, await self.directory.find(checked.model)))
        if isinstance(verdict, Ineligible):
            return await self._refuse(verdict.reason, actor, draft.id)
        if reason := self.policy.may_receive(verdict.recipient):
            return await self._refuse(reason, actor, draft.id, verdict.recipient.agentschap)
        found = verdict.client
        fingerprint = client_fingerprint(self._fingerprint_key, found.naam, found.geboortedatum)
        previously = await self.store.last_sent(fingerprint)
        draft = draft.model_copy(
            update={
                "stage": Stage.CONFIRM_REPEAT if previously else Stage.COMPOSE,
                "recipient": verdict.recipient,
                "fingerprint": fingerprint,
                "previously_sent_at": previously,
                "client": ClientData(identity=checked.model.model_copy(update={"naam": found.naam})),
            }
        )
        draft = await self.store.save_draft(draft)
        await self._audit(
            "identified",
            draft.id,
            actor.aad_object_id,
            verdict.recipient.agentschap,
            reason="repeat" if previously else None,
        )
        return Shown(draft)

    async def confirm_repeat(self, actor: Actor, draft_id: str) -> Shown | Refused | Stale:
        """Art. 5: a second terugkoppeling for one client only after an explicit yes."""
        draft = await self._owned_draft(actor, draft_id, Stage.CONFIRM_REPEAT)
        if not isinstance(draft, Draft):
            return draft
        draft = await self.store.save_draft(draft.model_copy(update={"stage": Stage.COMPOSE}))
        await self._audit("repeat_confirmed", draft.id, actor.aad_object_id, self._agency(draft))
        return Shown(draft)

    async def preview(
        self, actor: Actor, draft_id: str, form: Mapping[str, object]
    ) -> Shown | FormErrors | Refused | Stale:
        """``bekijk``: validate the content and show exactly what the recipient will see."""
        draft = await self._owned_draft(actor, draft_id, Stage.COMPOSE)
        if not isinstance(draft, Draft):
            return draft
        checked = check_content(form, self.today())
        if checked.model is None or draft.client is None:
            return FormErrors(draft, checked.values, checked.errors)
        client = draft.client.model_copy(update={"content": checked.model})
        return Shown(await self.store.save_draft(draft.model_copy(update={"stage": Stage.PREVIEW, "client": client})))

    async def edit(self, actor: Actor, draft_id: str) -> Shown | Refused | Stale:
        """``wijzig``: back from the preview to the content form, with everything kept."""
        draft = await self._owned_draft(actor, draft_id, Stage.PREVIEW)
        if not isinstance(draft, Draft):
            return draft
        if await self.store.handoff_for_draft(draft.id):
            return Stale()  # already sent (its draft outlived a crash until the sweep delivers)
        return Shown(await self.store.save_draft(draft.model_copy(update={"stage": Stage.COMPOSE})))

    async def cancel(self, actor: Actor, draft_id: str) -> Cancelled | Shown | Refused | Stale:
        """``annuleer``: purge the draft at any step."""
        draft = await self._owned_draft(actor, draft_id)
        if not isinstance(draft, Draft):
            return draft
        if await self.store.handoff_for_draft(draft.id):
            return Stale()  # already sent: cancelling now would not unsend it
        await self.store.delete_draft(draft.id)
        await self._audit("cancelled", draft.id, actor.aad_object_id, self._agency(draft))
        await self._audit("purged", draft.id, actor.aad_object_id, self._agency(draft))
        return Cancelled()

    async def send(self, actor: Actor, draft_id: str) -> Sent | Queued | NotDelivered | Shown | Refused | Stale:
        """``verstuur``: record the handoff (the outbox), then deliver it; keep no copy for the counsellor.

        Idempotent: a retried invoke for a draft that was already sent answers with the same
        handoff and never posts a second card.
        """
        existing = await self.store.handoff_for_draft(draft_id)
        if existing is not None:
            if existing.counsellor.aad_object_id != actor.aad_object_id:
                return await self._refuse(Reason.NOT_OWNER, actor, existing.reference)
            return await self._sent_or_queued(existing)
        draft = await self._owned_draft(actor, draft_id, Stage.PREVIEW)
        if not isinstance(draft, Draft):
            return draft
        assert draft.recipient is not None and draft.client is not None
        if reason := self.policy.in_force(self.today()) or self.policy.may_receive(draft.recipient):
            return await self._refuse(reason, actor, draft.id, draft.recipient.agentschap)
        handoff, created = await self._record_handoff(draft)
        if not created:
            return await self._sent_or_queued(handoff)  # a concurrent retry recorded it first
        await self._audit("recorded", handoff.reference, actor.aad_object_id, handoff.recipient.agentschap)
        try:
            delivery = await self.messenger.deliver(handoff)
        except DeliveryError as error:
            if error.retryable:
                handoff = await self._retry_later(handoff, error, tell_counsellor=True)
                await self.store.delete_draft(draft.id)
                return Queued(handoff)
            # Refused for good (e.g. 403): nothing was sent; the counsellor keeps the preview.
            log.warning("delivery refused", extra={"ref": handoff.reference, "status": error.status})
            await self.store.delete_handoff(handoff.id)
            await self._audit(
                "delivery_failed",
                handoff.reference,
                actor.aad_object_id,
                handoff.recipient.agentschap,
                reason=" ".join(filter(None, (error.reason, str(error.status or "network")))),
            )
            return NotDelivered(draft, error.reason)
        return Sent(await self._delivered(handoff, delivery))

    async def _sent_or_queued(self, handoff: Handoff) -> Sent | Queued | Stale:
        """The answer to a repeated ``verstuur``; if still in the outbox, promise a notice when it lands."""
        if handoff.state is HandoffState.UNDELIVERABLE:
            return Stale()
        while handoff.state is HandoffState.DELIVERING and not handoff.tell_when_delivered:
            try:
                handoff = await self.store.save_handoff(handoff.model_copy(update={"tell_when_delivered": True}))
            except Conflict:
                latest = await self.store.get_handoff(handoff.id)
                if latest is None:
                    break
                handoff = latest
        return Queued(handoff) if handoff.state is HandoffState.DELIVERING else Sent(handoff)

    async def _record_handoff(self, draft: Draft) -> tuple[Handoff, bool]:
        """The outbox record for ``draft``, and whether this call created it."""
        assert draft.recipient is not None
        now = self.clock.now()
        for _ in range(5):
            try:
                added = await self.store.add_handoff(
                    Handoff(
                        id=new_id(),
                        reference=new_reference(),
                        draft_id=draft.id,
                        counsellor=draft.counsellor,
                        counsellor_address=draft.counsellor_address,
                        recipient=draft.recipient,
                        created_at=now,
                        client=draft.client,
                        fingerprint=draft.fingerprint,
                        attempts=1,
                        due_at=now + self.schedule.lease,  # if this process dies, the sweep takes over
                    )
                )
                return added, True
            except Conflict:
                if (existing := await self.store.handoff_for_draft(draft.id)) is not None:
                    return existing, False
        raise Conflict("no free reference after 5 tries")  # 16.7M references: never in practice

    async def _delivered(self, handoff: Handoff, delivery: Delivery) -> Handoff:
        """Record where the card landed, start the reminder clock, drop the draft."""
        now = self.clock.now()
        while True:
            arrived = handoff.model_copy(update={"delivery": delivery, "state": HandoffState.DELIVERED, "sent_at": now})
            try:
                saved = await self.store.save_handoff(arrived.model_copy(update={"due_at": self.schedule.due(arrived)}))
                break
            except Conflict:  # a repeated verstuur asked to be told: keep its flag
                latest = await self.store.get_handoff(handoff.id)
                if latest is None or latest.state is not HandoffState.DELIVERING:
                    return latest or handoff
                handoff = latest
        if saved.fingerprint:
            await self.store.mark_sent(saved.fingerprint, now)
        await self.store.delete_draft(saved.draft_id)
        await self._audit(
            "sent",
            saved.reference,
            saved.counsellor.aad_object_id,
            saved.recipient.agentschap,
            reason=None if saved.attempts == 1 else f"attempt {saved.attempts}",
        )
        if saved.tell_when_delivered:
            await self.messenger.notify_counsellor(saved, Notice.DELIVERED_LATE)
        return saved

    async def _retry_later(self, handoff: Handoff, error: DeliveryError, *, tell_counsellor: bool) -> Handoff:
        delay = self.schedule.retry_delay(handoff.attempts, error.retry_after)
        log.warning(
            "delivery deferred",
            extra={
                "ref": handoff.reference,
                "status": error.status,
                "attempt": handoff.attempts,
                "delay_s": delay.total_seconds(),
            },
        )
        await self._audit(
            "delivery_deferred",
            handoff.reference,
            "",
            handoff.recipient.agentschap,
            reason=str(error.status or "network"),
        )
        update: dict[str, object] = {"due_at": self.clock.now() + delay}
        if tell_counsellor:
            update["tell_when_delivered"] = True
        while True:
            try:
                return await self.store.save_handoff(handoff.model_copy(update=update))
            except Conflict:  # a repeated verstuur asked to be told meanwhile: keep its flag
                latest = await self.store.get_handoff(handoff.id)
                if latest is None or latest.state is not HandoffState.DELIVERING or latest.attempts != handoff.attempts:
                    return latest or handoff  # someone else moved it on: theirs stands
                handoff = latest

    # -- trajectbegeleider ----------------------------------------------------------------------

    async def close(
        self, actor: Actor, handoff_id: str, outcome: HandoffState
    ) -> Closed | AlreadyClosed | Refused | Stale:
        """``overgezet`` or ``niet_mijn_klant``: purge the content, remove the card, tell the sender."""
        handoff = await self.store.get_handoff(handoff_id)
        if handoff is None:
            return Stale()
        recipient = handoff.recipient
        if (actor.aad_object_id, actor.tenant_id) != (recipient.aad_object_id, recipient.tenant_id):
            return await self._refuse(Reason.NOT_RECIPIENT, actor, handoff.reference)
        if not handoff.state.is_open:
            return AlreadyClosed(handoff)
        try:
            handoff = await self.store.save_handoff(self._purged(handoff, outcome))
        except Conflict:
            latest = await self.store.get_handoff(handoff_id)
            return AlreadyClosed(latest) if latest else Stale()
        agency = recipient.agentschap
        await self._audit(outcome.value, handoff.reference, actor.aad_object_id, agency)
        await self._audit("purged", handoff.reference, actor.aad_object_id, agency)
        if outcome is HandoffState.RETURNED:
            await self._audit("incident", handoff.reference, actor.aad_object_id, agency, reason="misdelivery")
        return Closed(await self._follow_up(handoff))

    def _purged(self, handoff: Handoff, state: HandoffState) -> Handoff:
        """The handoff closed and its content gone; the card's removal and notices still to do."""
        now = self.clock.now()
        return handoff.model_copy(
            update={
                "state": state,
                "closed_at": now,
                "client": None,
                "follow_up": True,
                "due_at": now + self.schedule.lease,
            }
        )

    async def _follow_up(self, handoff: Handoff) -> Handoff:
        """Remove the recipient's card and tell the counsellor; if this process dies halfway, the
        sweep does it again once the lease has passed."""
        await self.store.delete_draft(handoff.draft_id)  # left behind only by a crash mid-send
        if handoff.delivery is not None:
            await self.messenger.withdraw(handoff)
        await self.messenger.notify_counsellor(handoff, CLOSING_NOTICES[handoff.state])
        try:
            return await self.store.save_handoff(handoff.model_copy(update={"follow_up": False, "due_at": None}))
        except Conflict:
            return handoff  # a sweep that found the lease passed did it as well

    # -- the sweep ------------------------------------------------------------------------------

    async def sweep(self, batch: int = 100) -> Counter[str]:
        """All time-driven work that is due now: expired drafts, the outbox, reminders, escalations,
        the retention cap, and unfinished follow-ups. Safe to run in several processes at once:
        every step is claimed with an optimistic write before anything is sent."""
        done: Counter[str] = Counter()
        while ids := await self.store.expired_drafts(self.clock.now(), batch):
            for draft_id in ids:
                if await self.store.delete_draft(draft_id):
                    await self._audit("expired", draft_id)
                    await self._audit("purged", draft_id)
                    done["draft_expired"] += 1
            if len(ids) < batch:
                break
        # Steps of different handoffs are independent (each is claimed on its own): overlap their
        # waits for Teams and the store, a few at a time so Teams' rate limits are not hit.
        limit = asyncio.Semaphore(self.schedule.concurrency)

        async def step(handoff: Handoff) -> str | None:
            async with limit:
                return await self._step(handoff)

        seen: set[str] = set()
        while True:
            due = [h for h in await self.store.due_handoffs(self.clock.now(), batch) if h.id not in seen]
            if not due:
                break
            seen.update(h.id for h in due)

            for outcome in await asyncio.gather(*(step(h) for h in due), return_exceptions=True):
                if isinstance(outcome, BaseException):
                    # It stays due and the next sweep tries again; nothing is half-done (claims).
                    log.error("sweep step failed", extra={"error": type(outcome).__name__})
                    done["failed"] += 1
                elif outcome:
                    done[outcome] += 1
        if done:
            log.info("sweep", extra={"done": dict(done)})
        return done

    async def _claim(self, handoff: Handoff, **update: object) -> Handoff | None:
        """Take a due step for ``lease``; ``None`` if another sweeper took it first."""
        try:
            return await self.store.save_handoff(
                handoff.model_copy(update={"due_at": self.clock.now() + self.schedule.lease, **update})
            )
        except Conflict:
            return None

    async def _step(self, handoff: Handoff) -> str | None:
        now = self.clock.now()
        step = self.schedule.step(handoff, now)
        agency = handoff.recipient.agentschap
        if step is None:  # e.g. a reminder due outside office hours: look again when it can be sent
            with contextlib.suppress(Conflict):
                later = self.schedule.reschedule(handoff, now)
                await self.store.save_handoff(handoff.model_copy(update={"due_at": later}))
            return None
        if step is Step.EXPIRE:
            try:
                handoff = await self.store.save_handoff(self._purged(handoff, HandoffState.EXPIRED))
            except Conflict:
                return None
            await self._audit("expired", handoff.reference, agency=agency, reason="retention")
            await self._audit("purged", handoff.reference, agency=agency)
            await self._follow_up(handoff)
            return step
        claimed = await self._claim(handoff, attempts=handoff.attempts + (step is Step.DELIVER))
        if claimed is None:
            return None
        if step is Step.DELIVER:
            await self._deliver_again(claimed)
        elif step is Step.REMIND:
            await self._remind(claimed)
        elif step is Step.ESCALATE:
            await self.messenger.notify_counsellor(claimed, Notice.UNCONFIRMED)
            await self._audit("escalated", claimed.reference, agency=agency, reason=str(claimed.reminders_sent))
            escalated = claimed.model_copy(update={"escalated": True})
            await self._save_quietly(escalated.model_copy(update={"due_at": self.schedule.due(escalated)}))
        else:
            await self._follow_up(claimed)
        return step

    async def _deliver_again(self, handoff: Handoff) -> None:
        try:
            delivery = await self.messenger.deliver(handoff)
        except DeliveryError as error:
            if error.retryable and handoff.attempts < self.schedule.max_attempts:
                await self._retry_later(handoff, error, tell_counsellor=False)
                return
            await self._give_up(handoff, error)
            return
        await self._delivered(handoff, delivery)

    async def _give_up(self, handoff: Handoff, error: DeliveryError) -> None:
        """Past the retry bound (or refused for good): purge, and tell the counsellor."""
        log.warning(
            "delivery abandoned", extra={"ref": handoff.reference, "status": error.status, "attempt": handoff.attempts}
        )
        try:
            handoff = await self.store.save_handoff(self._purged(handoff, HandoffState.UNDELIVERABLE))
        except Conflict:
            return
        agency = handoff.recipient.agentschap
        await self._audit(
            "delivery_abandoned",
            handoff.reference,
            agency=agency,
            reason=f"{error.status or 'network'} after {handoff.attempts} attempts",
        )
        await self._audit("purged", handoff.reference, agency=agency)
        await self._follow_up(handoff)

    async def _remind(self, handoff: Handoff) -> None:
        number = handoff.reminders_sent + 1
        try:
            await self.messenger.remind(handoff)
        except DeliveryError as error:
            if error.retryable:
                return  # the lease runs out and the next sweep tries again
            await self._audit(
                "reminder_failed", handoff.reference, agency=handoff.recipient.agentschap, reason=str(error.status)
            )
        else:
            await self._audit("reminded", handoff.reference, agency=handoff.recipient.agentschap, reason=str(number))
        reminded = handoff.model_copy(update={"reminders_sent": number, "last_reminded_at": self.clock.now()})
        await self._save_quietly(reminded.model_copy(update={"due_at": self.schedule.due(reminded)}))

    async def _save_quietly(self, handoff: Handoff) -> None:
        """Record a step's outcome; a conflict means the recipient closed it meanwhile, which wins."""
        with contextlib.suppress(Conflict):
            await self.store.save_handoff(handoff)

    async def view(
        self, actor: Actor, handoff_id: str, attempt: int | None
    ) -> Current | Superseded | AlreadyClosed | Refused | Stale:
        """Teams refreshes a card when someone looks at it: only the recipient, and only on the
        copy the bot recorded, sees the content."""
        handoff = await self.store.get_handoff(handoff_id)
        if handoff is None:
            return Stale()
        recipient = handoff.recipient
        if (actor.aad_object_id, actor.tenant_id) != (recipient.aad_object_id, recipient.tenant_id):
            return await self._refuse(Reason.NOT_RECIPIENT, actor, handoff.reference)
        if not handoff.state.is_open or handoff.client is None:
            return AlreadyClosed(handoff)
        live = handoff.delivery.attempt if handoff.delivery else handoff.attempts
        return Current(handoff) if attempt == live else Superseded(handoff)

    # -- helpers --------------------------------------------------------------------------------

    async def _expire(self, draft: Draft) -> None:
        """An unfinished draft past its time is purged as soon as anyone touches it."""
        if await self.store.delete_draft(draft.id):
            await self._audit("expired", draft.id, draft.counsellor.aad_object_id, self._agency(draft))
            await self._audit("purged", draft.id, draft.counsellor.aad_object_id, self._agency(draft))

    @staticmethod
    def _agency(draft: Draft) -> Agency | None:
        return draft.recipient.agentschap if draft.recipient else None
