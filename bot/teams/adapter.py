"""Building botbuilder's CloudAdapter from settings: the only place that knows its configuration.

Tenancy (DESIGN.md): the bot may run with one Azure Bot registration or one per tenant.
``Registrations`` is botbuilder's credentials factory for all of them: an incoming request is
accepted only if its token is addressed to a configured app id, and an outgoing call gets the
credential of the registration that serves the tenant it goes to.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from botbuilder.core import CloudAdapterBase
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AppCredentials,
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)

from bot.chat.connector import ConnectorSession
from bot.teams.connector import JsonConnectorClient

T = TypeVar("T")


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


class _Clients:
    """A small LRU of clients: service URLs are few (Teams' regions); the bound only matters in
    local mode, where the service URL comes from the caller."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    async def get(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]  # type: ignore[no-any-return]
        client = await make()
        self._items[key] = client
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return client


def _app_id(claims_identity: ClaimsIdentity) -> str:
    """Whose credentials a client carries: the token's audience (or appid); "" when anonymous."""
    return (claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
            or claims_identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM) or "")


class _CachedConnectorFactory(ConnectorFactory):
    def __init__(self, inner: ConnectorFactory, app_id: str, clients: _Clients,
                 session: ConnectorSession | None = None) -> None:
        self._inner, self._app_id, self._clients, self._session = inner, app_id, clients, session

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = ("connector", self._app_id, service_url, audience)
        return await self._clients.get(key, lambda: self._create(service_url, audience))

    async def _create(self, service_url: str, audience: str | None) -> Any:
        client = await self._inner.create(service_url, audience)
        # issue 16: its conversation calls as JSON on the process's one session (bot.teams.connector)
        return client if self._session is None else JsonConnectorClient(client, self._session)


class ReusingAuthentication(BotFrameworkAuthentication):
    """botbuilder's authentication, but the connector and user-token clients it builds are reused
    per registration, service URL and audience instead of built anew for every turn. Building one
    costs milliseconds (msrest's retry policy set-up), twice per turn; reusing it also keeps the
    credential's token cache warm. Only botbuilder's own extension points are used.

    With a ``session`` (issue 16) the connector clients it hands out post the conversation calls
    as plain JSON on that one aiohttp session (``bot.teams.connector.JsonConnectorClient``)."""

    def __init__(self, inner: BotFrameworkAuthentication, session: ConnectorSession | None = None) -> None:
        self._inner = inner
        self._clients = _Clients()
        self._session = session

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await self._inner.authenticate_request(activity, auth_header)
        result.connector_factory = _CachedConnectorFactory(
            result.connector_factory, _app_id(result.claims_identity), self._clients, self._session
        )
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> Any:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = self._inner.create_connector_factory(claims_identity)
        return _CachedConnectorFactory(inner, _app_id(claims_identity), self._clients, self._session)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        key = ("user-token", _app_id(claims_identity))
        return await self._clients.get(key, lambda: self._inner.create_user_token_client(claims_identity))

    def create_bot_framework_client(self) -> Any:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)


def create_adapter(registrations: Registrations, cloud: BotCloud | None = None,
                   session: ConnectorSession | None = None) -> CloudAdapter:
    """A CloudAdapter; with no registration it runs anonymously (local mode only). With a
    ``session``, its connector calls go over it as JSON (closed by its owner, ``TeamsHost``)."""
    authentication = ConfigurationBotFrameworkAuthentication(cloud or BotCloud(), credentials_factory=registrations)
    return CloudAdapter(ReusingAuthentication(authentication, session))


async def proactive_connector(adapter: CloudAdapterBase, app_id: str, service_url: str) -> Any:
    """The connector client a proactive turn for ``app_id`` at ``service_url`` is given
    (``CloudAdapterBase.process_proactive``: the same claims, connector factory and audience, so
    the same cached client and the registration's own credentials), without the turn (issue 16)."""
    identity = adapter.create_claims_identity(app_id)
    return await adapter.bot_framework_authentication.create_connector_factory(identity).create(service_url, None)
