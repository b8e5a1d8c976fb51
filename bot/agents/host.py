"""Builds the Agents host from settings: what bootstrap asks for when ``BOT_HOST=agents``."""

from __future__ import annotations

from typing import Any

from bot.adapters.ratelimit import RateLimiter
from bot.agents.auth import Registration, Registrations
from bot.agents.connector import Connector
from bot.agents.endpoint import AgentsEndpoint
from bot.agents.handler import AgentsBot
from bot.agents.messenger import AgentsMessenger
from bot.teams.cards import Cards
from bot.teams.graph import GraphInstaller


def registrations_of(settings: Any) -> Registrations:
    primary = Registration(settings.app_id, settings.app_password, settings.app_type, settings.app_tenant_id)
    others = [Registration(r.app_id, r.password, r.type, r.tenant) for r in settings.registrations]
    return Registrations(primary, others, metadata_url=settings.openid_metadata_url, issuer=settings.token_issuer)


class AgentsHost:
    """The messenger (for the services) and the endpoint (for the web app), on one connector."""

    def __init__(self, settings: Any, cards: Cards, installer: GraphInstaller | None,
                 limiter: RateLimiter | None = None) -> None:
        self.registrations = registrations_of(settings)
        self.cards = cards
        self.connector = Connector(self.registrations.token_for, timeout=settings.delivery_timeout_seconds)
        self.messenger = AgentsMessenger(
            self.connector, cards, service_url=settings.teams_service_url,
            app_id_for=self.registrations.app_id_for, timeout=settings.delivery_timeout_seconds,
            installer=installer, limiter=limiter,
        )

    def endpoint(self, service: Any) -> AgentsEndpoint:
        return AgentsEndpoint(self.registrations, AgentsBot(service, self.cards, self.connector))

    async def close(self, *_: object) -> None:
        await self.connector.close()
