"""The counsellor's steps of the conversation contract: start, identify, compose, preview, send.

Each function checks who is asking and where the draft stands, asks the domain for the
transition, and lets the outbox write it. A click on an out-of-date card, a repeated invoke or a
lost race shows the draft where it stands.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.app import sent
from bot.app.outbox import Deferred, Delivered, Rejected
from bot.app.ports import DirectoryUnavailable, RecipientUnresolved
from bot.app.results import (
    AlreadyClosed,
    Cancelled,
    Corrected,
    FormErrors,
    NotDelivered,
    Queued,
    Refused,
    Sent,
    Shown,
    Stale,
    Unidentified,
)
from bot.domain.directory import Ineligible, eligibility, matches, still_backed
from bot.domain.handoff import Change, Draft, Handoff, HandoffState, Stage
from bot.domain.model import Actor, Address, Reason, client_fingerprint, new_id
from bot.domain.template import check_content, check_identity

if TYPE_CHECKING:
    from bot.app.services import Terugkoppeling

log = logging.getLogger(__name__)


async def _owned_draft(
    app: Terugkoppeling, actor: Actor, draft_id: str, *stages: Stage
) -> Draft | Refused | Stale | Shown:
    draft = await app.store.get_draft(draft_id)
    if draft is None:
        return Stale()
    if draft.expires_at <= app.clock.now():
        await app.outbox.expire_draft(draft)
        return Stale()
    if not draft.owned_by(actor):
        return await app.refuse(Reason.NOT_OWNER, actor, draft.id)
    if stages and draft.stage not in stages:
        # A click on an out-of-date card, or Teams repeating an invoke whose answer got lost:
        # show the draft where it stands instead of doing the step again.
        return Shown(draft)
    return draft


async def _write(app: Terugkoppeling, draft: Draft, change: Change[Draft]) -> Shown | Stale:
    """Write a draft's change; a concurrent click that got there first wins, and its draft is shown."""
    written = await app.outbox.change(draft, lambda latest: change if latest.version == draft.version else None)
    record = written.record
    return Shown(record) if isinstance(record, Draft) else Stale()


async def current(app: Terugkoppeling, actor: Actor, draft_id: str) -> Shown | Refused | Stale:
    """Where a draft stands: the answer to Teams refreshing the counsellor's card."""
    draft = await _owned_draft(app, actor, draft_id)
    return Shown(draft) if isinstance(draft, Draft) else draft


async def start(app: Terugkoppeling, counsellor: Actor, address: Address) -> Shown | Refused:
    """``terugkoppeling``: open a draft and show the identification card."""
    if reason := app.policy.may_start(counsellor, app.today()):
        return await app.refuse(reason, counsellor)
    if not app.within(app.bounds.commands, counsellor):
        return await app.refuse(Reason.RATE_LIMITED, counsellor)
    change = Draft.open(id=new_id(), counsellor=counsellor, address=address, now=app.clock.now(),
                        ttl=app.policy.draft_ttl)
    return Shown(await app.outbox.open_draft(change))


async def restart(app: Terugkoppeling, actor: Actor, draft_id: str) -> Shown | Refused | Stale:
    """After a refusal: the identification card again, for another client."""
    draft = await _owned_draft(app, actor, draft_id, Stage.IDENTIFY)
    return Shown(draft) if isinstance(draft, Draft) else draft


async def identify(
    app: Terugkoppeling, actor: Actor, draft_id: str, form: Mapping[str, object], card: str | None = None
) -> Shown | FormErrors | Unidentified | Refused | Stale:
    """``identificeer``: find the client; only an active inburgeringstraject qualifies."""
    draft = await _owned_draft(app, actor, draft_id, Stage.IDENTIFY)
    if not isinstance(draft, Draft):
        return draft
    checked = check_identity(form, app.today())
    if checked.model is None:
        return FormErrors(draft, checked.values, checked.errors)
    if not app.within(app.bounds.identifications, actor):  # a birth date is not found by trying
        await app.refuse(Reason.RATE_LIMITED, actor, draft.id)
        return Unidentified(draft, checked.values, Reason.RATE_LIMITED)
    try:
        verdict = eligibility(matches(checked.model, await app.directory.find(checked.model)))
    except DirectoryUnavailable as error:
        log.warning("client directory unavailable", extra={"draft": draft.id, "error": error.reason})
        verdict = Ineligible(Reason.DIRECTORY_UNAVAILABLE)
    except RecipientUnresolved as error:
        log.warning("recipient unresolved", extra={"draft": draft.id, "error": error.reason})
        verdict = Ineligible(Reason.RECIPIENT_UNRESOLVED)
    if isinstance(verdict, Ineligible):
        # Nothing about the client is kept; the card keeps what was typed, so a typo is fixed in place.
        await app.refuse(verdict.reason, actor, draft.id)
        return Unidentified(draft, checked.values, verdict.reason)
    agency = verdict.recipient.agentschap
    if reason := app.policy.ended(agency.value, app.today()) or app.policy.may_receive(verdict.recipient):
        return await app.refuse(reason, actor, draft.id, agency)
    found = verdict.client
    fingerprint = client_fingerprint(app.fingerprint_key, found.naam, found.geboortedatum)
    change = draft.shown_in(card).identified(
        identity=checked.model.model_copy(update={"naam": found.naam}),
        recipient=verdict.recipient,
        fingerprint=fingerprint,
        previously_sent_at=await app.store.last_sent(fingerprint),
        at=app.clock.now(),
        klant_id=found.klant_id,
    )
    return await _write(app, draft, change)


async def confirm_repeat(app: Terugkoppeling, actor: Actor, draft_id: str, card: str | None = None
                         ) -> Shown | Refused | Stale:
    """Art. 5: a second terugkoppeling for one client only after an explicit yes."""
    draft = await _owned_draft(app, actor, draft_id, Stage.CONFIRM_REPEAT)
    if not isinstance(draft, Draft):
        return draft
    return await _write(app, draft, draft.shown_in(card).repeat_confirmed(app.clock.now()))


async def preview(
    app: Terugkoppeling, actor: Actor, draft_id: str, form: Mapping[str, object], card: str | None = None
) -> Shown | FormErrors | Refused | Stale:
    """``bekijk``: validate the content and show exactly what the recipient will see."""
    draft = await _owned_draft(app, actor, draft_id, Stage.COMPOSE)
    if not isinstance(draft, Draft):
        return draft
    checked = check_content(form, app.today())
    if checked.model is None or draft.client is None:
        return FormErrors(draft, checked.values, checked.errors)
    return await _write(app, draft, draft.shown_in(card).previewed(checked.model))


async def edit(app: Terugkoppeling, actor: Actor, draft_id: str, card: str | None = None) -> Shown | Refused | Stale:
    """``wijzig``: back from the preview to the content form, with everything kept."""
    draft = await _owned_draft(app, actor, draft_id, Stage.PREVIEW)
    if not isinstance(draft, Draft):
        return draft
    if await app.store.handoff_for_draft(draft.id):
        return Stale()  # already sent (its draft outlived a crash until the sweep delivers)
    return await _write(app, draft, draft.shown_in(card).reopened())


async def cancel(app: Terugkoppeling, actor: Actor, draft_id: str, card: str | None = None
                 ) -> Cancelled | Shown | Refused | Stale:
    """``annuleer``: purge the draft at any step; its card shows no client data afterwards."""
    draft = await _owned_draft(app, actor, draft_id)
    if not isinstance(draft, Draft):
        return draft
    if await app.store.handoff_for_draft(draft.id):
        return Stale()  # already sent: cancelling now would not unsend it
    if await app.store.delete_draft(draft.id, draft.cancelled(app.clock.now()).events):
        if draft.card_activity_id != card:  # the clicked card is replaced by the answer itself
            await app.outbox.retract_card(draft)
    return Cancelled(draft.corrects_reference)


async def send(
    app: Terugkoppeling, actor: Actor, draft_id: str
) -> Sent | Queued | NotDelivered | Shown | Refused | Stale | Corrected | AlreadyClosed | Cancelled:
    """``verstuur``: record the handoff (the outbox), then deliver it; keep no copy for the counsellor.

    Idempotent: a retried invoke for a draft that was already sent answers with the same
    handoff and never posts a second card.
    """
    existing = await app.store.handoff_for_draft(draft_id)
    if existing is not None:
        return await _sent_or_queued(app, actor, existing)
    draft = await _owned_draft(app, actor, draft_id, Stage.PREVIEW)
    if not isinstance(draft, Draft):
        return draft
    if draft.corrects is not None:  # issue 14: a correction replaces the sent card instead
        return await sent.send_correction(app, actor, draft)
    assert draft.recipient is not None and draft.client is not None
    agency = draft.recipient.agentschap
    if reason := (app.policy.in_force(app.today()) or app.policy.ended(agency.value, app.today())
                  or app.policy.may_receive(draft.recipient)):
        return await app.refuse(reason, actor, draft.id, agency)
    if draft.client.klant_id is not None:  # art. 4 and F.2.a, asked again: the preview may be hours old
        try:
            changed = still_backed(await app.directory.lookup(draft.client.klant_id), draft.recipient)
        except (DirectoryUnavailable, RecipientUnresolved) as error:
            log.warning("client directory unavailable", extra={"draft": draft.id, "error": error.reason})
            await app.refuse(Reason.DIRECTORY_UNAVAILABLE, actor, draft.id, draft.recipient.agentschap)
            return NotDelivered(draft, Reason.DIRECTORY_UNAVAILABLE.value)
        if changed is not None:
            await _write(app, draft, draft.unidentified(changed.value, app.clock.now()))
            return Refused(changed, draft.id)
    handoff, created = await app.outbox.record(draft)
    if not created:
        return await _sent_or_queued(app, actor, handoff)  # a concurrent retry recorded it first
    match await app.outbox.deliver(handoff, first=True):
        case Delivered(delivered):
            return Sent(delivered)
        case Deferred(deferred):
            return Queued(deferred)
        case Rejected(refusal):
            return NotDelivered(draft, refusal.reason)
        case None:
            return Stale()


async def _sent_or_queued(app: Terugkoppeling, actor: Actor, handoff: Handoff) -> Sent | Queued | Refused | Stale:
    """The answer to a repeated ``verstuur``; if still in the outbox, promise a notice when it lands."""
    if not handoff.counsellor.same_person(actor):
        return await app.refuse(Reason.NOT_OWNER, actor, handoff.reference)
    if handoff.state is HandoffState.UNDELIVERABLE:
        return Stale()
    if handoff.state is HandoffState.DELIVERING:
        handoff = await app.outbox.awaiting_notice(handoff)
    return Queued(handoff) if handoff.state is HandoffState.DELIVERING else Sent(handoff)
