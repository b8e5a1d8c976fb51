"""The trajectbegeleider's steps: close a handoff (``overgezet``, ``niet_mijn_klant``), and the
refresh of their card that shows the content only on the live copy, to them alone."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.app.ports import DirectoryUnavailable, RecipientUnresolved, UnreadableRecord
from bot.app.results import (
    AlreadyClosed,
    Closed,
    ColleagueChoice,
    Current,
    Pending,
    Reassigned,
    Refused,
    Stale,
    Superseded,
    UndoOffered,
)
from bot.domain.handoff import Handoff, HandoffState
from bot.domain.model import Actor, Reason, Recipient

if TYPE_CHECKING:
    from bot.app.services import Terugkoppeling

log = logging.getLogger(__name__)
PAGE_SIZE = 10  # ``openstaand``: cards per page


async def _addressed(app: Terugkoppeling, actor: Actor, handoff_id: str) -> Handoff | Refused | Stale:
    handoff = await app.store.get_handoff(handoff_id)
    if handoff is None:
        return Stale()
    if not handoff.addressed_to(actor):
        return await app.refuse(Reason.NOT_RECIPIENT, actor, handoff.reference)
    return handoff


async def close(
    app: Terugkoppeling, actor: Actor, handoff_id: str, outcome: HandoffState
) -> Closed | AlreadyClosed | Refused | Stale:
    """``overgezet`` or ``niet_mijn_klant``: purge the content, remove the card, tell the sender."""
    handoff = await _addressed(app, actor, handoff_id)
    if not isinstance(handoff, Handoff):
        return handoff
    now, lease = app.clock.now(), app.schedule.lease
    closed, applied = await app.outbox.close(
        handoff, lambda h: h.closed(outcome, actor=actor, at=now, lease=lease) if h.state.is_open else None
    )
    if closed is None:
        return Stale()
    return Closed(closed) if applied else AlreadyClosed(closed)


async def view(app: Terugkoppeling, actor: Actor, handoff_id: str, attempt: int | None
               ) -> Current | Superseded | AlreadyClosed | Refused | Stale | UndoOffered:
    """Teams refreshes a card when someone looks at it: only the recipient, and only on the copy
    the bot recorded, sees the content."""
    handoff = await _addressed(app, actor, handoff_id)
    if not isinstance(handoff, Handoff):
        return handoff
    if not handoff.state.is_open or handoff.client is None:
        return AlreadyClosed(handoff)
    if handoff.undo_until is not None:  # issue 14: "Overgezet" clicked, undoable for a while
        return UndoOffered(handoff) if attempt == handoff.live_attempt else Superseded(handoff)
    return Current(handoff) if attempt == handoff.live_attempt else Superseded(handoff)


# -- the trajectbegeleider's side (issue 14): toon, openstaand, doorsturen, undo ----------------


async def show(app: Terugkoppeling, actor: Actor, handoff_id: str, card: str | None = None
               ) -> Current | AlreadyClosed | Refused | Stale | UndoOffered:
    """``toon`` (from ``openstaand`` or a reminder): the pending card again, to its recipient alone.

    The clicked message (``card``) becomes the live copy and the previous one is overwritten and
    deleted, so the content is in one message at any time and "Overgezet" removes it there."""
    handoff = await _addressed(app, actor, handoff_id)
    if not isinstance(handoff, Handoff):
        return handoff
    if not handoff.state.is_open or handoff.client is None:
        return AlreadyClosed(handoff)
    if handoff.undo_until is not None:
        return UndoOffered(handoff)
    delivery = handoff.delivery
    if (handoff.state is not HandoffState.DELIVERED or delivery is None or card is None
            or card == delivery.activity_id or handoff.stale_copy is not None):
        return Current(handoff)  # the live copy itself (or no message to move it to, or a move unfinished)
    moved = await app.outbox.move_copy(handoff, card)
    return Current(moved) if moved is not None and moved.client is not None else Stale()


async def pending(app: Terugkoppeling, actor: Actor, page: int = 1) -> Pending:
    """``openstaand``: the actor's own waiting cards (the store's pending index on their identity:
    never anyone else's), one page; a record that cannot be opened is reported and skipped."""
    page = max(1, page)
    key = f"{actor.tenant_id}|{actor.aad_object_id}"
    found = await app.store.pending_for(key, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)
    shown = found[:PAGE_SIZE]
    for bad in (h for h in shown if isinstance(h, UnreadableRecord)):
        log.error("unreadable record", extra={"record": bad.record_id, "error": bad.why})
    handoffs = tuple(h for h in shown if isinstance(h, Handoff) and h.addressed_to(actor))
    return Pending(handoffs, page, more=len(found) > PAGE_SIZE,
                   unreadable=sum(isinstance(h, UnreadableRecord) for h in shown))


async def _colleagues(app: Terugkoppeling, actor: Actor, handoff: Handoff) -> list[Recipient] | Refused:
    """The agency's other trajectbegeleiders the directory knows, in a tenant the protocol allows."""
    try:
        known = await app.directory.colleagues(handoff.agency)
    except (DirectoryUnavailable, RecipientUnresolved):
        return await app.refuse(Reason.DIRECTORY_UNAVAILABLE, actor, handoff.reference, handoff.agency)
    return [c for c in known if c.agentschap is handoff.agency and app.policy.may_receive(c) is None
            and (c.aad_object_id, c.tenant_id) != (actor.aad_object_id, actor.tenant_id)]


async def choose_colleague(app: Terugkoppeling, actor: Actor, handoff_id: str, attempt: int | None
                           ) -> ColleagueChoice | Current | Superseded | AlreadyClosed | Refused | Stale | UndoOffered:
    """"Doorsturen naar een collega": only the recipient, on the live copy, gets the choice; nothing
    changes yet."""
    seen = await view(app, actor, handoff_id, attempt)
    if not isinstance(seen, Current):
        return seen
    colleagues = await _colleagues(app, actor, seen.handoff)
    if isinstance(colleagues, Refused):
        return colleagues
    return ColleagueChoice(seen.handoff, tuple(colleagues))


async def reassign(app: Terugkoppeling, actor: Actor, handoff_id: str, attempt: int | None, chosen: str
                   ) -> Reassigned | Current | Superseded | AlreadyClosed | Refused | Stale | UndoOffered:
    """Hand the card to the chosen colleague: only someone the directory lists for the agency (the
    choice's value is checked again here, never taken on trust), audited ``reassigned``."""
    seen = await view(app, actor, handoff_id, attempt)
    if not isinstance(seen, Current):
        return seen
    handoff = seen.handoff
    if handoff.state is not HandoffState.DELIVERED:
        return Stale()
    colleagues = await _colleagues(app, actor, handoff)
    if isinstance(colleagues, Refused):
        return colleagues
    to = next((c for c in colleagues if c.aad_object_id == chosen), None)
    if to is None:
        return await app.refuse(Reason.NOT_A_COLLEAGUE, actor, handoff.reference, handoff.agency)
    moved = await app.outbox.reassign(handoff, to, reason="colleague", actor=actor.aad_object_id)
    return Stale() if moved is None else Reassigned(moved)


async def transfer(app: Terugkoppeling, actor: Actor, handoff_id: str
                   ) -> UndoOffered | Closed | AlreadyClosed | Refused | Stale:
    """``overgezet``: one click. With an undo window (``Schedule.undo_window``) the card says so with
    "Ongedaan maken" and the sweep purges once it has passed (the counsellor is told then); without
    one, or for a card still in the outbox, it closes at once as before."""
    handoff = await _addressed(app, actor, handoff_id)
    if not isinstance(handoff, Handoff):
        return handoff
    window = app.schedule.undo_window
    if not window or handoff.state is not HandoffState.DELIVERED:
        return await close(app, actor, handoff_id, HandoffState.TRANSFERRED)
    now = app.clock.now()
    until = min(now + window, app.schedule.purge_at(handoff))  # never past the retention cap
    offered, _ = await app.outbox.handoff(handoff, lambda h: h.transfer_offered(actor=actor, at=now, until=until)
                                          if h.state is HandoffState.DELIVERED and h.undo_until is None else None)
    if offered is None:
        return Stale()
    if offered.state is not HandoffState.DELIVERED or offered.undo_until is None:
        return AlreadyClosed(offered)  # closed meanwhile (e.g. by the window of an earlier click)
    return UndoOffered(offered)  # a double click sees the same window


async def undo_transfer(app: Terugkoppeling, actor: Actor, handoff_id: str
                        ) -> Current | Closed | AlreadyClosed | Refused | Stale:
    """"Ongedaan maken": within the window the card waits again, shown to the recipient alone; once
    the window has passed it is too late, and the transfer is completed now (what the sweep would do)."""
    handoff = await _addressed(app, actor, handoff_id)
    if not isinstance(handoff, Handoff):
        return handoff
    if handoff.undo_until is None or handoff.state is not HandoffState.DELIVERED:
        return AlreadyClosed(handoff) if not handoff.state.is_open else Current(handoff)
    now = app.clock.now()
    if now >= handoff.undo_until:
        await app.outbox.transfer_after_window(handoff)
        latest = await app.store.get_handoff(handoff.id)
        return Closed(latest) if latest is not None else Stale()
    back, _ = await app.outbox.handoff(handoff, lambda h: h.transfer_undone(actor=actor, at=now, schedule=app.schedule)
                                       if h.undo_until is not None and now < h.undo_until else None)
    if back is None:
        return Stale()
    if not back.state.is_open or back.client is None:
        return AlreadyClosed(back)
    return Current(back)
