"""The lifecycle of a terugkoppeling: a ``Draft`` while the counsellor writes it, a ``Handoff`` once sent.

Each transition is a method that checks the record's current state and returns a ``Change``:
the next record and the audit events the step implies (and, once delivered, the client's
fingerprint for the once-only rule of art. 5). A transition that does not fit the current state
raises ``IllegalTransition``: it is a bug in the caller, never a user's mistake.

Nothing here does I/O. The outbox (``bot.app.outbox``) writes a ``Change`` in one atomic store
write — the record, its audit events, the fingerprint and the removal of the draft it came from,
together (one SQLite transaction; one entity-group transaction in Table Storage) — so a crash
keeps either the old state or the new state with all of its evidence, never a state without it.

::

    Draft:   IDENTIFY ─identified→ CONFIRM_REPEAT ─repeat_confirmed→ COMPOSE ─previewed→ PREVIEW
                 └──────identified──────────────────────────────────────↗   ↖──reopened──┘
             any stage ─cancelled / expired→ (deleted)           PREVIEW ─recorded→ Handoff

    Handoff: DELIVERING ─delivered→ DELIVERED ─closed→ TRANSFERRED | RETURNED
             DELIVERING ─deferred / claimed→ DELIVERING ─given_up→ UNDELIVERABLE
             DELIVERING ─refused→ (deleted; the draft stays at its preview)
             DELIVERED ─reminded / escalated→ DELIVERED ─expired→ EXPIRED
             closed ─followed_up→ closed (the card removed and the counsellor told)
             DELIVERED ─reassigned→ DELIVERING (another recipient) ─copy_removed→ DELIVERING ─delivered→ …
             DELIVERED ─transfer_offered→ DELIVERED (undo_until) ─transfer_undone→ DELIVERED
                                                              └─closed (the sweep, after the window)→ TRANSFERRED
             DELIVERED ─corrected→ DELIVERING ─stale_card_removed→ DELIVERING ─delivered→ DELIVERED
             DELIVERED ─withdrawn_by_counsellor→ WITHDRAWN (issue 14: the counsellor's own)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from bot.domain.model import (
    Actor,
    Address,
    Agency,
    AuditEvent,
    AuditName,
    ClientData,
    Delivery,
    Recipient,
)
from bot.domain.template import Content, Identity

if TYPE_CHECKING:
    from bot.domain.schedule import Schedule


class IllegalTransition(Exception):
    """A transition was asked of a record in a state that does not allow it."""

    def __init__(self, record: str, state: str, transition: str) -> None:
        super().__init__(f"{record} in state {state!r} cannot be {transition}")


@dataclass(frozen=True, slots=True)
class FingerprintMark:
    """Art. 5: this client (keyed hash only) received a terugkoppeling at ``at``."""

    fingerprint: str
    at: datetime


R = TypeVar("R", "Draft", "Handoff")


@dataclass(frozen=True, slots=True)
class Change(Generic[R]):
    """The outcome of one transition, written atomically by the outbox."""

    record: R
    events: tuple[AuditEvent, ...] = ()
    mark_sent: FingerprintMark | None = None
    drop_draft: str | None = None  # the draft this handoff came from, removed in the same write
    delete: bool = False  # the record itself ends (a cancelled or expired draft; a refused first delivery)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)

    def _with(self, **changes: Any) -> Any:
        """A copy with ``changes``: only known fields (``model_copy`` would silently keep a typo)."""
        unknown = changes.keys() - type(self).model_fields.keys()
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {sorted(unknown)}")
        return self.model_copy(update=changes)


class Stage(StrEnum):
    """Where a draft is in the conversation contract."""

    IDENTIFY = "identify"
    CONFIRM_REPEAT = "confirm_repeat"
    COMPOSE = "compose"
    PREVIEW = "preview"


class Draft(_Record):
    """A terugkoppeling being written; all state lives here, never in the card."""

    id: str
    version: int = 0
    stage: Stage = Stage.IDENTIFY
    counsellor: Actor
    counsellor_address: Address
    created_at: datetime
    expires_at: datetime
    recipient: Recipient | None = None
    fingerprint: str | None = None
    previously_sent_at: datetime | None = None
    client: ClientData | None = None
    # The counsellor's card for this draft (the invoke's ``replyToId``): overwritten with a
    # content-free card when the draft ends without being sent (F.2.c: the sender keeps no copy).
    card_activity_id: str | None = None
    # issue 14: a correction of a sent handoff ("Wijzigen" on the overview), not a new terugkoppeling:
    # ``verstuur`` replaces that handoff's card instead of recording another (no fingerprint: art. 5).
    corrects: str | None = None  # the handoff's id
    corrects_reference: str | None = None

    @property
    def agency(self) -> Agency | None:
        return self.recipient.agentschap if self.recipient else None

    @property
    def owner(self) -> str:
        """Whose draft it is: a counsellor has at most one unfinished draft."""
        return f"{self.counsellor.tenant_id}|{self.counsellor.aad_object_id}"

    def _event(self, name: AuditName, at: datetime, reason: str | None = None) -> AuditEvent:
        return AuditEvent(at=at, event=name, subject=self.id, actor=self.counsellor.aad_object_id,
                          agency=self.agency, reason=reason)

    def _require(self, transition: str, *stages: Stage) -> None:
        if self.stage not in stages:
            raise IllegalTransition("draft", self.stage.value, transition)

    def owned_by(self, actor: Actor) -> bool:
        return self.counsellor.same_person(actor)

    @classmethod
    def open(cls, *, id: str, counsellor: Actor, address: Address, now: datetime, ttl: timedelta) -> Change[Draft]:
        draft = cls(id=id, counsellor=counsellor, counsellor_address=address, created_at=now, expires_at=now + ttl)
        return Change(draft, (draft._event(AuditName.STARTED, now),))

    @classmethod
    def correcting(cls, handoff: Handoff, *, id: str, address: Address, now: datetime, ttl: timedelta
                   ) -> Change[Draft]:
        """``Wijzigen`` on the overview: the content form with what was sent, for the same client and
        recipient (nothing is looked up again, nothing counts as sent again)."""
        handoff._require("corrected", HandoffState.DELIVERED)
        if handoff.client is None:
            raise IllegalTransition("handoff", "purged", "corrected")
        draft = cls(id=id, counsellor=handoff.counsellor, counsellor_address=address, created_at=now,
                    expires_at=now + ttl, stage=Stage.COMPOSE, recipient=handoff.recipient, client=handoff.client,
                    corrects=handoff.id, corrects_reference=handoff.reference)
        return Change(draft, (draft._event(AuditName.STARTED, now, "correction"),))

    def identified(
        self, *, identity: Identity, recipient: Recipient, fingerprint: str, previously_sent_at: datetime | None,
        at: datetime, klant_id: str | None = None,
    ) -> Change[Draft]:
        """The client was found with an active inburgeringstraject; a repeat needs a yes first (art. 5)."""
        self._require("identified", Stage.IDENTIFY)
        draft: Draft = self._with(
            stage=Stage.CONFIRM_REPEAT if previously_sent_at else Stage.COMPOSE,
            recipient=recipient,
            fingerprint=fingerprint,
            previously_sent_at=previously_sent_at,
            client=ClientData(identity=identity, klant_id=klant_id),
        )
        return Change(draft, (draft._event(AuditName.IDENTIFIED, at, "repeat" if previously_sent_at else None),))

    def repeat_confirmed(self, at: datetime) -> Change[Draft]:
        self._require("repeat_confirmed", Stage.CONFIRM_REPEAT)
        draft: Draft = self._with(stage=Stage.COMPOSE)
        return Change(draft, (draft._event(AuditName.REPEAT_CONFIRMED, at),))

    def previewed(self, content: Content) -> Change[Draft]:
        self._require("previewed", Stage.COMPOSE)
        assert self.client is not None
        return Change(self._with(stage=Stage.PREVIEW, client=self.client.model_copy(update={"content": content})))

    def reopened(self) -> Change[Draft]:
        """``wijzig``: back from the preview to the content form, everything kept."""
        self._require("reopened", Stage.PREVIEW)
        return Change(self._with(stage=Stage.COMPOSE))

    def shown_in(self, card_activity_id: str | None) -> Draft:
        """The record with the counsellor's card remembered (no event: it holds no client data)."""
        if not card_activity_id or card_activity_id == self.card_activity_id:
            return self
        result: Draft = self._with(card_activity_id=card_activity_id)
        return result

    def unidentified(self, reason: str, at: datetime) -> Change[Draft]:
        """At ``verstuur`` the directory no longer backs the preview (the label is gone, or another
        trajectbegeleider is named): back to identification, the client's data dropped."""
        self._require("unidentified", Stage.PREVIEW)
        draft: Draft = self._with(stage=Stage.IDENTIFY, recipient=None, fingerprint=None, previously_sent_at=None,
                                  client=None)
        return Change(draft, (self._event(AuditName.REFUSED, at, reason),))

    def cancelled(self, at: datetime) -> Change[Draft]:
        """``annuleer``, at any stage: the draft and its content are purged."""
        return Change(self, (self._event(AuditName.CANCELLED, at), self._event(AuditName.PURGED, at)), delete=True)

    def replaced(self, at: datetime) -> Change[Draft]:
        """The counsellor started a new one (at most one unfinished draft each): this one is purged."""
        events = (self._event(AuditName.CANCELLED, at, "replaced"), self._event(AuditName.PURGED, at))
        return Change(self, events, delete=True)

    def expired(self, at: datetime) -> Change[Draft]:
        """Left unfinished past its time: purged."""
        return Change(self, (self._event(AuditName.EXPIRED, at), self._event(AuditName.PURGED, at)), delete=True)


class HandoffState(StrEnum):
    DELIVERING = "delivering"  # recorded, in the outbox
    DELIVERED = "delivered"  # in the recipient's chat, waiting for "Overgezet"
    TRANSFERRED = "transferred"  # "overgezet" to KBI/Allis
    RETURNED = "returned"  # "niet mijn klant": an incident
    EXPIRED = "expired"  # not confirmed within the retention cap: purged
    UNDELIVERABLE = "undeliverable"  # Teams could not be reached within the retry bound: purged
    WITHDRAWN = "withdrawn"  # taken back before it was confirmed (``closed_because`` says why): purged

    @property
    def is_open(self) -> bool:
        return self in (HandoffState.DELIVERING, HandoffState.DELIVERED)


CLOSED_BY_RECIPIENT = (HandoffState.TRANSFERRED, HandoffState.RETURNED)
BY_COUNSELLOR = "by_counsellor"  # ``closed_because`` of a handoff its counsellor withdrew (issue 14)


class Handoff(_Record):
    """A sent terugkoppeling. After a purge only the content-free envelope remains."""

    id: str
    reference: str
    draft_id: str
    version: int = 0
    state: HandoffState = HandoffState.DELIVERING
    counsellor: Actor
    counsellor_address: Address
    recipient: Recipient
    fingerprint: str | None = None  # keyed hash of the client, recorded as "sent" once delivered
    created_at: datetime
    sent_at: datetime | None = None
    closed_at: datetime | None = None
    delivery: Delivery | None = None
    client: ClientData | None = None
    # The outbox and the reminders: what the sweep does next, and when.
    due_at: datetime | None = None
    attempts: int = 0  # delivery attempts started; the card carries the number of its attempt
    reminders_sent: int = 0
    last_reminded_at: datetime | None = None
    escalated: bool = False
    tell_when_delivered: bool = False  # the counsellor was shown "wordt verstuurd"
    follow_up: bool = False  # closed, but the card's removal and the notices are not done yet
    closed_because: str | None = None  # why it was withdrawn (a ``Reason`` value): content-free
    counsellor_told: bool = False  # the closing notice went out (the follow-up may be retried after)
    removal_attempts: int = 0  # tries to overwrite and delete the recipient's card
    # Issue 14, "Doorsturen" and the backup recipient: the previous recipient's copy, removed before
    # the card goes to the new one (never two live copies); how often it was handed on; the notice due.
    stale_copy: Delivery | None = None
    reassignments: int = 0
    tell_reassigned: str | None = None  # "colleague" or "backup": the counsellor is told once it landed
    # Issue 14, undo for "Overgezet": until then the click can be undone; the sweep closes it after
    # (``due_at`` is this moment: the purge runs through the due index). Who clicked.
    undo_until: datetime | None = None
    transferred_by: str | None = None
    # issue 14: a correction in flight. The card it replaces is overwritten and deleted *before* the new
    # one is posted (one live copy at any time); until then it is kept here, and the sweep redoes both.
    stale_delivery: Delivery | None = None
    corrections: int = 0

    @property
    def agency(self) -> Agency:
        return self.recipient.agentschap

    @property
    def owner(self) -> str:
        """Whose terugkoppeling it is (as ``Draft.owner``): the overview lists by this key."""
        return f"{self.counsellor.tenant_id}|{self.counsellor.aad_object_id}"

    @property
    def live_attempt(self) -> int:
        """The delivery attempt whose card is the recorded copy: any other card is a stray."""
        return self.delivery.attempt if self.delivery else self.attempts

    def _event(self, name: AuditName, at: datetime, reason: str | None = None, actor: str = "") -> AuditEvent:
        return AuditEvent(at=at, event=name, subject=self.reference, actor=actor, agency=self.agency, reason=reason)

    def _require(self, transition: str, *states: HandoffState) -> None:
        if self.state not in states:
            raise IllegalTransition("handoff", self.state.value, transition)

    @property
    def pending_key(self) -> str | None:
        """Whose ``openstaand`` list holds it (tenant|object id): a card in their chat, not closed."""
        if self.state is not HandoffState.DELIVERED or self.undo_until is not None:
            return None
        return f"{self.recipient.tenant_id}|{self.recipient.aad_object_id}"

    def addressed_to(self, actor: Actor) -> bool:
        return self.recipient.aad_object_id == actor.aad_object_id and self.recipient.tenant_id == actor.tenant_id

    @classmethod
    def recorded(
        cls, draft: Draft, *, id: str, reference: str, now: datetime, lease: timedelta
    ) -> Change[Handoff]:
        """``verstuur``: the sealed terugkoppeling enters the outbox; if this process dies before it
        is delivered, the sweep takes over once ``lease`` has passed."""
        draft._require("recorded", Stage.PREVIEW)
        if draft.recipient is None or draft.client is None or draft.client.content is None:
            raise IllegalTransition("draft", "incomplete preview", "recorded")
        handoff = cls(
            id=id, reference=reference, draft_id=draft.id, counsellor=draft.counsellor,
            counsellor_address=draft.counsellor_address, recipient=draft.recipient, created_at=now,
            client=draft.client, fingerprint=draft.fingerprint, attempts=1, due_at=now + lease,
        )
        return Change(handoff, (handoff._event(AuditName.RECORDED, now, actor=draft.counsellor.aad_object_id),))

    def delivered(self, delivery: Delivery, *, at: datetime, schedule: Schedule) -> Change[Handoff]:
        """The card is in the recipient's chat: the reminder clock starts, the draft goes, and the
        client counts as sent (art. 5)."""
        self._require("delivered", HandoffState.DELIVERING)
        arrived: Handoff = self._with(delivery=delivery, state=HandoffState.DELIVERED, sent_at=at)
        arrived = arrived._with(due_at=schedule.due(arrived))
        reason = None if self.attempts == 1 else f"attempt {self.attempts}"
        name = AuditName.SENT
        if self.corrections:  # a corrected card: not a second terugkoppeling (art. 5), nor counted as sent
            name, reason = AuditName.CORRECTION_DELIVERED, str(self.corrections)
        event = arrived._event(name, at, reason, actor=self.counsellor.aad_object_id)
        # neither a correction nor a card handed to a colleague is a second send (art. 5)
        mark = (FingerprintMark(self.fingerprint, at)
                if self.fingerprint and not self.corrections and not self.reassignments else None)
        return Change(arrived, (event,), mark_sent=mark, drop_draft=self.draft_id)

    def deferred(
        self, *, at: datetime, until: datetime, status: int | str | None, tell_counsellor: bool
    ) -> Change[Handoff]:
        """Teams could not take it now (429/5xx/network): try again at ``until``; the draft goes
        (the outbox holds the content now)."""
        self._require("deferred", HandoffState.DELIVERING)
        handoff: Handoff = self._with(due_at=until, tell_when_delivered=self.tell_when_delivered or tell_counsellor)
        event = self._event(AuditName.DELIVERY_DEFERRED, at, str(status or "network"))
        return Change(handoff, (event,), drop_draft=self.draft_id)

    def refused(self, *, at: datetime, reason: str) -> Change[Handoff]:
        """Teams refused the first attempt for good (e.g. 403): nothing was sent, the outbox record
        goes and the counsellor keeps the preview to try again."""
        self._require("refused", HandoffState.DELIVERING)
        event = self._event(AuditName.DELIVERY_FAILED, at, reason, actor=self.counsellor.aad_object_id)
        return Change(self, (event,), delete=True)

    def awaiting_notice(self) -> Change[Handoff]:
        """A repeated ``verstuur`` saw "wordt verstuurd": the counsellor is told when it lands."""
        self._require("awaiting_notice", HandoffState.DELIVERING)
        return Change(self._with(tell_when_delivered=True))

    def claimed(self, *, until: datetime, delivery_attempt: bool) -> Change[Handoff]:
        """A sweeper takes the due step until ``until``; a delivery attempt is numbered."""
        return Change(self._with(due_at=until, attempts=self.attempts + delivery_attempt))

    def rescheduled(self, due_at: datetime | None) -> Change[Handoff]:
        return Change(self._with(due_at=due_at))

    def reminded(self, *, at: datetime, schedule: Schedule, failed_status: int | None = None) -> Change[Handoff]:
        """One more reminder went out (or Teams refused it for good, which counts the same)."""
        self._require("reminded", HandoffState.DELIVERED)
        number = self.reminders_sent + 1
        handoff: Handoff = self._with(reminders_sent=number, last_reminded_at=at)
        handoff = handoff._with(due_at=schedule.due(handoff))
        if failed_status is None:
            event = self._event(AuditName.REMINDED, at, str(number))
        else:
            event = self._event(AuditName.REMINDER_FAILED, at, str(failed_status))
        return Change(handoff, (event,))

    def escalated_to_counsellor(self, *, at: datetime, schedule: Schedule) -> Change[Handoff]:
        """After the last reminder the counsellor is told; only the retention cap is due after that."""
        self._require("escalated", HandoffState.DELIVERED)
        if self.escalated:
            raise IllegalTransition("handoff", "escalated", "escalated")
        handoff: Handoff = self._with(escalated=True)
        handoff = handoff._with(due_at=schedule.due(handoff))
        return Change(handoff, (self._event(AuditName.ESCALATED, at, str(self.reminders_sent)),))

    def _purged(self, state: HandoffState, at: datetime, lease: timedelta, *events: AuditEvent) -> Change[Handoff]:
        """Closed and its content gone; the card's removal and the notices follow (``followed_up``),
        redone by the sweep once ``lease`` has passed if this process dies first."""
        closed: Handoff = self._with(state=state, closed_at=at, client=None, follow_up=True, due_at=at + lease)
        return Change(closed, (*events, self._event(AuditName.PURGED, at, actor=events[0].actor)),
                      drop_draft=self.draft_id)

    def closed(self, outcome: HandoffState, *, actor: Actor, at: datetime, lease: timedelta) -> Change[Handoff]:
        """``overgezet`` or ``niet_mijn_klant`` by the recipient; a misdelivery is an incident (art. 9)."""
        if outcome not in CLOSED_BY_RECIPIENT:
            raise IllegalTransition("handoff", self.state.value, f"closed as {outcome.value}")
        self._require("closed", HandoffState.DELIVERING, HandoffState.DELIVERED)
        who = actor.aad_object_id
        events = [self._event(AuditName(outcome.value), at, actor=who)]
        change = self._purged(outcome, at, lease, *events)
        if outcome is HandoffState.RETURNED:
            incident = self._event(AuditName.INCIDENT, at, "misdelivery", actor=who)
            change = Change(change.record, (*change.events, incident), drop_draft=change.drop_draft)
        return change

    def expired(self, *, at: datetime, lease: timedelta) -> Change[Handoff]:
        """The retention cap: not confirmed in time, purged."""
        self._require("expired", HandoffState.DELIVERED)
        return self._purged(HandoffState.EXPIRED, at, lease, self._event(AuditName.EXPIRED, at, "retention"))

    def given_up(self, *, at: datetime, lease: timedelta, status: int | None) -> Change[Handoff]:
        """Past the retry bound (or refused for good by a later attempt): purged, the counsellor told."""
        self._require("given_up", HandoffState.DELIVERING)
        reason = f"{status or 'network'} after {self.attempts} attempts"
        return self._purged(HandoffState.UNDELIVERABLE, at, lease,
                            self._event(AuditName.DELIVERY_ABANDONED, at, reason))

    def withdrawn(
        self, reason: str, *, at: datetime, lease: timedelta, actor: str = "", event: AuditName = AuditName.WITHDRAWN
    ) -> Change[Handoff]:
        """Taken back before it was confirmed: e.g. at delivery the directory no longer backs it (the
        client lost the label, or another trajectbegeleider is named), or the protocol ended for its
        agency (``event`` ``protocol_ended``). Not an incident: nobody wrong saw it."""
        self._require("withdrawn", HandoffState.DELIVERING, HandoffState.DELIVERED)
        because: Handoff = self._with(closed_because=reason)
        return because._purged(HandoffState.WITHDRAWN, at, lease, self._event(event, at, reason, actor=actor))

    # -- issue 14: the counsellor corrects or withdraws a sent, unconfirmed terugkoppeling ----------

    def corrected(self, content: Content, *, actor: Actor, draft_id: str, at: datetime, lease: timedelta
                  ) -> Change[Handoff]:
        """``verstuur`` of a correction draft: the new content goes back into the outbox as the next
        delivery attempt; the card it replaces waits in ``stale_delivery`` to be removed first. The
        correction draft goes in the same write. The reminders start over for the new card."""
        self._require("corrected", HandoffState.DELIVERED)
        if self.client is None or not self.counsellor.same_person(actor):
            raise IllegalTransition("handoff", self.state.value, "corrected")
        handoff: Handoff = self._with(
            state=HandoffState.DELIVERING, client=self.client.model_copy(update={"content": content}),
            stale_delivery=self.delivery, delivery=None, attempts=self.attempts + 1, due_at=at + lease,
            reminders_sent=0, last_reminded_at=None, escalated=False, corrections=self.corrections + 1,
        )
        event = self._event(AuditName.CORRECTED, at, str(handoff.corrections), actor=actor.aad_object_id)
        return Change(handoff, (event,), drop_draft=draft_id)

    def stale_card_removed(self, *, overwritten: bool, deleted: bool, status: int | None, retryable: bool,
                           at: datetime) -> Change[Handoff]:
        """The replaced card of a correction: overwritten (its content gone) and deleted. Only once it is
        overwritten or deleted may the new card be posted; a retryable failure keeps it due (``stale_delivery``
        stays). One Teams refuses for good is given up on: content left in Teams is an incident (art. 9),
        as for any card the bot cannot remove."""
        self._require("stale_card_removed", HandoffState.DELIVERING)
        if self.stale_delivery is None:
            raise IllegalTransition("handoff", self.state.value, "stale_card_removed")
        events = [self._event(AuditName.CARD_OVERWRITTEN, at, "correction")] if overwritten else []
        events.append(self._event(AuditName.CARD_DELETED, at, "correction") if deleted
                      else self._event(AuditName.CARD_DELETE_FAILED, at, str(status or "network")))
        gone = overwritten or deleted
        if not gone and not retryable:
            events.append(self._event(AuditName.INCIDENT, at, "content_left_in_teams"))
        handoff: Handoff = self._with(stale_delivery=None) if gone or not retryable else self
        return Change(handoff, tuple(events))

    def withdrawn_by_counsellor(self, *, actor: Actor, at: datetime, lease: timedelta) -> Change[Handoff]:
        """``Intrekken`` (confirmed) on the overview: purged, the recipient's card removed and the
        recipient told; the counsellor reads the outcome on their own card. Not an incident."""
        self._require("withdrawn", HandoffState.DELIVERED)
        if not self.counsellor.same_person(actor):
            raise IllegalTransition("handoff", self.state.value, "withdrawn by another")
        change = self.withdrawn(BY_COUNSELLOR, at=at, lease=lease, actor=actor.aad_object_id)
        told: Handoff = change.record._with(counsellor_told=True)
        return Change(told, change.events, drop_draft=change.drop_draft)

    def followed_up(self, keep_until: datetime | None = None) -> Change[Handoff]:
        """The recipient's card is removed and the counsellor told: nothing more is due but, at
        ``keep_until``, forgetting the content-free envelope itself (the bot's own retention)."""
        if self.state.is_open or not self.follow_up:
            raise IllegalTransition("handoff", self.state.value, "followed_up")
        return Change(self._with(follow_up=False, due_at=keep_until, counsellor_told=True))

    def forgotten(self, at: datetime) -> Change[Handoff]:
        """Storage limitation: a closed handoff's envelope (names and e-mail of the counsellor and the
        trajectbegeleider, times) is deleted once kept long enough; the audit trail keeps the evidence."""
        if self.state.is_open or self.follow_up:
            raise IllegalTransition("handoff", self.state.value, "forgotten")
        return Change(self, (self._event(AuditName.FORGOTTEN, at, "retention"),), delete=True)

    def card_removal(
        self, *, overwritten: bool, deleted: bool, status: int | None, retryable: bool, at: datetime,
        retry_at: datetime, max_attempts: int, keep_until: datetime | None = None,
    ) -> Change[Handoff]:
        """Art. 6 / F.3: what happened to the recipient's card is evidence. Done once it is deleted (or
        its content is gone and deleting can never work, e.g. 404/501); a retryable failure is tried
        again at ``retry_at``; after ``max_attempts`` the bot gives up, and content left in Teams is an
        incident (art. 9)."""
        if self.state.is_open or not self.follow_up:
            raise IllegalTransition("handoff", self.state.value, "card_removal")
        events = []
        if overwritten:
            events.append(self._event(AuditName.CARD_OVERWRITTEN, at))
        events.append(self._event(AuditName.CARD_DELETED, at) if deleted
                      else self._event(AuditName.CARD_DELETE_FAILED, at, str(status or "network")))
        attempts = self.removal_attempts + 1
        finished = deleted or (overwritten and not retryable)
        if finished or attempts >= max_attempts:
            if not overwritten:
                events.append(self._event(AuditName.INCIDENT, at, "content_left_in_teams"))
            done: Handoff = self._with(removal_attempts=attempts, follow_up=False, due_at=keep_until,
                                       counsellor_told=True)
            return Change(done, tuple(events))
        later: Handoff = self._with(removal_attempts=attempts, due_at=retry_at, counsellor_told=True)
        return Change(later, tuple(events))

    # -- the trajectbegeleider's side (issue 14): "Doorsturen naar een collega", the backup ---------

    def reassigned(
        self, to: Recipient, *, reason: str, at: datetime, lease: timedelta, actor: str = ""
    ) -> Change[Handoff]:
        """Handed to another trajectbegeleider of the same agency (``reason`` ``colleague``, or
        ``backup`` when nobody reacted): back in the outbox for them, the reminders start again, and
        the previous copy is remembered so it is removed before the new one is posted."""
        self._require("reassigned", HandoffState.DELIVERED)
        if to.agentschap is not self.recipient.agentschap:
            raise IllegalTransition("handoff", "another agency", "reassigned")
        if (to.aad_object_id, to.tenant_id) == (self.recipient.aad_object_id, self.recipient.tenant_id):
            raise IllegalTransition("handoff", "the same recipient", "reassigned")
        moved: Handoff = self._with(
            recipient=to, state=HandoffState.DELIVERING, stale_copy=self.delivery, delivery=None,
            attempts=self.attempts + 1, due_at=at + lease, reminders_sent=0, last_reminded_at=None,
            escalated=False, tell_when_delivered=False, reassignments=self.reassignments + 1,
            tell_reassigned=reason,
        )
        return Change(moved, (self._event(AuditName.REASSIGNED, at, reason, actor=actor),))

    def shown_in(self, activity_id: str) -> Change[Handoff]:
        """``toon`` in another message of the recipient's chat (``openstaand``, a reminder): that
        message becomes the live copy (a new attempt number, so the old card's refresh shows no
        content) and the old one is remembered to be overwritten and deleted: one live copy."""
        self._require("shown_in", HandoffState.DELIVERED)
        if self.delivery is None or self.stale_copy is not None or self.undo_until is not None:
            raise IllegalTransition("handoff", "no single live copy", "shown_in")
        number = self.attempts + 1
        moved: Handoff = self._with(
            delivery=self.delivery.model_copy(update={"activity_id": activity_id, "attempt": number}),
            attempts=number, stale_copy=self.delivery,
        )
        return Change(moved)

    def copy_removed(
        self, *, overwritten: bool, deleted: bool, status: int | None, retryable: bool, at: datetime
    ) -> Change[Handoff]:
        """What became of the previous recipient's copy (art. 6: evidence). Done once its content is
        gone (overwritten or deleted); a retryable failure keeps it for another try; a final failure
        with the content maybe still shown is an incident (art. 9), and the handoff goes on."""
        self._require("copy_removed", HandoffState.DELIVERING, HandoffState.DELIVERED)
        if self.stale_copy is None:
            raise IllegalTransition("handoff", "no previous copy", "copy_removed")
        events = []
        why = "reassigned" if self.state is HandoffState.DELIVERING else "moved"
        if overwritten:
            events.append(self._event(AuditName.CARD_OVERWRITTEN, at, why))
        events.append(self._event(AuditName.CARD_DELETED, at, why) if deleted
                      else self._event(AuditName.CARD_DELETE_FAILED, at, str(status or "network")))
        gone = overwritten or deleted
        if not gone and not retryable:
            events.append(self._event(AuditName.INCIDENT, at, "content_left_in_teams"))
        keep = self.stale_copy if not gone and retryable else None
        return Change(self._with(stale_copy=keep), tuple(events))

    # -- the trajectbegeleider's side (issue 14): "Overgezet" can be undone for a short window -------

    def transfer_offered(self, *, actor: Actor, at: datetime, until: datetime) -> Change[Handoff]:
        """"Overgezet" with an undo window: the content stays sealed until ``until`` (no reminder, off
        ``openstaand``); then the sweep closes it as transferred and purges (through ``due_at``)."""
        self._require("transfer_offered", HandoffState.DELIVERED)
        if self.undo_until is not None:
            raise IllegalTransition("handoff", "undo window open", "transfer_offered")
        offered: Handoff = self._with(undo_until=until, due_at=until, transferred_by=actor.aad_object_id)
        minutes = str(max(0, round((until - at).total_seconds() / 60)))
        return Change(offered, (self._event(AuditName.TRANSFER_UNDOABLE, at, minutes, actor=actor.aad_object_id),))

    def transfer_undone(self, *, actor: Actor, at: datetime, schedule: Schedule) -> Change[Handoff]:
        """"Ongedaan maken" within the window: waiting again, for the recipient alone."""
        self._require("transfer_undone", HandoffState.DELIVERED)
        if self.undo_until is None or at >= self.undo_until:
            raise IllegalTransition("handoff", "no undo window", "transfer_undone")
        back: Handoff = self._with(undo_until=None, transferred_by=None)
        back = back._with(due_at=schedule.due(back))
        return Change(back, (self._event(AuditName.TRANSFER_UNDONE, at, actor=actor.aad_object_id),))

    def transfer_window_passed(self, *, at: datetime, lease: timedelta) -> Change[Handoff]:
        """The window ended without an undo: closed as transferred by whoever clicked, and purged."""
        if self.undo_until is None or at < self.undo_until:
            raise IllegalTransition("handoff", self.state.value, "transfer_window_passed")
        who = Actor(aad_object_id=self.transferred_by or "", tenant_id=self.recipient.tenant_id)
        ended: Handoff = self._with(undo_until=None)
        return ended.closed(HandoffState.TRANSFERRED, actor=who, at=at, lease=lease)
