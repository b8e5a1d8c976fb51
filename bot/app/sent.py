"""The counsellor's sent terugkoppelingen (issue 14): the overview, and correcting or withdrawing
one that is delivered and not yet confirmed.

The overview lists only the asking counsellor's own handoffs (the store's owner index; each is
checked again here), with the client's name while the content exists: the counsellor sent it and
may see it. Nothing here logs a client's name. A correction is a draft of its own
(``Draft.correcting``) through the usual form and preview; its ``verstuur`` replaces the
recipient's card through the outbox. Neither a correction nor a withdrawal counts as a repeat
under art. 5, nor is it an incident.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.app.outbox import Deferred, Delivered
from bot.app.ports import UnreadableRecord
from bot.app.results import (
    AlreadyClosed,
    Cancelled,
    ConfirmWithdraw,
    Corrected,
    Overview,
    Refused,
    Shown,
    Stale,
    Withdrawn,
)
from bot.domain.handoff import Draft, Handoff, HandoffState
from bot.domain.model import Actor, Address, AuditEvent, AuditName, Reason, new_id

if TYPE_CHECKING:
    from bot.app.services import Terugkoppeling

log = logging.getLogger(__name__)
PAGE_SIZE = 10
MAX_PAGE = 1000


def page_of(value: str | None) -> int:
    """The page a card's ``pagina`` asks for (from 1); anything else is the first."""
    try:
        return min(max(int(value or "1"), 1), MAX_PAGE)
    except ValueError:
        return 1


async def overview(app: Terugkoppeling, actor: Actor, page: int = 1) -> Overview | Refused:
    """``overzicht``: one page of the counsellor's open and recently closed terugkoppelingen."""
    if not app.policy.counsellor_tenant(actor.tenant_id):
        return await app.refuse(Reason.COUNSELLOR_TENANT, actor)
    owner = f"{actor.tenant_id}|{actor.aad_object_id}"  # as ``Handoff.owner``
    found = await app.store.counsellor_handoffs(owner, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    shown = found[:PAGE_SIZE]
    unreadable = [r for r in shown if isinstance(r, UnreadableRecord)]
    for bad in unreadable:  # reported (ids only) and skipped: it never hides the others
        log.error("unreadable record", extra={"record": bad.record_id, "error": bad.why})
        await app.store.append_audit(AuditEvent(at=app.clock.now(), event=AuditName.RECORD_UNREADABLE,
                                                subject=bad.record_id, reason=bad.why))
    handoffs = tuple(h for h in shown if isinstance(h, Handoff) and h.counsellor.same_person(actor))
    return Overview(handoffs, page, len(found) > PAGE_SIZE, len(unreadable))


async def _own_open(app: Terugkoppeling, actor: Actor, handoff_id: str) -> Handoff | Refused | Stale | AlreadyClosed:
    """The counsellor's own handoff, delivered and not yet confirmed, with its content."""
    handoff = await app.store.get_handoff(handoff_id)
    if handoff is None:
        return Stale()
    if not handoff.counsellor.same_person(actor):
        return await app.refuse(Reason.NOT_OWNER, actor, handoff.reference)
    if not handoff.state.is_open or handoff.client is None:
        return AlreadyClosed(handoff)
    if handoff.state is not HandoffState.DELIVERED:
        return Stale()  # still in the outbox (or a correction of it is): nothing to change yet
    return handoff


async def begin_correction(app: Terugkoppeling, actor: Actor, handoff_id: str, address: Address
                           ) -> Shown | Refused | Stale | AlreadyClosed:
    """``Wijzigen``: the content form with the values that were sent."""
    handoff = await _own_open(app, actor, handoff_id)
    if not isinstance(handoff, Handoff):
        return handoff
    change = Draft.correcting(handoff, id=new_id(), address=address, now=app.clock.now(), ttl=app.policy.draft_ttl)
    return Shown(await app.outbox.open_draft(change))


async def send_correction(app: Terugkoppeling, actor: Actor, draft: Draft
                          ) -> Corrected | Refused | Stale | AlreadyClosed | Cancelled:
    """``verstuur`` of a correction draft: replace the recipient's card with the new content."""
    assert draft.corrects is not None and draft.client is not None and draft.client.content is not None
    handoff = await _own_open(app, actor, draft.corrects)
    if not isinstance(handoff, Handoff):
        await app.store.delete_draft(draft.id, draft.cancelled(app.clock.now()).events)
        return handoff
    if reason := (app.policy.in_force(app.today()) or app.policy.ended(handoff.agency.value, app.today())):
        return await app.refuse(reason, actor, handoff.reference, handoff.agency)
    content, now, lease, seen = draft.client.content, app.clock.now(), app.schedule.lease, handoff.corrections
    outcome = await app.outbox.correct(handoff, lambda h: h.corrected(
        content, actor=actor, draft_id=draft.id, at=now, lease=lease,
    ) if h.state is HandoffState.DELIVERED and h.corrections == seen else None)
    match outcome:
        case Delivered(delivered):
            return Corrected(delivered)
        case Deferred(deferred):
            return Corrected(deferred, queued=True)
    latest = await app.store.get_handoff(handoff.id)  # closed or corrected by another click meanwhile
    return AlreadyClosed(latest) if latest is not None and not latest.state.is_open else Stale()


async def ask_withdraw(app: Terugkoppeling, actor: Actor, handoff_id: str
                       ) -> ConfirmWithdraw | Refused | Stale | AlreadyClosed:
    """``Intrekken``: the confirmation card first; nothing changes yet."""
    handoff = await _own_open(app, actor, handoff_id)
    return ConfirmWithdraw(handoff) if isinstance(handoff, Handoff) else handoff


async def withdraw(app: Terugkoppeling, actor: Actor, handoff_id: str
                   ) -> Withdrawn | Refused | Stale | AlreadyClosed:
    """Confirmed ``Intrekken``: purge, remove the recipient's card and tell them."""
    handoff = await _own_open(app, actor, handoff_id)
    if not isinstance(handoff, Handoff):
        return handoff
    now, lease = app.clock.now(), app.schedule.lease
    closed, applied = await app.outbox.close(handoff, lambda h: h.withdrawn_by_counsellor(
        actor=actor, at=now, lease=lease) if h.state is HandoffState.DELIVERED else None)
    if closed is None:
        return Stale()
    if not applied:
        return AlreadyClosed(closed)
    return Withdrawn(closed, removed=not closed.follow_up)
