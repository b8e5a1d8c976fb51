"""The ``Messenger`` port on Teams: proactive 1:1 messages through the Bot Connector."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from botbuilder.core import BotAdapter, CardFactory, CloudAdapterBase, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from botframework.connector.models import ErrorResponseException
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.adapters.ratelimit import RETRYABLE_STATUSES, RateLimiter, limited_call, retry_after_seconds
from bot.app.ports import CardRemoval, DeliveryError, IncidentNotice, Notice
from bot.chat import removal
from bot.chat.chats import Chats
from bot.chat.delivery import RETRY_UNAPPLIED, delivery_error, install, not_installed, send_dpo_notice
from bot.chat.removal import CardCalls
from bot.domain.handoff import Draft, Handoff
from bot.domain.model import Address, Delivery, DpoContact
from bot.teams import texts
from bot.teams.adapter import proactive_connector
from bot.teams.cards import Card, Cards
from bot.teams.connector import send_wire, wire_card
from bot.teams.graph import GraphInstaller

log = logging.getLogger(__name__)
T = TypeVar("T")


def _status(error: Exception) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _headers(error: Exception) -> Mapping[str, str]:
    return getattr(getattr(error, "response", None), "headers", None) or {}


def _retry_after(error: Exception) -> float | None:
    """Seconds from a ``Retry-After`` header (Teams sends seconds, not an HTTP date)."""
    return retry_after_seconds(_headers(error))


def _retry_after_header(error: Exception) -> str | None:
    value = _headers(error).get("Retry-After")
    return None if value is None else str(value)


def _delivery_error(error: Exception) -> DeliveryError:
    return delivery_error(_status(error), _retry_after(error))


CONNECTOR_ERRORS = (ErrorResponseException, HttpOperationError, ClientRequestError, OSError)


def _error_of(error: Exception) -> tuple[str, str]:
    """(code, message) of a Bot Connector ``ErrorResponse``; empty if it had none."""
    detail = getattr(getattr(error, "error", None), "error", None)
    return str(getattr(detail, "code", "") or ""), str(getattr(detail, "message", "") or "")


def is_not_installed(error: Exception) -> bool:
    """Teams refused to open the 1:1 chat because the app is not installed for that user."""
    return not_installed(_status(error), *_error_of(error))


async def _post(context: TurnContext, activity: Activity) -> str:
    """A new message in the turn's conversation. ``send_activity`` in a proactive turn would post
    a reply to a made-up activity id (BOTBUILDER-NOTES 8)."""
    connector = context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]
    response = await connector.conversations.send_to_conversation(context.activity.conversation.id, activity)
    return str(response.id)


def reference_of(address: Address) -> ConversationReference:
    return ConversationReference(
        channel_id=address.channel_id,
        service_url=address.service_url,
        conversation=ConversationAccount(
            id=address.conversation_id, tenant_id=address.tenant_id, conversation_type="personal"
        ),
        user=ChannelAccount(id=address.user_id),
        bot=ChannelAccount(id=address.bot_id, name=address.bot_name),
    )


class TeamsMessenger:
    """Delivers handoffs into recipients' 1:1 chats and talks to counsellors proactively."""

    def __init__(
        self, adapter: CloudAdapterBase, cards: Cards, *, service_url: str, app_id_for: Callable[[str], str],
        timeout: float = 4.0, installer: GraphInstaller | None = None, limiter: RateLimiter | None = None,
    ) -> None:
        self._adapter = adapter
        # Teams' rate limits (issue 16): one limiter per process, shared by every send (bootstrap).
        self._limiter = limiter
        self._cards = cards
        self._service_url = service_url
        self._app_id_for = app_id_for  # tenant id → the bot registration that speaks to that tenant
        # msrest waits 100 s for an answer; a card action should be answered in about 5 s. A delivery that takes
        # longer is abandoned (and retried by the outbox): the refresh on the card makes a copy
        # that still arrives content-free.
        self._timeout = timeout
        # Installs the app for a recipient who never opened the bot; without one, Teams' refusal
        # is final like any other 403.
        self._installer = installer
        self._chats = Chats()  # the recipients' 1:1 chats opened before (bot.chat.chats)

    async def deliver(self, handoff: Handoff) -> Delivery:
        recipient = handoff.recipient
        app_id = self._app_id_for(recipient.tenant_id)
        member = recipient.teams_user_id or recipient.aad_object_id
        bot_id = f"28:{app_id}" if app_id else ""
        chat = (self._service_url, recipient.tenant_id, member, bot_id)
        card = self._cards.recipient(handoff)
        summary = texts.NOTIFICATION_SUMMARY.format(reference=handoff.reference)
        parameters = ConversationParameters(
            is_group=False,
            members=[ChannelAccount(id=member)],
            tenant_id=recipient.tenant_id,
            channel_data={"tenant": {"id": recipient.tenant_id}},
        )
        delivered: list[Delivery] = []
        posting: list[bool] = []

        def delivery(conversation_id: str, activity_id: str) -> Delivery:
            address = Address(service_url=self._service_url, conversation_id=conversation_id,
                              tenant_id=recipient.tenant_id, user_id=member, bot_id=bot_id)
            return Delivery(address=address, activity_id=activity_id, attempt=handoff.attempts)

        async def send(context: TurnContext) -> None:
            posting.append(True)
            conversation_id = context.activity.conversation.id
            self._chats.remember(chat, conversation_id)
            activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
            activity.summary = summary
            activity_id = await self._post(context, activity, recipient.tenant_id, retry_on=RETRY_UNAPPLIED)
            delivered.append(delivery(conversation_id, activity_id))

        async def into_open_chat(conversation_id: str) -> Delivery:
            """The card posted into the chat opened before (``bot.chat.chats``), on the connector
            client a proactive turn would be given."""
            client = await proactive_connector(self._adapter, app_id, self._service_url)
            answer = await self._limited(recipient.tenant_id, conversation_id, lambda: send_wire(
                client, conversation_id, wire_card(card, summary)), retry_on=RETRY_UNAPPLIED)
            return delivery(conversation_id, str(answer.id) if answer is not None else "")

        async def open_chat() -> bool:
            """Open the chat and post the card; ``False`` if Teams refused the chat because the app
            is not installed for the recipient (nothing was posted) and an installer can help."""
            try:
                if self._limiter is not None:  # the POST /v3/conversations itself: no conversation yet
                    await self._limiter.acquire(recipient.tenant_id, None)
                await self._adapter.create_conversation(app_id, send, parameters, "msteams", self._service_url, None)
            except ErrorResponseException as error:
                # Once ``send`` ran, the card may be out: only a refused chat is worth an install.
                if self._installer is None or posting or not is_not_installed(error):
                    raise
                return False
            return True

        try:
            async with asyncio.timeout(self._timeout):
                if (done := await self._chats.post_into(chat, into_open_chat, _status)) is not None:
                    return done
                if not await open_chat():
                    assert self._installer is not None
                    await install(handoff, self._installer)
                    if not await open_chat():
                        # Graph has it installed; Teams has not caught up yet. The outbox tries again.
                        log.warning("installed, not yet known to teams", extra={"ref": handoff.reference})
                        raise DeliveryError(403, retryable=True)
        except CONNECTOR_ERRORS as error:
            raise _delivery_error(error) from None
        except TimeoutError:
            raise DeliveryError(None, retryable=True) from None
        return delivered[0]

    async def remind(self, handoffs: Sequence[Handoff]) -> None:
        """One digest for one recipient (issue 14), under their latest card; failures are raised
        for the sweep. Posted straight on the connector client a proactive turn would be given
        (``proactive_connector``: the registration's own credentials for the tenant), without the
        turn: the sweep sends thousands (issue 16). The activity is the one the turn posted."""
        latest = max(handoffs, key=lambda h: h.sent_at or h.created_at)
        assert latest.delivery is not None
        address, tenant = latest.delivery.address, latest.recipient.tenant_id
        activity = wire_card(self._cards.reminder_digest(handoffs), self._cards.reminder_summary(handoffs))
        try:
            client = await proactive_connector(self._adapter, self._app_id_for(tenant), address.service_url)
            await self._limited(tenant, address.conversation_id,
                                lambda: send_wire(client, address.conversation_id, activity))
        except CONNECTOR_ERRORS as error:
            raise _delivery_error(error) from None
        except TimeoutError:
            raise DeliveryError(None, retryable=True) from None

    async def _post(self, context: TurnContext, activity: Activity, tenant_id: str, *,
                    retry_on: frozenset[int] = RETRYABLE_STATUSES) -> str:
        """A new message in the turn's conversation, in a slot of the rate limiter (issue 16)."""
        return await self._limited(tenant_id, context.activity.conversation.id, lambda: _post(context, activity),
                                   retry_on=retry_on)

    async def _limited(self, tenant_id: str, conversation_id: str | None, call: Callable[[], Awaitable[T]], *,
                       retry_on: frozenset[int] = RETRYABLE_STATUSES) -> T:
        return await limited_call(self._limiter, tenant_id, conversation_id, call, status_of=_status,
                                  retry_after_of=_retry_after_header, retry_on=retry_on, timeout=self._timeout,
                                  budget=self._timeout)

    async def withdraw(self, handoff: Handoff) -> CardRemoval:
        delivery = handoff.delivery
        if delivery is None:
            return CardRemoval(overwritten=True, deleted=True)
        return await self._remove(delivery, handoff.recipient.tenant_id, handoff,
                                  lambda calls: removal.withdraw(calls, self._cards, handoff))

    async def _remove(self, card: Delivery, tenant_id: str, handoff: Handoff,
                      sequence: Callable[[CardCalls], Awaitable[CardRemoval]]) -> CardRemoval:
        """A removal sequence of ``bot.chat.removal`` on one card, in a proactive turn in its chat;
        if the turn did not start, nothing was removed (worth another try)."""
        outcome: list[CardRemoval] = []

        async def run(context: TurnContext) -> None:
            conversation = context.activity.conversation.id
            outcome.append(await sequence(_TurnCard(context, card.activity_id, lambda call: self._limited(
                tenant_id, conversation, call))))

        await self._continue(card.address, tenant_id, run, handoff)
        return outcome[0] if outcome else CardRemoval(overwritten=False, deleted=False, retryable=True)

    async def retract_draft_card(self, draft: Draft) -> None:
        """Overwrite the counsellor's card of a draft that ended unsent: no client data stays."""
        activity_id = draft.card_activity_id
        if activity_id is None:
            return
        replacement = self._cards.draft_ended()

        async def overwrite(context: TurnContext) -> None:
            update = Activity(
                type=ActivityTypes.message, id=activity_id, attachments=[CardFactory.adaptive_card(replacement)]
            )
            await self._limited(draft.counsellor.tenant_id, context.activity.conversation.id,
                                lambda: context.update_activity(update))

        try:
            await self._adapter.continue_conversation(
                reference_of(draft.counsellor_address), overwrite, self._app_id_for(draft.counsellor.tenant_id)
            )
        except Exception as error:  # noqa: BLE001 - reported, never fatal: the draft is purged already
            log.warning("counsellor card not overwritten", extra={"draft": draft.id, "error": type(error).__name__})

    async def notify_counsellor(self, handoff: Handoff, notice: Notice) -> None:
        text = self._cards.notice_text(handoff, notice)

        async def tell(context: TurnContext) -> None:
            await self._best_effort("notify", handoff, self._post(context, MessageFactory.text(text),
                                                                  handoff.counsellor.tenant_id))

        await self._continue(handoff.counsellor_address, handoff.counsellor.tenant_id, tell, handoff)

    async def _continue(
        self, address: Address, tenant_id: str, logic: Callable[[TurnContext], Awaitable[None]], handoff: Handoff
    ) -> None:
        try:
            await self._adapter.continue_conversation(reference_of(address), logic, self._app_id_for(tenant_id))
        except Exception as error:  # noqa: BLE001 - reported, never fatal: the purge already happened
            log.warning("proactive turn failed", extra={"ref": handoff.reference, "error": type(error).__name__})

    @staticmethod
    async def _best_effort(step: str, handoff: Handoff, call: Awaitable[object]) -> None:
        """A failed update/delete/confirmation is logged, not raised: the content is purged already."""
        try:
            await call
        except Exception as error:  # noqa: BLE001
            log.warning(
                "connector call failed",
                extra={"ref": handoff.reference, "step": step, "status": _status(error), "error": type(error).__name__},
            )

    # -- issue 14: the previous recipient's copy after "Doorsturen" / the backup -------------------

    async def remove_copy(self, handoff: Handoff, copy: Delivery) -> CardRemoval:
        """Overwrite the previous recipient's copy with a content-free card, then delete it."""
        return await self._remove(copy, copy.address.tenant_id, handoff,
                                  lambda calls: removal.remove_copy(calls, self._cards, handoff))

    # -- art. 9: incidents to the data protection officers --------------------------------------

    async def notify_dpo(self, contact: DpoContact, incident: IncidentNotice) -> None:
        """A content-free card in the DPO's 1:1 chat (with "Kennis genomen"), or an e-mail through
        Graph ``sendMail`` (``bot.chat.delivery``); ``DeliveryError`` if it did not go out."""
        await send_dpo_notice(self._cards, self._installer, contact, incident,
                              lambda card, summary: self._post_to_dpo(contact, card, summary))

    async def _post_to_dpo(self, contact: DpoContact, card: Card, summary: str) -> None:
        """The DPO's card in their 1:1 chat, opened for it."""
        parameters = ConversationParameters(
            is_group=False, members=[ChannelAccount(id=contact.aad_object_id)], tenant_id=contact.tenant_id,
            channel_data={"tenant": {"id": contact.tenant_id}},
        )

        async def send(context: TurnContext) -> None:
            activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
            activity.summary = summary
            await self._post(context, activity, contact.tenant_id, retry_on=RETRY_UNAPPLIED)

        try:
            async with asyncio.timeout(self._timeout):
                if self._limiter is not None:
                    await self._limiter.acquire(contact.tenant_id, None)
                await self._adapter.create_conversation(self._app_id_for(contact.tenant_id), send, parameters,
                                                        "msteams", self._service_url, None)
        except CONNECTOR_ERRORS as error:
            raise _delivery_error(error) from None
        except TimeoutError:
            raise DeliveryError(None, retryable=True) from None


class _TurnCard:
    """One card in a proactive turn's chat (``bot.chat.removal.CardCalls``): each call through
    ``limited``, the messenger's slot of the rate limiter for that chat (issue 16)."""

    def __init__(self, context: TurnContext, activity_id: str,
                 limited: Callable[[Callable[[], Awaitable[object]]], Awaitable[object]]) -> None:
        self._context = context
        self._activity_id = activity_id
        self._limited = limited

    async def update(self, card: Card) -> None:
        update = Activity(type=ActivityTypes.message, id=self._activity_id,
                          attachments=[CardFactory.adaptive_card(card)])
        await self._limited(lambda: self._context.update_activity(update))

    async def delete(self) -> None:
        await self._limited(lambda: self._context.delete_activity(self._activity_id))

    async def post_text(self, text: str) -> None:
        await self._limited(lambda: _post(self._context, MessageFactory.text(text)))

    def status_of(self, error: Exception) -> int | None:
        return _status(error)
