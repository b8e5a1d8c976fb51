"""Activities on the Agents host: a thin adapter over ``bot.chat.turns``, as ``bot.teams.handler``
is on botbuilder. A message or a personal install is answered with a reply through the connector;
a card action with the invoke response the turn logic made.
"""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Activity

from bot.agents.connector import Connector, card_activity, text_activity
from bot.app.services import Terugkoppeling
from bot.chat import turns
from bot.teams.activity import address_of
from bot.teams.cards import Cards

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
        answer = await turns.message(self.service, self.cards, activity)
        await self._reply(activity, text_activity(answer) if isinstance(answer, str) else card_activity(answer))

    async def _members_added(self, activity: Activity) -> None:
        card = turns.welcome(self.service, self.cards, activity, activity.members_added or [])
        if card is not None:
            await self._reply(activity, card_activity(card))

    async def _invoke(self, activity: Activity) -> Response:
        answer = await turns.invoke(self.service, self.cards, activity)
        return answer.status, answer.body()
