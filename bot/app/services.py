"""The use cases of the conversation contract, each returning a value the Teams layer renders.

Errors a person can act on are values (``Refused``, ``FormErrors``, ``Stale``), not exceptions.
Every state change is audited, without client data.
"""

from __future__ import annotations

import logging
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
class NotDelivered:
    """Teams could not be reached; the draft is kept at the preview so it can be sent again."""

    draft: Draft


@dataclass(frozen=True, slots=True)
class Closed:
    """The handoff was transferred or returned, and its content purged."""

    handoff: Handoff


@dataclass(frozen=True, slots=True)
class AlreadyClosed:
    handoff: Handoff


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
    ) -> None:
        self.store = store
        self.directory = directory
        self.messenger = messenger
        self.clock = clock
        self.policy = policy
        self._fingerprint_key = fingerprint_key

    def today(self) -> date:
        return self.clock.now().astimezone(BRUSSELS).date()

    async def _audit(
        self, event: str, subject: str, actor: str = "", agency: Agency | None = None, reason: str | None = None
    ) -> None:
        await self.store.append_audit(
            AuditEvent(
                at=self.clock.now(), event=event, subject=subject, actor=actor, agency=agency, reason=reason
            )
        )

    async def _refuse(self, reason: Reason, actor: Actor, subject: str = "") -> Refused:
        await self._audit("refused", subject, actor.aad_object_id, reason=reason.value)
        return Refused(reason, subject or None)

    async def _owned_draft(self, actor: Actor, draft_id: str, *stages: Stage) -> Draft | Refused | Stale:
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
            return Stale()
        return draft

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
            return await self._refuse(reason, actor, draft.id)
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
            "identified", draft.id, actor.aad_object_id, verdict.recipient.agentschap,
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
        return Shown(await self.store.save_draft(draft.model_copy(update={"stage": Stage.COMPOSE})))

    async def cancel(self, actor: Actor, draft_id: str) -> Cancelled | Refused | Stale:
        """``annuleer``: purge the draft at any step."""
        draft = await self._owned_draft(actor, draft_id)
        if not isinstance(draft, Draft):
            return draft
        await self.store.delete_draft(draft.id)
        await self._audit("cancelled", draft.id, actor.aad_object_id, self._agency(draft))
        await self._audit("purged", draft.id, actor.aad_object_id, self._agency(draft))
        return Cancelled()

    async def send(self, actor: Actor, draft_id: str) -> Sent | NotDelivered | Refused | Stale:
        """``verstuur``: record the handoff, deliver it, and keep no copy for the counsellor.

        Idempotent: a retried invoke for a draft that was already sent returns the same handoff.
        """
        existing = await self.store.handoff_for_draft(draft_id)
        if existing is not None:
            if existing.counsellor.aad_object_id != actor.aad_object_id:
                return await self._refuse(Reason.NOT_OWNER, actor, existing.reference)
            return Sent(existing)
        draft = await self._owned_draft(actor, draft_id, Stage.PREVIEW)
        if not isinstance(draft, Draft):
            return draft
        assert draft.recipient is not None and draft.client is not None
        if reason := self.policy.in_force(self.today()) or self.policy.may_receive(draft.recipient):
            return await self._refuse(reason, actor, draft.id)
        handoff = await self._record_handoff(draft)
        if handoff.state is not HandoffState.DELIVERING:
            return Sent(handoff)  # a concurrent retry got there first
        try:
            delivery = await self.messenger.deliver(handoff)
        except DeliveryError as error:
            log.warning("delivery failed", extra={"ref": handoff.reference, "status": error.status})
            await self.store.delete_handoff(handoff.id)
            await self._audit(
                "delivery_failed", handoff.reference, actor.aad_object_id, handoff.recipient.agentschap,
                reason=str(error.status or "network"),
            )
            return NotDelivered(draft)
        now = self.clock.now()
        handoff = await self.store.save_handoff(
            handoff.model_copy(update={"delivery": delivery, "state": HandoffState.DELIVERED, "sent_at": now})
        )
        if draft.fingerprint:
            await self.store.mark_sent(draft.fingerprint, now)
        await self.store.delete_draft(draft.id)
        await self._audit("sent", handoff.reference, actor.aad_object_id, handoff.recipient.agentschap)
        return Sent(handoff)

    async def _record_handoff(self, draft: Draft) -> Handoff:
        assert draft.recipient is not None
        for _ in range(5):
            try:
                return await self.store.add_handoff(
                    Handoff(
                        id=new_id(),
                        reference=new_reference(),
                        draft_id=draft.id,
                        counsellor=draft.counsellor,
                        counsellor_address=draft.counsellor_address,
                        recipient=draft.recipient,
                        created_at=self.clock.now(),
                        client=draft.client,
                    )
                )
            except Conflict:
                if (existing := await self.store.handoff_for_draft(draft.id)) is not None:
                    return existing
        raise Conflict("no free reference after 5 tries")  # 16.7M references: never in practice

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
            handoff = await self.store.save_handoff(
                handoff.model_copy(update={"state": outcome, "closed_at": self.clock.now(), "client": None})
            )
        except Conflict:
            latest = await self.store.get_handoff(handoff_id)
            return AlreadyClosed(latest) if latest else Stale()
        agency = recipient.agentschap
        await self._audit(outcome.value, handoff.reference, actor.aad_object_id, agency)
        await self._audit("purged", handoff.reference, actor.aad_object_id, agency)
        if outcome is HandoffState.RETURNED:
            await self._audit("incident", handoff.reference, actor.aad_object_id, agency, reason="misdelivery")
        await self.messenger.withdraw(handoff)
        notice = Notice.TRANSFERRED if outcome is HandoffState.TRANSFERRED else Notice.RETURNED
        await self.messenger.notify_counsellor(handoff, notice)
        return Closed(handoff)

    # -- helpers --------------------------------------------------------------------------------

    async def _expire(self, draft: Draft) -> None:
        """An unfinished draft past its time is purged as soon as anyone touches it."""
        await self.store.delete_draft(draft.id)
        await self._audit("expired", draft.id, draft.counsellor.aad_object_id, self._agency(draft))
        await self._audit("purged", draft.id, draft.counsellor.aad_object_id, self._agency(draft))

    @staticmethod
    def _agency(draft: Draft) -> Agency | None:
        return draft.recipient.agentschap if draft.recipient else None
