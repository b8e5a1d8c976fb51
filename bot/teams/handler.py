"""The Teams activity handler on botbuilder: a thin adapter over ``bot.chat.turns``.

It hands each message, personal install and card action to the host-neutral turn logic and
sends its answer through botbuilder; the verb table and the result-to-card mapping live there.
"""

from __future__ import annotations

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import AdaptiveCardInvokeResponse, Attachment, ChannelAccount

from bot.app.services import Terugkoppeling
from bot.chat import turns
from bot.teams.cards import Card, Cards


class TerugkoppelingBot(TeamsActivityHandler):
    def __init__(self, service: Terugkoppeling, cards: Cards) -> None:
        self.service = service
        self.cards = cards

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        answer = await turns.message(self.service, self.cards, turn_context.activity)
        if isinstance(answer, str):
            await turn_context.send_activity(answer)
        else:
            await turn_context.send_activity(MessageFactory.attachment(_attachment(answer)))

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        card = turns.welcome(self.service, self.cards, turn_context.activity, members_added)
        if card is not None:
            await turn_context.send_activity(MessageFactory.attachment(_attachment(card)))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        # botbuilder's own adaptiveCard/action path double-serialises the response with
        # CloudAdapter and crashes on malformed actions (BOTBUILDER-NOTES 2, 3): answered here,
        # as a model that the endpoint serialises once.
        answer = await turns.invoke(self.service, self.cards, turn_context.activity)
        return InvokeResponse(status=answer.status, body=AdaptiveCardInvokeResponse(
            status_code=answer.status, type=answer.type, value=answer.value))


def _attachment(card: Card) -> Attachment:
    return CardFactory.adaptive_card(card)
