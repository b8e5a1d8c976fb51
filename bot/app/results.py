"""What the use cases answer: values the Teams layer turns into cards.

Errors a person can act on are values (``Refused``, ``FormErrors``, ``Stale``), not exceptions.
``Result`` is every one of them; the handler matches it exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.handoff import Draft, Handoff
from bot.domain.model import Reason, Recipient
from bot.domain.template import FieldError


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
class Unidentified:
    """The client could not be identified (not found, ambiguous, no active inburgeringstraject, the
    directory down): the identification card again, with what was typed, and why."""

    draft: Draft
    values: dict[str, str]
    reason: Reason


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

    corrects: str | None = None  # the reference whose correction was dropped: the sent version stands (issue 14)


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


# -- the trajectbegeleider's side (issue 14: openstaand, doorsturen, undo) ------------------------


@dataclass(frozen=True, slots=True)
class Pending:
    """``openstaand``: one page of the cards waiting in the trajectbegeleider's chat, oldest first."""

    handoffs: tuple[Handoff, ...]
    page: int
    more: bool
    unreadable: int = 0  # records on this page that could not be opened (reported and skipped)


@dataclass(frozen=True, slots=True)
class ColleagueChoice:
    """"Doorsturen naar een collega": the agency's other trajectbegeleiders the directory knows."""

    handoff: Handoff
    colleagues: tuple[Recipient, ...]


@dataclass(frozen=True, slots=True)
class Reassigned:
    """Handed to a colleague; ``handoff`` names the new recipient (its ``stale_copy`` set while the
    previous copy is not removed yet)."""

    handoff: Handoff


@dataclass(frozen=True, slots=True)
class UndoOffered:
    """"Overgezet" was clicked: the card says so, with "Ongedaan maken" until ``handoff.undo_until``."""

    handoff: Handoff


# -- issue 14, the counsellor's side: the overview, a correction, a withdrawal ----------------------


@dataclass(frozen=True, slots=True)
class Overview:
    """One page of the counsellor's own terugkoppelingen, newest first; ``unreadable`` records on it
    were reported and skipped."""

    handoffs: tuple[Handoff, ...]
    page: int
    more: bool
    unreadable: int = 0


@dataclass(frozen=True, slots=True)
class Corrected:
    """The correction replaced the recipient's card (``queued``: it is still in the outbox)."""

    handoff: Handoff
    queued: bool = False


@dataclass(frozen=True, slots=True)
class ConfirmWithdraw:
    """``Intrekken`` asks first: what confirming does. Nothing has changed yet."""

    handoff: Handoff


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """Withdrawn and purged; ``removed``: Teams confirmed the recipient's card is gone."""

    handoff: Handoff
    removed: bool

Result = (
    Shown | FormErrors | Unidentified | Refused | Stale | Cancelled | Sent | Queued | NotDelivered | Closed
    | AlreadyClosed
    | Current | Superseded
    | Pending | ColleagueChoice | Reassigned | UndoOffered
    | Overview | Corrected | ConfirmWithdraw | Withdrawn
)
