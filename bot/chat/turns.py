"""One turn, whichever host received it: a message, a personal install, or a card action.

The activity is the host's SDK model; only the attributes both SDKs share are read (through
``bot.teams.activity``). Each ``Action.Execute`` verb maps to one function in ``VERBS``; its
result becomes, through ``card_for``, the card that replaces the clicked one (Universal Actions).
Nothing here decides policy, and nothing here sends: the host does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, assert_never

from bot import logs
from bot.app import counsellor, incidents, recipient, sent
from bot.app import results as r
from bot.app.services import Terugkoppeling
from bot.domain.handoff import Handoff, HandoffState, Stage
from bot.domain.model import Actor, Reason
from bot.teams import texts
from bot.teams.activity import ExecuteAction, actor_of, address_of, command_text, is_personal, parse_invoke
from bot.teams.cards import Card, Cards, moment
from bot.teams.verbs import Verb

log = logging.getLogger(__name__)

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
ERROR_TYPE = "application/vnd.microsoft.error"
START_COMMANDS = frozenset({"terugkoppeling"})
HELP_COMMANDS = frozenset({"help", "hulp", "?"})  # any other text gets the help card too, saying so
PENDING_COMMANDS = frozenset({"openstaand", "openstaande"})  # issue 14: the trajectbegeleider's waiting cards
OVERVIEW_COMMANDS = frozenset({"overzicht", "status"})  # issue 14: the counsellor's own terugkoppelingen
NO_ID_VERBS = frozenset({Verb.NIEUW, Verb.OPENSTAAND, Verb.OVERZICHT})  # verbs whose data carries no record id


@dataclass(frozen=True, slots=True)
class Call:
    """What a verb handler gets: who clicked, what the card carried, in which activity."""

    actor: Actor
    action: ExecuteAction
    activity: Any  # the host SDK's activity model

    @property
    def draft(self) -> str:
        return self.action.data.draft or ""

    @property
    def handoff(self) -> str:
        return self.action.data.handoff or ""

    @property
    def inputs(self) -> dict[str, str]:
        return self.action.data.inputs()

    @property
    def card(self) -> str | None:
        """The message that carries the clicked card (Teams' ``replyToId``)."""
        return self.activity.reply_to_id or None


@dataclass(frozen=True, slots=True)
class ConfirmReturn:
    """``niet_mijn_klant`` asks first: the confirmation card; nothing has changed yet."""

    handoff: Handoff


Answer = r.Result | ConfirmReturn | incidents.Acknowledgement
UseCase = Callable[[Terugkoppeling, Call], Awaitable[Answer]]


@dataclass(frozen=True, slots=True)
class InvokeAnswer:
    """The invoke response, SDK-neutral: HTTP ``status`` and the ``AdaptiveCardInvokeResponse``
    fields (``value`` is the card, or ``{"code", "message"}`` for an error)."""

    status: int
    type: str
    value: dict[str, Any]

    def body(self) -> dict[str, Any]:
        """As JSON on the wire."""
        return {"statusCode": self.status, "type": self.type, "value": self.value}


def _card(card: Card) -> InvokeAnswer:
    return InvokeAnswer(200, CARD_TYPE, card)


def _error(status: int, code: str, message: str) -> InvokeAnswer:
    return InvokeAnswer(status, ERROR_TYPE, {"code": code, "message": message})


# -- messages -----------------------------------------------------------------------------------


async def message(app: Terugkoppeling, cards: Cards, activity: Any) -> str | Card:
    """What to answer a message with: a text (the group-chat refusal) or a card."""
    logs.sensitive(activity.text)
    command = command_text(activity.text)
    if not is_personal(activity):
        return texts.GROUP_CHAT
    actor = actor_of(activity)
    if command in START_COMMANDS and actor is not None:
        result = await counsellor.start(app, actor, address_of(activity))
        return card_for(app, cards, result)
    if command in PENDING_COMMANDS and actor is not None:
        return card_for(app, cards, await recipient.pending(app, actor))
    if command in OVERVIEW_COMMANDS and actor is not None:
        return card_for(app, cards, await sent.overview(app, actor))
    # 'help', and any text the bot does not know (never echoed: it may hold a client's name)
    return help_card(app, cards, actor, unknown=command not in HELP_COMMANDS)


def welcome(app: Terugkoppeling, cards: Cards, activity: Any, members_added: Iterable[Any]) -> Card | None:
    """A welcome, for the reader's role, when the app is installed in someone's personal scope."""
    bot_id = activity.recipient.id if activity.recipient else None
    if is_personal(activity) and any(m.id == bot_id for m in members_added):
        return help_card(app, cards, actor_of(activity), welcome=True)
    return None


def help_card(app: Terugkoppeling, cards: Cards, actor: Actor | None, *, unknown: bool = False,
              welcome: bool = False) -> Card:
    """The help card for a counsellor's tenant, an agency's, or both (local mode allows anyone)."""
    tenant = actor.tenant_id if actor else None
    policy = app.policy
    return cards.help(counsellor=policy.counsellor_tenant(tenant), recipient=policy.agency_tenant(tenant),
                      unknown=unknown, welcome=welcome)


# -- card actions -------------------------------------------------------------------------------


async def invoke(app: Terugkoppeling, cards: Cards, activity: Any) -> InvokeAnswer:
    """An invoke activity: validated here before anything else (BOTBUILDER-NOTES 2, 3)."""
    if activity.name != "adaptiveCard/action":
        # This bot uses no other invoke (no task modules, message extensions, sign-in): a clear
        # 400, where botbuilder would answer 501 or try handlers that do not exist.
        log.info("unsupported invoke", extra={"verb": str(activity.name)[:40]})
        return _error(400, "NotSupported", texts.UNSUPPORTED_INVOKE)
    action = parse_invoke(activity.value)
    actor = actor_of(activity)
    if action is None or actor is None:
        return _error(400, "BadRequest", texts.BAD_ACTION)
    if not is_personal(activity):
        return _card(cards.refusal(Reason.NOT_PERSONAL))
    use_case = VERBS[action.verb]
    if action.verb not in NO_ID_VERBS and not (action.data.draft or action.data.handoff):
        return _error(400, "BadRequest", texts.BAD_ACTION)
    logs.sensitive(*action.data.inputs().values())  # typed client data: never in a log line
    log.info("card action", extra={"verb": action.verb, "draft": action.data.draft or action.data.handoff})
    result = await use_case(app, Call(actor, action, activity))
    return _card(card_for(app, cards, result))


# -- results to cards ---------------------------------------------------------------------------


def card_for(app: Terugkoppeling, cards: Cards, result: Answer) -> Card:
    today = app.today()
    match result:
        case r.Shown(draft):
            card = cards.for_draft(draft, today)
            if draft.stage is Stage.IDENTIFY and (end := app.policy.end_ahead(today)):
                ends = texts.PROTOCOL_ENDS.format(day=end.strftime("%d/%m/%Y"))
                card["body"].insert(0, cards.warning(ends))
            return card
        case r.FormErrors(draft, values, errors):
            return cards.for_draft(draft, today, values, errors)
        case r.Unidentified(draft, values, reason):
            # The identification card again, as typed, with why above it: a typo is fixed in place.
            return cards.unidentified(draft.id, values, reason)
        case r.Refused(reason, draft_id):
            return cards.refusal(reason, draft_id)
        case r.Stale():
            return cards.refusal(Reason.STALE)
        case r.Cancelled(corrects):
            return cards.cancelled(corrects)
        case r.Sent(handoff):
            return cards.receipt(handoff)
        case r.Queued(handoff):
            return cards.receipt(handoff, queued=True)
        case r.Current(handoff):
            return cards.recipient(handoff)
        case r.Superseded(handoff):
            return cards.superseded(handoff)
        case r.NotDelivered(draft, reason):
            card = cards.for_draft(draft, today)
            warnings = {"not_installed": texts.NOT_INSTALLED,
                        Reason.DIRECTORY_UNAVAILABLE.value: texts.DIRECTORY_DOWN}
            warning = warnings.get(reason or "", texts.NOT_DELIVERED)
            card["body"].insert(0, cards.warning(cards.say(warning)))
            return card
        case r.Closed(handoff):
            return cards.closed(handoff)
        case r.AlreadyClosed(handoff):
            return cards.message(
                texts.REFUSALS[Reason.STALE][0], texts.ALREADY_CLOSED.format(reference=handoff.reference)
            )
        case ConfirmReturn(handoff):
            return cards.return_confirmation(handoff)
        case incidents.Acknowledgement(notification, allowed):
            if not allowed or notification is None or notification.acknowledged_at is None:
                return cards.message(texts.DPO_ACK_REFUSED_TITLE, texts.DPO_ACK_REFUSED_TEXT)
            return cards.message(texts.DPO_ACK_TITLE, texts.DPO_ACK_TEXT.format(
                reference=notification.subject, at=moment(notification.acknowledged_at)))
        # -- issue 14, the counsellor's side: the overview, a correction, a withdrawal
        case r.Overview(handoffs, page, more, unreadable):
            return cards.overview(handoffs, page=page, more=more, unreadable=unreadable)
        case r.Corrected(handoff, queued):
            return cards.corrected(handoff, queued=queued)
        case r.ConfirmWithdraw(handoff):
            return cards.withdraw_confirmation(handoff)
        case r.Withdrawn(handoff, removed):
            return cards.withdrawn(handoff, removed=removed)
        # -- issue 14, the trajectbegeleider's side: openstaand, doorsturen, undo
        case r.Pending(handoffs, page, more, unreadable):
            return cards.pending(handoffs, page=page, more=more, unreadable=unreadable)
        case r.ColleagueChoice(handoff, colleagues):
            return cards.colleague_choice(handoff, colleagues)
        case r.Reassigned(handoff):
            return cards.forwarded(handoff)
        case r.UndoOffered(handoff):
            return cards.undo_offered(handoff)
        case _:
            assert_never(result)


# -- the verbs ----------------------------------------------------------------------------------


def _refresh(app: Terugkoppeling, call: Call) -> Awaitable[r.Result]:
    """Teams refreshes a card whenever it is shown. The recipient's: a card that is no longer the
    handoff's live copy (closed, purged, or an orphan of a crashed attempt) shows no content. The
    counsellor's: a draft that ended shows no content either."""
    if call.handoff:
        return recipient.view(app, call.actor, call.handoff, call.action.data.poging)
    return counsellor.current(app, call.actor, call.draft)


async def _ask_return(app: Terugkoppeling, call: Call) -> Answer:
    """``niet_mijn_klant`` purges and records an art. 9 incident: only the recipient, on the live copy,
    gets the confirmation card; anyone else gets what ``view`` says (refused, closed, superseded)."""
    seen = await recipient.view(app, call.actor, call.handoff, call.action.data.poging)
    return ConfirmReturn(seen.handoff) if isinstance(seen, r.Current) else seen


# Each Action.Execute verb is one use case; its result becomes the card that replaces the clicked one.
VERBS: dict[Verb, UseCase] = {
    Verb.NIEUW: lambda app, call: counsellor.start(app, call.actor, address_of(call.activity)),
    Verb.IDENTIFICEER: lambda app, call: counsellor.identify(app, call.actor, call.draft, call.inputs, call.card),
    Verb.HERBEGIN: lambda app, call: counsellor.restart(app, call.actor, call.draft),
    Verb.BEVESTIG_HERHALING: lambda app, call: counsellor.confirm_repeat(app, call.actor, call.draft, call.card),
    Verb.BEKIJK: lambda app, call: counsellor.preview(app, call.actor, call.draft, call.inputs, call.card),
    Verb.WIJZIG: lambda app, call: counsellor.edit(app, call.actor, call.draft, call.card),
    Verb.ANNULEER: lambda app, call: counsellor.cancel(app, call.actor, call.draft, call.card),
    Verb.VERSTUUR: lambda app, call: counsellor.send(app, call.actor, call.draft),
    Verb.OVERGEZET: lambda app, call: recipient.transfer(app, call.actor, call.handoff),  # issue 14: undoable
    Verb.NIET_MIJN_KLANT: _ask_return,
    Verb.BEVESTIG_NIET_MIJN_KLANT: lambda app, call: recipient.close(app, call.actor, call.handoff,
                                                                     HandoffState.RETURNED),
    Verb.KENNIS_GENOMEN: lambda app, call: incidents.acknowledge(app, call.actor, call.handoff),
    Verb.VERVERS: _refresh,
    # -- issue 14, the trajectbegeleider's side: toon, openstaand, doorsturen, undo
    Verb.TOON: lambda app, call: recipient.show(app, call.actor, call.handoff, call.card),
    Verb.OPENSTAAND: lambda app, call: recipient.pending(app, call.actor, call.action.data.pagina or 1),
    Verb.DOORSTUREN: lambda app, call: recipient.choose_colleague(app, call.actor, call.handoff,
                                                                  call.action.data.poging),
    Verb.BEVESTIG_DOORSTUREN: lambda app, call: recipient.reassign(app, call.actor, call.handoff,
                                                                   call.action.data.poging,
                                                                   call.inputs.get("collega", "")),
    Verb.ONGEDAAN_MAKEN: lambda app, call: recipient.undo_transfer(app, call.actor, call.handoff),
    # -- issue 14, the counsellor's side: the overview, a correction, a withdrawal
    Verb.OVERZICHT: lambda app, call: sent.overview(app, call.actor, call.action.data.pagina or 1),
    Verb.CORRIGEER: lambda app, call: sent.begin_correction(app, call.actor, call.handoff, address_of(call.activity)),
    Verb.INTREKKEN: lambda app, call: sent.ask_withdraw(app, call.actor, call.handoff),
    Verb.BEVESTIG_INTREKKEN: lambda app, call: sent.withdraw(app, call.actor, call.handoff),
}
