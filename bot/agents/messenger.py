"""The ``Messenger`` port on the Agents host: proactive 1:1 messages as Bot Connector REST calls
(``bot.agents.connector``), with the same outcomes as ``bot.teams.messenger``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from bot.adapters.ratelimit import RETRYABLE_STATUSES, RateLimiter, limited_call
from bot.agents.connector import Connector, ConnectorError, card_activity, text_activity
from bot.app.ports import CardRemoval, DeliveryError, IncidentNotice, Notice
from bot.chat import removal
from bot.chat.chats import Chats
from bot.chat.delivery import RETRY_UNAPPLIED, delivery_error, install, not_installed, send_dpo_notice
from bot.domain.handoff import Draft, Handoff
from bot.domain.model import Address, Delivery, DpoContact
from bot.teams import texts
from bot.teams.cards import Card, Cards
from bot.teams.graph import GraphInstaller

log = logging.getLogger(__name__)
T = TypeVar("T")


def _delivery_error(error: ConnectorError) -> DeliveryError:
    return delivery_error(error.status, error.retry_after)


def _status_of(error: Exception) -> int | None:
    return error.status if isinstance(error, ConnectorError) else None


def _retry_after_of(error: Exception) -> str | None:
    seconds = error.retry_after if isinstance(error, ConnectorError) else None
    return None if seconds is None else str(seconds)


def is_not_installed(error: ConnectorError) -> bool:
    return not_installed(error.status, error.code, error.message)


class AgentsMessenger:
    def __init__(
        self, connector: Connector, cards: Cards, *, service_url: str, app_id_for: Callable[[str], str],
        timeout: float = 4.0, installer: GraphInstaller | None = None, limiter: RateLimiter | None = None,
    ) -> None:
        self._connector = connector
        # Teams' rate limits (issue 16): one limiter per process, shared by every send (bootstrap).
        self._limiter = limiter
        self._cards = cards
        self._service_url = service_url
        self._app_id_for = app_id_for
        self._timeout = timeout
        self._installer = installer
        self._chats = Chats()  # the recipients' 1:1 chats opened before (bot.chat.chats)

    async def deliver(self, handoff: Handoff) -> Delivery:
        recipient = handoff.recipient
        tenant = recipient.tenant_id
        app_id = self._app_id_for(tenant)
        member = recipient.teams_user_id or recipient.aad_object_id
        bot_id = f"28:{app_id}" if app_id else ""
        chat = (self._service_url, tenant, member, bot_id)
        activity = card_activity(self._cards.recipient(handoff),
                                 summary=texts.NOTIFICATION_SUMMARY.format(reference=handoff.reference))

        async def open_chat() -> str | None:
            try:
                # A slot, not retried here (as on botbuilder): a refused chat is the outbox's to retry.
                return await self._limited(tenant, None, lambda: self._connector.create_conversation(
                    self._service_url, tenant, member, bot_id), retry_on=frozenset())
            except ConnectorError as error:
                if self._installer is None or not is_not_installed(error):
                    raise
                return None

        async def post(conversation: str) -> tuple[str, str]:
            return conversation, await self._limited(tenant, conversation, lambda: self._connector.send(
                self._service_url, tenant, conversation, activity), retry_on=RETRY_UNAPPLIED)

        try:
            async with asyncio.timeout(self._timeout):
                posted = await self._chats.post_into(chat, post, _status_of)
                if posted is None:
                    opened = await open_chat()
                    if opened is None:
                        assert self._installer is not None
                        await install(handoff, self._installer)
                        opened = await open_chat()
                        if opened is None:
                            log.warning("installed, not yet known to teams", extra={"ref": handoff.reference})
                            raise DeliveryError(403, retryable=True)
                    self._chats.remember(chat, opened)
                    posted = await post(opened)
        except ConnectorError as error:
            raise _delivery_error(error) from None
        except TimeoutError:
            raise DeliveryError(None, retryable=True) from None
        conversation, activity_id = posted
        address = Address(service_url=self._service_url, conversation_id=conversation, tenant_id=tenant,
                          user_id=member, bot_id=bot_id)
        return Delivery(address=address, activity_id=activity_id, attempt=handoff.attempts)

    async def remind(self, handoffs: Sequence[Handoff]) -> None:
        """One digest for one recipient (issue 14), in the chat of their latest card."""
        latest = max(handoffs, key=lambda h: h.sent_at or h.created_at)
        assert latest.delivery is not None
        address, tenant = latest.delivery.address, latest.recipient.tenant_id
        activity = card_activity(self._cards.reminder_digest(handoffs), summary=self._cards.reminder_summary(handoffs))
        try:
            await self._limited(tenant, address.conversation_id, lambda: self._connector.send(
                address.service_url, tenant, address.conversation_id, activity))
        except ConnectorError as error:
            raise _delivery_error(error) from None

    async def _limited(self, tenant_id: str, conversation_id: str | None, call: Callable[[], Awaitable[T]], *,
                       retry_on: frozenset[int] = RETRYABLE_STATUSES) -> T:
        """One connector call in a slot of the rate limiter, retried when throttled (issue 16)."""
        return await limited_call(self._limiter, tenant_id, conversation_id, call, status_of=_status_of,
                                  retry_after_of=_retry_after_of, retry_on=retry_on, budget=self._timeout)

    def _send(self, url: str, tenant: str, conversation: str, activity: dict[str, Any]) -> Awaitable[str]:
        return self._limited(tenant, conversation, lambda: self._connector.send(url, tenant, conversation, activity))

    async def withdraw(self, handoff: Handoff) -> CardRemoval:
        delivery = handoff.delivery
        if delivery is None:
            return CardRemoval(overwritten=True, deleted=True)
        return await removal.withdraw(self._card(delivery, handoff.recipient.tenant_id), self._cards, handoff)

    def _card(self, card: Delivery, tenant_id: str) -> _ConnectorCard:
        """One card's calls for ``bot.chat.removal``, each in a slot of the rate limiter."""
        conversation = card.address.conversation_id
        return _ConnectorCard(self._connector, card, tenant_id,
                              lambda call: self._limited(tenant_id, conversation, call))

    async def retract_draft_card(self, draft: Draft) -> None:
        activity_id = draft.card_activity_id
        if activity_id is None:
            return
        address = draft.counsellor_address
        try:
            tenant, conversation = draft.counsellor.tenant_id, address.conversation_id
            await self._limited(tenant, conversation, lambda: self._connector.update(
                address.service_url, tenant, conversation, activity_id, card_activity(self._cards.draft_ended())))
        except Exception as error:  # noqa: BLE001 - reported, never fatal: the draft is purged already
            log.warning("counsellor card not overwritten", extra={"draft": draft.id, "error": type(error).__name__})

    async def notify_counsellor(self, handoff: Handoff, notice: Notice) -> None:
        address = handoff.counsellor_address
        text = text_activity(self._cards.notice_text(handoff, notice))
        await self._attempt("notify", handoff, [], self._send(
            address.service_url, handoff.counsellor.tenant_id, address.conversation_id, text))

    # -- issue 14: the previous recipient's copy after "Doorsturen" / the backup -------------------

    async def remove_copy(self, handoff: Handoff, copy: Delivery) -> CardRemoval:
        """Overwrite the previous recipient's copy with a content-free card, then delete it."""
        return await removal.remove_copy(self._card(copy, copy.address.tenant_id), self._cards, handoff)

    # -- art. 9: incidents to the data protection officers (bot.chat.delivery) -------------------

    async def notify_dpo(self, contact: DpoContact, incident: IncidentNotice) -> None:
        """A content-free card in the DPO's 1:1 chat (with "Kennis genomen"), or an e-mail through
        Graph ``sendMail``; ``DeliveryError`` if it did not go out."""
        await send_dpo_notice(self._cards, self._installer, contact, incident,
                              lambda card, summary: self._post_to_dpo(contact, card, summary))

    async def _post_to_dpo(self, contact: DpoContact, card: Card, summary: str) -> None:
        """The DPO's card in their 1:1 chat, opened for it."""
        activity = card_activity(card, summary=summary)
        app_id = self._app_id_for(contact.tenant_id)
        try:
            async with asyncio.timeout(self._timeout):
                conversation = await self._limited(contact.tenant_id, None, lambda: self._connector.create_conversation(
                    self._service_url, contact.tenant_id, contact.aad_object_id, f"28:{app_id}" if app_id else ""),
                    retry_on=RETRY_UNAPPLIED)
                await self._limited(contact.tenant_id, conversation, lambda: self._connector.send(
                    self._service_url, contact.tenant_id, conversation, activity), retry_on=RETRY_UNAPPLIED)
        except ConnectorError as error:
            raise _delivery_error(error) from None
        except TimeoutError:
            raise DeliveryError(None, retryable=True) from None

    @staticmethod
    async def _attempt(step: str, handoff: Handoff, failed: list[int | None], call: Awaitable[object]) -> bool:
        """One connector call: ``True`` if it took effect; a failure is logged and its status kept."""
        try:
            await call
            return True
        except Exception as error:  # noqa: BLE001 - any failure is reported, never raised
            status = error.status if isinstance(error, ConnectorError) else None
            failed.append(status)
            log.warning("connector call failed", extra={"ref": handoff.reference, "step": step, "status": status,
                                                        "error": type(error).__name__})
            return False


class _ConnectorCard:
    """One card in a chat through the connector (``bot.chat.removal.CardCalls``): each call through
    ``limited``, the messenger's slot of the rate limiter for that chat (issue 16)."""

    def __init__(self, connector: Connector, card: Delivery, tenant_id: str,
                 limited: Callable[[Callable[[], Awaitable[object]]], Awaitable[object]]) -> None:
        self._connector = connector
        self._url, self._conversation = card.address.service_url, card.address.conversation_id
        self._activity_id = card.activity_id
        self._tenant = tenant_id
        self._limited = limited

    async def update(self, card: Card) -> None:
        replacement = card_activity(card)
        await self._limited(lambda: self._connector.update(self._url, self._tenant, self._conversation,
                                                           self._activity_id, replacement))

    async def delete(self) -> None:
        await self._limited(lambda: self._connector.delete(self._url, self._tenant, self._conversation,
                                                           self._activity_id))

    async def post_text(self, text: str) -> None:
        message = text_activity(text)
        await self._limited(lambda: self._connector.send(self._url, self._tenant, self._conversation, message))

    def status_of(self, error: Exception) -> int | None:
        return _status_of(error)
