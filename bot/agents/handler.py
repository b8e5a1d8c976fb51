"""Activities on the Agents host to the same use cases and cards as the botbuilder host.

The routing mirrors ``bot.teams.handler`` (which imports botbuilder and so cannot be shared as
it is): a message starts a terugkoppeling or gets the help card, a personal install gets the
welcome, each ``Action.Execute`` verb is one use case whose result replaces the clicked card.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, assert_never

from microsoft_agents.activity import Activity

from bot import logs
from bot.agents.connector import CARD_TYPE, Connector, card_activity, text_activity
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

START_COMMANDS = frozenset({"terugkoppeling"})
HELP_COMMANDS = frozenset({"help", "hulp", "?"})
# -- the trajectbegeleider's side (issue 14, branch hrecip) --
PENDING_COMMANDS = frozenset({"openstaand", "openstaande"})
OVERVIEW_COMMANDS = frozenset({"overzicht", "status"})  # issue 14: the counsellor's own terugkoppelingen
NO_ID_VERBS = frozenset({Verb.NIEUW, Verb.OPENSTAAND, Verb.OVERZICHT})  # verbs whose data carries no record id


@dataclass(frozen=True, slots=True)
class Call:
    actor: Actor
    action: ExecuteAction
    activity: Activity

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
        return self.activity.reply_to_id or None


@dataclass(frozen=True, slots=True)
class ConfirmReturn:
    handoff: Handoff


Answer = r.Result | ConfirmReturn | incidents.Acknowledgement
UseCase = Callable[[Terugkoppeling, Call], Awaitable[Answer]]
Response = tuple[int, object | None]


class AgentsBot:
    """One turn: returns the HTTP status and body (the invoke response, or None)."""

    def __init__(self, service: Terugkoppeling, cards: Cards, connector: Connector) -> None:
        self.service = service
        self.cards = cards
        self.connector = connector

    async def on_turn(self, activity: Activity) -> Response:
        if activity.type == "message":
            await self._message(activity)
            return 201, None
        if activity.type == "invoke":
            return await self._invoke(activity)
        if activity.type == "conversationUpdate":
            await self._members_added(activity)
        return 201, None

    async def _reply(self, activity: Activity, outgoing: dict[str, Any]) -> None:
        tenant = address_of(activity).tenant_id
        reply = {
            **outgoing,
            "from": {"id": activity.recipient.id, "name": activity.recipient.name} if activity.recipient else None,
            "recipient": {"id": activity.from_property.id},
            "conversation": {"id": activity.conversation.id},
            "replyToId": activity.id,
            "channelId": activity.channel_id,
            "serviceUrl": activity.service_url,
        }
        await self.connector.send(activity.service_url, tenant, activity.conversation.id, reply, reply_to=activity.id)

    async def _message(self, activity: Activity) -> None:
        logs.sensitive(activity.text)
        command = command_text(activity.text)
        if not is_personal(activity):
            await self._reply(activity, text_activity(texts.GROUP_CHAT))
            return
        actor = actor_of(activity)
        if command in START_COMMANDS and actor is not None:
            result = await counsellor.start(self.service, actor, address_of(activity))
            await self._reply(activity, card_activity(self._card_for(result)))
            return
        # -- the trajectbegeleider's side (issue 14, branch hrecip) --
        if command in PENDING_COMMANDS and actor is not None:
            await self._reply(activity, card_activity(self._card_for(await recipient.pending(self.service, actor))))
            return
        if command in OVERVIEW_COMMANDS and actor is not None:  # issue 14, the counsellor's side
            await self._reply(activity, card_activity(self._card_for(await sent.overview(self.service, actor))))
            return
        card = self._help(actor, unknown=command not in HELP_COMMANDS)
        await self._reply(activity, card_activity(card))

    async def _members_added(self, activity: Activity) -> None:
        bot_id = activity.recipient.id if activity.recipient else None
        added = activity.members_added or []
        if is_personal(activity) and any(m.id == bot_id for m in added):
            await self._reply(activity, card_activity(self._help(actor_of(activity), welcome=True)))

    def _help(self, actor: Actor | None, *, unknown: bool = False, welcome: bool = False) -> Card:
        tenant = actor.tenant_id if actor else None
        policy = self.service.policy
        return self.cards.help(counsellor=policy.counsellor_tenant(tenant), recipient=policy.agency_tenant(tenant),
                               unknown=unknown, welcome=welcome)

    async def _invoke(self, activity: Activity) -> Response:
        if activity.name != "adaptiveCard/action":
            log.info("unsupported invoke", extra={"verb": str(activity.name)[:40]})
            return 400, _error(400, "NotSupported", texts.UNSUPPORTED_INVOKE)
        action = parse_invoke(activity.value)
        actor = actor_of(activity)
        if action is None or actor is None:
            return 400, _error(400, "BadRequest", texts.BAD_ACTION)
        if not is_personal(activity):
            return 200, _card(self.cards.refusal(Reason.NOT_PERSONAL))
        if action.verb not in NO_ID_VERBS and not (action.data.draft or action.data.handoff):
            return 400, _error(400, "BadRequest", texts.BAD_ACTION)
        logs.sensitive(*action.data.inputs().values())
        log.info("card action", extra={"verb": action.verb, "draft": action.data.draft or action.data.handoff})
        use_case = VERBS.get(action.verb)
        if use_case is None:  # a verb bot.teams.handler knows and this mirror does not yet
            log.warning("verb not supported on this host", extra={"verb": action.verb})
            return 400, _error(400, "NotSupported", texts.BAD_ACTION)
        result = await use_case(self.service, Call(actor, action, activity))
        return 200, _card(self._card_for(result))

    def _card_for(self, result: Answer) -> Card:  # the same mapping as bot.teams.handler's
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
    if call.handoff:
        return recipient.view(app, call.actor, call.handoff, call.action.data.poging)
    return counsellor.current(app, call.actor, call.draft)


async def _ask_return(app: Terugkoppeling, call: Call) -> Answer:
    seen = await recipient.view(app, call.actor, call.handoff, call.action.data.poging)
    return ConfirmReturn(seen.handoff) if isinstance(seen, r.Current) else seen



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
                                                            address_of(call.activity)),
    Verb.INTREKKEN: lambda app, call: sent.ask_withdraw(app, call.actor, call.handoff),
    Verb.BEVESTIG_INTREKKEN: lambda app, call: sent.withdraw(app, call.actor, call.handoff),
}


def _card(card: Card) -> dict[str, Any]:
    return {"statusCode": 200, "type": CARD_TYPE, "value": card}


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "type": "application/vnd.microsoft.error",
            "value": {"code": code, "message": message}}
