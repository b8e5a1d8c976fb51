"""Building botbuilder's CloudAdapter from settings: the only place that knows its configuration.

Tenancy (DESIGN.md): the bot may run with one Azure Bot registration or one per tenant.
``Registrations`` is botbuilder's credentials factory for all of them: an incoming request is
accepted only if its token is addressed to a configured app id, and an outgoing call gets the
credential of the registration that serves the tenant it goes to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botframework.connector.auth import AppCredentials, ServiceClientCredentialsFactory


@dataclass(frozen=True, slots=True)
class BotRegistration:
    """One Azure Bot / Entra app registration, in botbuilder's configuration shape."""

    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""


@dataclass(frozen=True, slots=True)
class BotCloud:
    """Where Bot Framework tokens come from; set only for a sovereign cloud or the test suite."""

    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str | None = None
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str | None = None
    TO_CHANNEL_FROM_BOT_LOGIN_URL: str | None = None
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str | None = None


class Registrations(ServiceClientCredentialsFactory):
    """All configured registrations: the primary one (``MicrosoftAppId``) serves every tenant that
    has no registration of its own (``BOT_REGISTRATIONS``)."""

    def __init__(self, primary: BotRegistration, per_tenant: Sequence[BotRegistration] = ()) -> None:
        everyone = [r for r in (primary, *per_tenant) if r.APP_ID]
        self._factories = {r.APP_ID: ConfigurationServiceClientCredentialFactory(r) for r in everyone}
        self._anonymous = ConfigurationServiceClientCredentialFactory(BotRegistration())
        self._by_tenant = {r.APP_TENANTID: r.APP_ID for r in per_tenant if r.APP_ID and r.APP_TENANTID}
        self._default = primary.APP_ID

    @property
    def app_ids(self) -> frozenset[str]:
        return frozenset(self._factories)

    def app_id_for(self, tenant_id: str) -> str:
        """The registration that speaks to ``tenant_id``."""
        return self._by_tenant.get(tenant_id, self._default)

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id in self._factories

    async def is_authentication_disabled(self) -> bool:
        return not self._factories  # local mode only: bootstrap refuses it on a network address

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        if not self._factories:
            return await self._anonymous.create_credentials(app_id, oauth_scope, login_endpoint, validate_authority)
        factory = self._factories.get(app_id)
        if factory is None:
            raise PermissionError(f"no bot registration configured for app id {app_id!r}")
        return await factory.create_credentials(app_id, oauth_scope, login_endpoint, validate_authority)


def create_adapter(registrations: Registrations, cloud: BotCloud | None = None) -> CloudAdapter:
    """A CloudAdapter; with no registration it runs anonymously (local mode only)."""
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(cloud or BotCloud(), credentials_factory=registrations))
