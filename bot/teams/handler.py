"""The Teams activity handler: routes messages and card actions to the application service.

Each ``Action.Execute`` verb maps to one function in ``VERBS``; the function's result is a card
that replaces the clicked one (Universal Actions). Nothing here decides policy.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import assert_never

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import AdaptiveCardInvokeResponse, Attachment, ChannelAccount

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
START_COMMANDS = frozenset({"terugkoppeling"})
HELP_COMMANDS = frozenset({"help", "hulp", "?"})  # any other text gets the help card too, saying so
# -- the trajectbegeleider's side (issue 14, branch hrecip) --
PENDING_COMMANDS = frozenset({"openstaand", "openstaande"})
OVERVIEW_COMMANDS = frozenset({"overzicht", "status"})  # issue 14: the counsellor's own terugkoppelingen
NO_ID_VERBS = frozenset({Verb.NIEUW, Verb.OPENSTAAND, Verb.OVERZICHT})  # verbs whose data carries no record id


@dataclass(frozen=True, slots=True)
class Call:
    """What a verb handler gets: who clicked, what the card carried, in which conversation."""

    actor: Actor
    action: ExecuteAction
    context: TurnContext

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
        return self.context.activity.reply_to_id or None


@dataclass(frozen=True, slots=True)
class ConfirmReturn:
    """``niet_mijn_klant`` asks first: the confirmation card; nothing has changed yet."""

    handoff: Handoff


Answer = r.Result | ConfirmReturn | incidents.Acknowledgement
UseCase = Callable[[Terugkoppeling, Call], Awaitable[Answer]]


class TerugkoppelingBot(TeamsActivityHandler):
    def __init__(self, service: Terugkoppeling, cards: Cards) -> None:
        self.service = service
        self.cards = cards

    # -- messages -------------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        logs.sensitive(activity.text)
        command = command_text(activity.text)
        if not is_personal(activity):
            await turn_context.send_activity(texts.GROUP_CHAT)
            return
        actor = actor_of(activity)
        if command in START_COMMANDS and actor is not None:
            result = await counsellor.start(self.service, actor, address_of(activity))
            card = self._card_for(result)
            await turn_context.send_activity(MessageFactory.attachment(_attachment(card)))
            return
        # -- the trajectbegeleider's side (issue 14, branch hrecip) --
        if command in PENDING_COMMANDS and actor is not None:
            card = self._card_for(await recipient.pending(self.service, actor))
            await turn_context.send_activity(MessageFactory.attachment(_attachment(card)))
            return
        if command in OVERVIEW_COMMANDS and actor is not None:  # issue 14, the counsellor's side
            card = self._card_for(await sent.overview(self.service, actor))
            await turn_context.send_activity(MessageFactory.attachment(_attachment(card)))
            return
        # 'help', and any text the bot does not know (never echoed: it may hold a client's name)
        card = self._help(actor, unknown=command not in HELP_COMMANDS)
        await turn_context.send_activity(MessageFactory.attachment(_attachment(card)))

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        """A welcome, for the reader's role, when the app is installed in someone's personal scope."""
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if is_personal(turn_context.activity) and any(m.id == bot_id for m in members_added):
            card = self._help(actor_of(turn_context.activity), welcome=True)
            await turn_context.send_activity(MessageFactory.attachment(_attachment(card)))

    def _help(self, actor: Actor | None, *, unknown: bool = False, welcome: bool = False) -> Card:
        """The help card for a counsellor's tenant, an agency's, or both (local mode allows anyone)."""
        tenant = actor.tenant_id if actor else None
        policy = self.service.policy
        return self.cards.help(counsellor=policy.counsellor_tenant(tenant), recipient=policy.agency_tenant(tenant),
                               unknown=unknown, welcome=welcome)

    # -- card actions ---------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        # botbuilder's own adaptiveCard/action path double-serialises the response with
        # CloudAdapter and crashes on malformed actions (BOTBUILDER-NOTES 2, 3): do it here.
        if turn_context.activity.name != "adaptiveCard/action":
            # This bot uses no other invoke (no task modules, message extensions, sign-in): a clear
            # 400, where botbuilder would answer 501 or try handlers that do not exist.
            log.info("unsupported invoke", extra={"verb": str(turn_context.activity.name)[:40]})
            return InvokeResponse(status=400, body=_error(400, "NotSupported", texts.UNSUPPORTED_INVOKE))
        action = parse_invoke(turn_context.activity.value)
        actor = actor_of(turn_context.activity)
        if action is None or actor is None:
            return InvokeResponse(status=400, body=_error(400, "BadRequest", texts.BAD_ACTION))
        if not is_personal(turn_context.activity):
            return _card(self.cards.refusal(Reason.NOT_PERSONAL))
        use_case = VERBS[action.verb]
        if action.verb not in NO_ID_VERBS and not (action.data.draft or action.data.handoff):
            return InvokeResponse(status=400, body=_error(400, "BadRequest", texts.BAD_ACTION))
        logs.sensitive(*action.data.inputs().values())  # typed client data: never in a log line
        log.info("card action", extra={"verb": action.verb, "draft": action.data.draft or action.data.handoff})
        result = await use_case(self.service, Call(actor, action, turn_context))
        return _card(self._card_for(result))

    # -- results to cards -----------------------------------------------------------------------

    def _card_for(self, result: Answer) -> Card:
        today = self.service.today()
        match result:
            case r.Shown(draft):
                card = self.cards.for_draft(draft, today)
                if draft.stage is Stage.IDENTIFY and (end := self.service.policy.end_ahead(today)):
                    ends = texts.PROTOCOL_ENDS.format(day=end.strftime("%d/%m/%Y"))
                    card["body"].insert(0, self.cards.warning(ends))
                return card
            case r.FormErrors(draft, values, errors):
                return self.cards.for_draft(draft, today, values, errors)
            case r.Unidentified(draft, values, reason):
                # The identification card again, as typed, with why above it: a typo is fixed in place.
                return self.cards.unidentified(draft.id, values, reason)
            case r.Refused(reason, draft_id):
                return self.cards.refusal(reason, draft_id)
            case r.Stale():
                return self.cards.refusal(Reason.STALE)
            case r.Cancelled(corrects):
                return self.cards.cancelled(corrects)
            case r.Sent(handoff):
                return self.cards.receipt(handoff)
            case r.Queued(handoff):
                return self.cards.receipt(handoff, queued=True)
            case r.Current(handoff):
                return self.cards.recipient(handoff)
            case r.Superseded(handoff):
                return self.cards.superseded(handoff)
            case r.NotDelivered(draft, reason):
                card = self.cards.for_draft(draft, today)
                warnings = {"not_installed": texts.NOT_INSTALLED,
                            Reason.DIRECTORY_UNAVAILABLE.value: texts.DIRECTORY_DOWN}
                warning = warnings.get(reason or "", texts.NOT_DELIVERED)
                card["body"].insert(0, self.cards.warning(self.cards.say(warning)))
                return card
            case r.Closed(handoff):
                return self.cards.closed(handoff)
            case r.AlreadyClosed(handoff):
                return self.cards.message(
                    texts.REFUSALS[Reason.STALE][0], texts.ALREADY_CLOSED.format(reference=handoff.reference)
                )
            case ConfirmReturn(handoff):
                return self.cards.return_confirmation(handoff)
            # -- issue 14, the counsellor's side: the overview, a correction, a withdrawal
            case r.Overview(handoffs, page, more, unreadable):
                return self.cards.overview(handoffs, page=page, more=more, unreadable=unreadable)
            case r.Corrected(handoff, queued):
                return self.cards.corrected(handoff, queued=queued)
            case r.ConfirmWithdraw(handoff):
                return self.cards.withdraw_confirmation(handoff)
            case r.Withdrawn(handoff, removed):
                return self.cards.withdrawn(handoff, removed=removed)
            case incidents.Acknowledgement(notification, allowed):
                if not allowed or notification is None or notification.acknowledged_at is None:
                    return self.cards.message(texts.DPO_ACK_REFUSED_TITLE, texts.DPO_ACK_REFUSED_TEXT)
                return self.cards.message(texts.DPO_ACK_TITLE, texts.DPO_ACK_TEXT.format(
                    reference=notification.subject, at=moment(notification.acknowledged_at)))
            # -- the trajectbegeleider's side (issue 14, branch hrecip) --
            case r.Pending(handoffs, page, more, unreadable):
                return self.cards.pending(handoffs, page=page, more=more, unreadable=unreadable)
            case r.ColleagueChoice(handoff, colleagues):
                return self.cards.colleague_choice(handoff, colleagues)
            case r.Reassigned(handoff):
                return self.cards.forwarded(handoff)
            case r.UndoOffered(handoff):
                return self.cards.undo_offered(handoff)
            case _:
                assert_never(result)


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
    Verb.NIEUW: lambda app, call: counsellor.start(app, call.actor, address_of(call.context.activity)),
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
    # -- the trajectbegeleider's side (issue 14, branch hrecip) --
    Verb.TOON: lambda app, call: recipient.show(app, call.actor, call.handoff, call.card),
    Verb.OPENSTAAND: lambda app, call: recipient.pending(app, call.actor, call.action.data.pagina or 1),
    Verb.DOORSTUREN: lambda app, call: recipient.choose_colleague(app, call.actor, call.handoff,
                                                                  call.action.data.poging),
    Verb.BEVESTIG_DOORSTUREN: lambda app, call: recipient.reassign(app, call.actor, call.handoff,
                                                                   call.action.data.poging,
                                                                   call.inputs.get("collega", "")),
    Verb.ONGEDAAN_MAKEN: lambda app, call: recipient.undo_transfer(app, call.actor, call.handoff),
    # issue 14, the counsellor's side: the overview, a correction, a withdrawal
    Verb.OVERZICHT: lambda app, call: sent.overview(app, call.actor, call.action.data.pagina or 1),
    Verb.CORRIGEER: lambda app, call: sent.begin_correction(app, call.actor, call.handoff,
                                                            address_of(call.context.activity)),
    Verb.INTREKKEN: lambda app, call: sent.ask_withdraw(app, call.actor, call.handoff),
    Verb.BEVESTIG_INTREKKEN: lambda app, call: sent.withdraw(app, call.actor, call.handoff),
}


def _attachment(card: Card) -> Attachment:
    return CardFactory.adaptive_card(card)


def _card(card: Card) -> InvokeResponse:
    return InvokeResponse(status=200, body=AdaptiveCardInvokeResponse(status_code=200, type=CARD_TYPE, value=card))


def _error(status: int, code: str, message: str) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(
        status_code=status, type="application/vnd.microsoft.error", value={"code": code, "message": message}
    )
