"""The removal of a card from a 1:1 chat (F.3, art. 6; issue 14's previous copy), one sequence for
both hosts' messengers: overwrite the card with a content-free one first (a client that misses
the delete still shows no client data), then delete it, each step tried on its own and a
failure's status kept; then, for a withdrawal, the short "verwijderd" text, said only once it is
true (the overwrite took effect). Each host supplies the calls on the wire (``CardCalls``); the
SDK stays in the host's messenger."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.app.ports import CardRemoval
from bot.chat.delivery import RETRYABLE
from bot.domain.handoff import Handoff
from bot.teams.cards import Card, Cards

log = logging.getLogger(__name__)


class CardCalls(Protocol):
    """One card in one chat as a host's connector reaches it. Each call is made in a slot of the
    host's rate limiter (issue 16: the limiter sees every connector call) and retried there when
    throttled; a failure raises."""

    async def update(self, card: Card) -> None:
        """Replace the card with ``card``."""
        ...

    async def delete(self) -> None:
        """Delete the card."""
        ...

    async def post_text(self, text: str) -> None:
        """A new text message in the card's chat."""
        ...

    def status_of(self, error: Exception) -> int | None:
        """The HTTP status of a failed call (None: no answer, e.g. unreachable)."""
        ...


async def withdraw(calls: CardCalls, cards: Cards, handoff: Handoff) -> CardRemoval:
    """The recipient's card overwritten with the closed card and deleted; "verwijderd" said once,
    on the first removal attempt, and only if the overwrite took effect."""
    confirmation = cards.closed_text(handoff) if handoff.removal_attempts == 0 else None
    return await remove(calls, handoff.reference, cards.closed(handoff), confirmation=confirmation)


async def remove_copy(calls: CardCalls, cards: Cards, handoff: Handoff) -> CardRemoval:
    """Issue 14: the previous recipient's copy overwritten ("doorgestuurd") and deleted; no text."""
    return await remove(calls, handoff.reference, cards.old_copy(handoff))


async def remove(calls: CardCalls, reference: str, replacement: Card, *,
                 confirmation: str | None = None) -> CardRemoval:
    """Overwrite, delete, then post ``confirmation`` if the overwrite took effect. Never raises:
    what happened is the answer, with the status of the last call that failed (the confirmation's
    own failure is logged only)."""
    failed: list[int | None] = []
    overwritten = await _attempt(calls, "update", reference, failed, lambda: calls.update(replacement))
    deleted = await _attempt(calls, "delete", reference, failed, calls.delete)
    if overwritten and confirmation is not None:  # say "verwijderd" only once it is true
        await _attempt(calls, "confirm", reference, [], lambda: calls.post_text(confirmation))
    status = failed[-1] if failed else None
    return CardRemoval(overwritten=overwritten, deleted=deleted, status=status,
                       retryable=status is None or status in RETRYABLE)


async def _attempt(calls: CardCalls, step: str, reference: str, failed: list[int | None],
                   call: Callable[[], Awaitable[None]]) -> bool:
    """One connector call: ``True`` if it took effect; a failure is logged (content-free) and its status kept."""
    try:
        await call()
        return True
    except Exception as error:  # noqa: BLE001 - any failure is reported in the removal, never raised
        status = calls.status_of(error)
        failed.append(status)
        log.warning("connector call failed",
                    extra={"ref": reference, "step": step, "status": status, "error": type(error).__name__})
        return False
