"""Authentication on the Microsoft 365 Agents SDK: incoming JWTs checked by its
``JwtTokenValidator`` against every configured registration, outgoing tokens from its MSAL
provider (``microsoft-agents-authentication-msal``), one connection per registration.

Tenancy (DESIGN.md) as on the botbuilder host: the primary registration (``MicrosoftAppId``)
serves every tenant without one of its own (``BOT_REGISTRATIONS``). With no registration the bot
runs anonymously (local mode, loopback only: bootstrap refuses it elsewhere).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKClient
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.core import AgentAuthConfiguration, AuthTypes  # type: ignore[attr-defined]
from microsoft_agents.hosting.core.authorization import ClaimsIdentity
from microsoft_agents.hosting.core.authorization.jwt import JwtTokenValidator

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
KEYS_TIMEOUT = 5.0  # seconds for the OpenID metadata and the key set


class Unauthorized(Exception):
    """The request's token is missing or not one this bot accepts (a 401)."""


class KeysUnreachable(Exception):
    """The signing keys could not be fetched: nobody can be authenticated just now (a 503)."""


@dataclass(frozen=True, slots=True)
class Registration:
    app_id: str
    password: str = ""
    app_type: str = "MultiTenant"
    tenant_id: str = ""


_AUTH_TYPES = {"MultiTenant": AuthTypes.client_secret, "SingleTenant": AuthTypes.client_secret,
               "UserAssignedMSI": AuthTypes.user_managed_identity}


def _configuration(registration: Registration, name: str, issuer: str) -> AgentAuthConfiguration:
    return AgentAuthConfiguration(
        auth_type=_AUTH_TYPES.get(registration.app_type, AuthTypes.client_secret),
        client_id=registration.app_id,
        tenant_id=registration.tenant_id or ("botframework.com" if registration.app_type == "MultiTenant" else None),
        client_secret=registration.password or None,
        connection_name=name,
        scopes=[BOT_FRAMEWORK_SCOPE],
        issuers=[issuer],
        validate_issuer=True,
    )


class _EndorsedKeys(PyJWKClient):
    """A key set that also remembers each key's channel endorsements (Bot Framework keys carry
    ``endorsements``: the channels allowed to sign with them), from the same fetch."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri, timeout=int(KEYS_TIMEOUT))
        self.endorsements: dict[str, frozenset[str]] = {}

    def fetch_data(self) -> Any:
        data = super().fetch_data()
        keys = data.get("keys") if isinstance(data, dict) else None
        self.endorsements = {str(key.get("kid")): frozenset(map(str, key.get("endorsements") or ()))
                             for key in keys or () if isinstance(key, dict)}
        return data


class _Keys:
    """The signing keys, in place of the SDK's own key manager: fetched within ``KEYS_TIMEOUT``
    (the SDK's waits PyJWT's 30 s, past Teams' 5 s), with each key's endorsements kept for the
    channel check botbuilder makes (``Registrations.authenticate``). The SDK picks the key set from
    the token's issuer (Microsoft's own URLs); with ``BOT_FRAMEWORK_OPENID_METADATA_URL`` set
    (sovereign cloud, tests) the keys come from there."""

    def __init__(self, metadata_url: str = "") -> None:
        self._metadata_url = metadata_url
        self._clients: dict[str, _EndorsedKeys] = {}
        self._lock = asyncio.Lock()

    def _jwks_uri(self) -> str:
        with urllib.request.urlopen(self._metadata_url, timeout=KEYS_TIMEOUT) as response:  # noqa: S310 - configured
            return str(json.load(response)["jwks_uri"])

    async def _client(self, jwks_uri: str) -> _EndorsedKeys:
        key = self._metadata_url or jwks_uri
        if key not in self._clients:
            if self._metadata_url:
                try:
                    jwks_uri = await asyncio.to_thread(self._jwks_uri)
                except (OSError, ValueError, KeyError) as error:
                    raise jwt.PyJWKClientConnectionError(type(error).__name__) from None
            self._clients[key] = _EndorsedKeys(jwks_uri)
        return self._clients[key]

    async def get_signing_key(self, jwks_uri: str, header: dict[str, Any]) -> Any:
        async with self._lock:  # one fetch at a time: the key set is cached, and PyJWKClient is not async-safe
            client = await self._client(jwks_uri)
            return await asyncio.to_thread(client.get_signing_key, str(header.get("kid", "")))

    def endorsed(self, kid: str) -> frozenset[str]:
        """The channels the key ``kid`` is endorsed for, as last fetched."""
        return frozenset().union(*(client.endorsements.get(kid, frozenset()) for client in self._clients.values()))


class Registrations:
    """All configured registrations, as the Agents SDK's MSAL connections."""

    def __init__(self, primary: Registration, per_tenant: Sequence[Registration] = (), *,
                 metadata_url: str = "", issuer: str = "") -> None:
        self._issuer = issuer or BOT_FRAMEWORK_ISSUER
        everyone = [r for r in (primary, *per_tenant) if r.app_id]
        self._by_tenant = {r.tenant_id: r.app_id for r in per_tenant if r.app_id and r.tenant_id}
        self._default = primary.app_id
        self._names = {r.app_id: ("SERVICE_CONNECTION" if r is everyone[0] else f"REGISTRATION_{i}")
                       for i, r in enumerate(everyone)}
        self._manager: MsalConnectionManager | None = None
        self._validator: JwtTokenValidator | None = None
        self._keys = _Keys(metadata_url)
        if everyone:
            configurations = {self._names[r.app_id]: _configuration(r, self._names[r.app_id], self._issuer)
                              for r in everyone}
            self._manager = MsalConnectionManager(connections_configurations=configurations)
            self._validator = JwtTokenValidator(configurations["SERVICE_CONNECTION"])
            self._validator._jwk_client_manager = self._keys  # type: ignore[assignment]

    @property
    def anonymous(self) -> bool:
        return self._manager is None

    @property
    def app_ids(self) -> frozenset[str]:
        return frozenset(self._names)

    def app_id_for(self, tenant_id: str) -> str:
        return self._by_tenant.get(tenant_id, self._default)

    async def authenticate(self, auth_header: str, service_url: str, channel_id: str) -> ClaimsIdentity | None:
        """The token's claims; None in local mode. Raises ``Unauthorized`` or ``KeysUnreachable``."""
        if self._validator is None:
            if auth_header:
                raise Unauthorized("a token in local mode")  # as botbuilder's anonymous mode refuses it
            return None
        scheme, _, token = (auth_header or "").partition(" ")
        if scheme.lower() != "bearer" or not token or " " in token:
            raise Unauthorized("no bearer token")
        try:
            claims = await self._validator.validate_token(token)
        except jwt.PyJWKClientConnectionError:
            raise KeysUnreachable() from None
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as error:
            raise Unauthorized(type(error).__name__) from None
        # Bot Framework tokens name the service URL they were issued for: replies go only there.
        if claims.claims.get("serviceurl") != service_url:
            raise Unauthorized("service url")
        # The signing key must be endorsed for the activity's channel, as botbuilder requires
        # (its EndorsementsValidator): a key published for another channel does not sign for Teams.
        kid = str(jwt.get_unverified_header(token).get("kid", ""))
        if channel_id and channel_id not in self._keys.endorsed(kid):
            raise Unauthorized("key not endorsed for the channel")
        return claims

    async def token_for(self, tenant_id: str) -> str | None:
        """A Bot Connector token of the registration that speaks to ``tenant_id``; None locally."""
        if self._manager is None:
            return None
        connection = self._manager.get_connection(self._names[self.app_id_for(tenant_id)])
        return await connection.get_access_token(BOT_FRAMEWORK_ISSUER, [BOT_FRAMEWORK_SCOPE])
