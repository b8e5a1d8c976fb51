"""Building botbuilder's CloudAdapter from settings: the only place that knows its configuration."""

from __future__ import annotations

from dataclasses import dataclass

from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication


@dataclass(frozen=True, slots=True)
class BotRegistration:
    """One Azure Bot / Entra app registration, in botbuilder's configuration shape."""

    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""


def create_adapter(registration: BotRegistration) -> CloudAdapter:
    """A CloudAdapter; with an empty ``APP_ID`` it runs anonymously (local mode only)."""
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(registration))
