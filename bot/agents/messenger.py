"""The ``Messenger`` port on the Agents host: proactive 1:1 messages as Bot Connector REST calls
(``bot.agents.connector``), with the same outcomes as ``bot.teams.messenger``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.agents.connector import Connector, ConnectorError, card_activity, text_activity
from bot.app.ports import CardRemoval, DeliveryError, IncidentNotice, Notice
from bot.chat.delivery import RETRYABLE, delivery_error, dpo_card, install, mail_dpo, not_installed
from bot.domain.handoff import Draft, Handoff
from bot.domain.model import Address, Delivery, DpoContact
from bot.teams import texts
from bot.teams.cards import Cards
from bot.teams.graph import GraphInstaller

log = logging.getLogger(__name__)


def _delivery_error(error: ConnectorError) -> DeliveryError:
    return delivery_error(error.status, error.retry_after)


def is_not_installed(error: ConnectorError) -> bool:
    return not_installed(error.status, error.code, error.message)


class AgentsMessenger:
    def __init__(
        self, connector: Connector, cards: Cards, *, service_url: str, app_id_for: Callable[[str], str],
        timeout: float = 4.0, installer: GraphInstaller | None = None,
    ) -> None:
        self._connector = connector
        self._cards = cards
        self._service_url = service_url
        self._app_id_for = app_id_for
        self._timeout = timeout
        self._installer = installer

    async def deliver(self, handoff: Handoff) -> Delivery:
        recipient = handoff.recipient
        tenant = recipient.tenant_id
        app_id = self._app_id_for(tenant)
        member = recipient.teams_user_id or recipient.aad_object_id
        activity = card_activity(self._cards.recipient(handoff),
                                 summary=texts.NOTIFICATION_SUMMARY.format(reference=handoff.reference))

        async def open_chat() -> str | None:
            try:
                return await self._connector.create_conversation(self._service_url, tenant, member,
                                                                 f"28:{app_id}" if app_id else "")
            except ConnectorError as error:
                if self._installer is None or not is_not_installed(error):
                    raise
                return None

        try:
            async with asyncio.timeout(self._timeout):
                conversation = await open_chat()
                if conversation is None:
                    assert self._installer is not None
                    await install(handoff, self._installer)
                    conversation = await open_chat()
                    if conversation is None:
                        log.warning("installed, not yet known to teams", extra={"ref": handoff.reference})
                        raise DeliveryError(403, retryable=True)
                activity_id = await self._connector.send(self._service_url, tenant, conversation, activity)
        except ConnectorError as error:
            raise _delivery_error(error) from None
        except TimeoutError:
            raise DeliveryError(None, retryable=True) from None
        address = Address(service_url=self._service_url, conversation_id=conversation, tenant_id=tenant,
                          user_id=member, bot_id=f"28:{app_id}" if app_id else "")
        return Delivery(address=address, activity_id=activity_id, attempt=handoff.attempts)

    async def remind(self, handoff: Handoff) -> None:
        assert handoff.delivery is not None
        address = handoff.delivery.address
        try:
            await self._connector.send(address.service_url, handoff.recipient.tenant_id, address.conversation_id,
                                       text_activity(self._cards.reminder_text(handoff)))
        except ConnectorError as error:
            raise _delivery_error(error) from None

    async def withdraw(self, handoff: Handoff) -> CardRemoval:
        delivery = handoff.delivery
        if delivery is None:
            return CardRemoval(overwritten=True, deleted=True)
        address, tenant = delivery.address, handoff.recipient.tenant_id
        url, conversation, activity_id = address.service_url, address.conversation_id, delivery.activity_id
        failed: list[int | None] = []
        # Overwrite first: a client that misses the delete still shows no client data.
        replacement = card_activity(self._cards.closed(handoff))
        overwritten = await self._attempt("update", handoff, failed,
                                          self._connector.update(url, tenant, conversation, activity_id, replacement))
        deleted = await self._attempt("delete", handoff, failed,
                                      self._connector.delete(url, tenant, conversation, activity_id))
        if overwritten and handoff.removal_attempts == 0:  # say "verwijderd" only once it is true
            confirmation = text_activity(self._cards.closed_text(handoff))
            await self._attempt("confirm", handoff, [], self._connector.send(url, tenant, conversation, confirmation))
        status = failed[-1] if failed else None
        return CardRemoval(overwritten=overwritten, deleted=deleted, status=status,
                           retryable=status is None or status in RETRYABLE)

    async def retract_draft_card(self, draft: Draft) -> None:
        activity_id = draft.card_activity_id
        if activity_id is None:
            return
        address = draft.counsellor_address
        try:
            await self._connector.update(address.service_url, draft.counsellor.tenant_id, address.conversation_id,
                                         activity_id, card_activity(self._cards.draft_ended()))
        except Exception as error:  # noqa: BLE001 - reported, never fatal: the draft is purged already
            log.warning("counsellor card not overwritten", extra={"draft": draft.id, "error": type(error).__name__})

    async def notify_counsellor(self, handoff: Handoff, notice: Notice) -> None:
        address = handoff.counsellor_address
        text = text_activity(self._cards.notice_text(handoff, notice))
        await self._attempt("notify", handoff, [], self._connector.send(
            address.service_url, handoff.counsellor.tenant_id, address.conversation_id, text))

    # -- art. 9: incidents to the data protection officers (bot.chat.delivery) -------------------

    async def notify_dpo(self, contact: DpoContact, incident: IncidentNotice) -> None:
        """A content-free card in the DPO's 1:1 chat (with "Kennis genomen"), or an e-mail through
        Graph ``sendMail``; ``DeliveryError`` if it did not go out."""
        if contact.channel == "mail":
            await mail_dpo(self._installer, contact, incident)
            return
        card = dpo_card(self._cards, incident)
        activity = card_activity(card, summary=texts.DPO_SUMMARY.format(reference=incident.reference))
        app_id = self._app_id_for(contact.tenant_id)
        try:
            async with asyncio.timeout(self._timeout):
                conversation = await self._connector.create_conversation(
                    self._service_url, contact.tenant_id, contact.aad_object_id, f"28:{app_id}" if app_id else "")
                await self._connector.send(self._service_url, contact.tenant_id, conversation, activity)
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
