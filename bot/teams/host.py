"""Builds the botbuilder host from settings: what bootstrap asks for when ``BOT_HOST=botbuilder``
(the default), as ``bot.agents.host`` builds the Agents host. Imported only then, so that the
Agents host's process never loads botbuilder."""

from __future__ import annotations

from typing import Any

from bot.adapters.ratelimit import RateLimiter
from bot.chat.connector import ConnectorSession
from bot.teams.adapter import BotCloud, BotRegistration, Registrations, create_adapter
from bot.teams.cards import Cards
from bot.teams.endpoint import TeamsEndpoint
from bot.teams.graph import GraphInstaller
from bot.teams.handler import TerugkoppelingBot
from bot.teams.messenger import TeamsMessenger


def registrations_of(settings: Any) -> Registrations:
    primary = BotRegistration(settings.app_id, settings.app_password, settings.app_type, settings.app_tenant_id)
    others = [BotRegistration(r.app_id, r.password, r.type, r.tenant) for r in settings.registrations]
    return Registrations(primary, others)


def cloud_of(settings: Any) -> BotCloud | None:
    if not (settings.openid_metadata_url or settings.token_issuer):
        return None  # the public cloud, botbuilder's defaults
    return BotCloud(
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=settings.openid_metadata_url or None,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=settings.token_issuer or "https://api.botframework.com",
        TO_CHANNEL_FROM_BOT_LOGIN_URL="https://login.microsoftonline.com/botframework.com",
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE="https://api.botframework.com",
    )


class TeamsHost:
    """The messenger (for the services) and the endpoint (for the web app), on one CloudAdapter."""

    def __init__(self, settings: Any, cards: Cards, installer: GraphInstaller | None,
                 limiter: RateLimiter | None = None) -> None:
        self.registrations = registrations_of(settings)
        # issue 16: every connector call of the CloudAdapter and the messenger, as JSON on one
        # keep-alive session bounded by the delivery timeout (bot.teams.connector)
        self.session = ConnectorSession(timeout=settings.delivery_timeout_seconds)
        self.adapter = create_adapter(self.registrations, cloud_of(settings), self.session)
        self.cards = cards
        self.messenger = TeamsMessenger(
            self.adapter, cards, service_url=settings.teams_service_url, app_id_for=self.registrations.app_id_for,
            timeout=settings.delivery_timeout_seconds, installer=installer, limiter=limiter,
        )

    def endpoint(self, service: Any) -> TeamsEndpoint:
        return TeamsEndpoint(self.adapter, TerugkoppelingBot(service, self.cards))

    async def close(self, *_: object) -> None:
        """The connector session: after the server stopped and the running sweep finished (bootstrap)."""
        await self.session.close()
