"""Installing the Teams app for a recipient through Microsoft Graph (BOTBUILDER-NOTES 12).

Teams opens a 1:1 chat only with someone who has the app in their personal scope. For a
trajectbegeleider who never opened the bot, ``GraphInstaller`` installs it with an app-only token
from the recipient's own tenant::

    POST {base_url}/users/{aad-id}/teamwork/installedApps
    {"teamsApp@odata.bind": "{base_url}/appCatalogs/teamsApps/{catalog id}"}

The catalog id is not the manifest id for an app uploaded to a tenant's own catalog: it is looked
up once per tenant with ``GET {base_url}/appCatalogs/teamsApps?$filter=externalId eq '{manifest id}'``
(application permission ``AppCatalog.Read.All``), unless configured (``catalog_ids``). Installing
needs ``TeamsAppInstallation.ReadWriteSelfForUser.All`` (or ``…ReadWriteForUser.All``), admin
consent in each agency tenant. A 409 means the app is installed already: that is success.

A small aiohttp client, not the msgraph SDK: two calls do not justify its weight.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import aiohttp
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError
from yarl import URL

from bot.adapters.ratelimit import retry_after_seconds

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
# Graph asks to retry these (with Retry-After on 429 and 503); 401/403/404 and other 4xx are final.
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})


class GraphError(Exception):
    """Graph did not install the app. ``retryable``: throttled, unavailable or unreachable."""

    def __init__(self, status: int | None, retryable: bool, retry_after: float | None = None, code: str = "") -> None:
        super().__init__(f"graph failed (status {status}, code {code or '-'}, retryable={retryable})")
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after  # seconds, from Graph's Retry-After header
        self.code = code  # Graph's error code, e.g. "Forbidden"; for logs only


def scope_for(base_url: str) -> str:
    """The ``.default`` scope of the Graph cloud at ``base_url`` (``https://graph.microsoft.us/v1.0``
    → ``https://graph.microsoft.us/.default``); a loopback stand-in keeps the public cloud's scope."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return GRAPH_SCOPE if loopback or not host else f"{parts.scheme}://{parts.netloc}/.default"


async def _error_code(response: aiohttp.ClientResponse) -> str:
    """Graph's ``{"error": {"code": …}}``; the message is not kept (it may quote the request)."""
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code") or "")[:60] if isinstance(error, dict) else ""


class GraphInstaller:
    """Installs the bot's Teams app for one user at a time, in that user's tenant.

    ``credential_for_tenant`` gives the azure-identity credential that gets app-only tokens from a
    tenant (see ``CredentialsByTenant``). One aiohttp session per installer; ``close()`` ends it
    (and the credentials, if the factory has a ``close``).
    """

    def __init__(
        self,
        base_url: str,
        credential_for_tenant: Callable[[str], AsyncTokenCredential],
        teams_app_id: str,
        *,
        scope: str | None = None,
        catalog_ids: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not teams_app_id:
            raise ValueError("teams_app_id: the Teams app manifest id is required")
        self._base = base_url.rstrip("/")
        self._credential_for = credential_for_tenant
        self._app_id = teams_app_id
        self._scope = scope or scope_for(self._base)
        self._catalog: dict[str, str] = dict(catalog_ids or {})  # tenant id → catalog app id
        self._configured = frozenset(self._catalog)  # never forgotten: an operator put them there
        self._lookup = asyncio.Lock()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def install_for_user(self, tenant_id: str, aad_object_id: str) -> None:
        """Install the app in ``aad_object_id``'s personal scope; done if it is there already.

        Raises ``GraphError``: retryable for 429, 5xx, timeouts and connection errors; not for
        401, 403 (no permission or no admin consent in that tenant), 404 (no such user, or the app
        is not in that tenant's catalog) and other refusals.
        """
        catalog_id = await self._catalog_id(tenant_id)
        url = URL(f"{self._base}/users/{quote(aad_object_id, safe='')}/teamwork/installedApps", encoded=True)
        body = {"teamsApp@odata.bind": f"{self._base}/appCatalogs/teamsApps/{quote(catalog_id, safe='')}"}
        async with self._request("POST", url, tenant_id, json=body) as response:
            if response.status in (200, 201, 204):
                return
            if response.status == 409:  # already installed (by an admin policy, another replica …)
                return
            if response.status == 404 and tenant_id not in self._configured:
                self._catalog.pop(tenant_id, None)  # the app may have been uploaded anew: look again next time
            raise await self._failure("install", response)

    async def user_id(self, tenant_id: str, upn: str, *, timeout: float | None = None) -> str | None:
        """The Entra object id of ``upn`` in ``tenant_id`` (``GET /users/{upn}?$select=id``,
        application permission ``User.Read.All``), or ``None`` if that tenant has no such user.

        For a trajectbegeleider whom VDAB's client system names by e-mail/UPN only
        (``bot.adapters.resolver``). ``timeout`` overrides the session's, to fit a card action's
        budget. Raises ``GraphError`` like ``install_for_user``.
        """
        url = URL(f"{self._base}/users/{quote(upn, safe='@')}?$select=id", encoded=True)
        extra: dict[str, Any] = {"timeout": aiohttp.ClientTimeout(total=timeout)} if timeout else {}
        async with self._request("GET", url, tenant_id, **extra) as response:
            if response.status == 404:
                return None
            if response.status != 200:
                raise await self._failure("user", response)
            try:
                found = await response.json(content_type=None)
            except ValueError:
                raise GraphError(response.status, retryable=True, code="BadJson") from None
        object_id = found.get("id") if isinstance(found, dict) else None
        if not isinstance(object_id, str) or not object_id:
            raise GraphError(response.status, retryable=True, code="BadJson")
        return object_id

    async def send_mail(self, tenant_id: str, sender: str, to: str, subject: str, text: str) -> None:
        """An e-mail from ``sender``'s mailbox in ``tenant_id`` (``POST /users/{sender}/sendMail``,
        application permission ``Mail.Send``): the DPO notice of ``bot.app.incidents``. Graph
        answers 202. Raises ``GraphError`` like ``install_for_user`` (retryable for 429, 5xx,
        timeouts and connection errors)."""
        url = URL(f"{self._base}/users/{quote(sender, safe='@')}/sendMail", encoded=True)
        body = {"message": {"subject": subject, "body": {"contentType": "Text", "content": text},
                            "toRecipients": [{"emailAddress": {"address": to}}]},
                "saveToSentItems": False}
        async with self._request("POST", url, tenant_id, json=body) as response:
            if response.status in (200, 202):
                return
            raise await self._failure("mail", response)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        closer = getattr(self._credential_for, "close", None)
        if closer is not None:
            await closer()

    # -- internals --------------------------------------------------------------------------------

    async def _catalog_id(self, tenant_id: str) -> str:
        """The app's id in ``tenant_id``'s app catalog, looked up once per tenant."""
        if (known := self._catalog.get(tenant_id)) is not None:
            return known
        async with self._lookup:
            if (known := self._catalog.get(tenant_id)) is not None:
                return known
            odata = "externalId eq '{}'".format(self._app_id.replace("'", "''"))
            url = URL(f"{self._base}/appCatalogs/teamsApps?$filter={quote(odata, safe='')}", encoded=True)
            async with self._request("GET", url, tenant_id) as response:
                if response.status != 200:
                    raise await self._failure("catalog", response)
                try:
                    found = await response.json(content_type=None)
                except ValueError:
                    raise GraphError(response.status, retryable=True, code="BadJson") from None
            apps = found.get("value") if isinstance(found, dict) else None
            wanted = self._app_id.lower()
            ids = [
                str(app["id"]) for app in apps or []
                if isinstance(app, dict) and app.get("id") and str(app.get("externalId", "")).lower() == wanted
            ]
            if not ids:
                # Not uploaded to (or not allowed in) that tenant's catalog: its admin has to act.
                log.warning("teams app not in the tenant's catalog", extra={"step": "catalog", "status": 404})
                raise GraphError(404, retryable=False, code="AppNotInCatalog")
            self._catalog[tenant_id] = ids[0]
            return ids[0]

    @asynccontextmanager
    async def _request(
        self, method: str, url: URL, tenant_id: str, **kwargs: Any
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """One Graph request with a bearer token for ``tenant_id``; no answer becomes ``GraphError``."""
        headers = {"Authorization": f"Bearer {await self._token(tenant_id)}", "Accept": "application/json"}
        try:
            async with self._http().request(method, url, headers=headers, **kwargs) as response:
                yield response
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            log.warning("graph unreachable", extra={"error": type(error).__name__})
            raise GraphError(None, retryable=True, code="Unreachable") from None

    async def _token(self, tenant_id: str) -> str:
        try:
            credential = self._credential_for(tenant_id)
        except ValueError:  # azure-identity refuses a malformed tenant id: a directory error
            raise GraphError(400, retryable=False, code="BadTenant") from None
        try:
            token = await credential.get_token(self._scope)
        except ClientAuthenticationError as error:
            # Entra refused (e.g. no consent in that tenant, a wrong secret): final unless it is
            # Entra itself that is throttled or down.
            status = getattr(error, "status_code", None)
            retryable = status is not None and (status in RETRYABLE or status >= 500)
            log.warning("graph token refused", extra={"status": status, "error": type(error).__name__})
            raise GraphError(status if retryable else 401, retryable=retryable, code="TokenRefused") from None
        except AzureError as error:  # no answer from Entra or the managed identity endpoint
            log.warning("graph token unavailable", extra={"error": type(error).__name__})
            raise GraphError(None, retryable=True, code="TokenUnavailable") from None
        return token.token

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    @staticmethod
    async def _failure(step: str, response: aiohttp.ClientResponse) -> GraphError:
        status = response.status
        code = await _error_code(response)
        retryable = status in RETRYABLE or status >= 500
        log.warning("graph refused", extra={"step": step, "status": status, "error": code})
        return GraphError(status, retryable, retry_after_seconds(response.headers) if retryable else None, code)


# -- credentials ---------------------------------------------------------------------------------

CredentialKind = Literal["secret", "certificate", "managed-identity"]


@dataclass(frozen=True, slots=True)
class GraphApp:
    """The Entra app registration that installs the Teams app in a tenant (the bot's own)."""

    client_id: str
    client_secret: str = ""
    certificate_path: str = ""


class CredentialsByTenant:
    """One azure-identity (aio) credential per tenant, made on first use and kept, so that each
    tenant's tokens are cached by its credential."""

    def __init__(self, make: Callable[[str], AsyncTokenCredential]) -> None:
        self._make = make
        self._made: dict[str, AsyncTokenCredential] = {}

    def __call__(self, tenant_id: str) -> AsyncTokenCredential:
        credential = self._made.get(tenant_id)
        if credential is None:
            credential = self._made[tenant_id] = self._make(tenant_id)
        return credential

    async def close(self) -> None:
        made, self._made = list(self._made.values()), {}
        for credential in made:
            await credential.close()


def graph_credentials(
    kind: CredentialKind, app_for: Callable[[str], GraphApp], *, authority: str | None = None
) -> CredentialsByTenant:
    """Credentials for app-only Graph tokens, per recipient tenant.

    - ``secret``: ``ClientSecretCredential(tenant, client_id, secret)``;
    - ``certificate``: ``CertificateCredential(tenant, client_id, certificate_path)`` (PEM or PKCS12);
    - ``managed-identity``: ``ManagedIdentityCredential(client_id=…)``. A managed identity lives in
      one tenant: it reaches only trajectbegeleiders of that tenant.

    ``app_for(tenant)`` names the registration for that tenant (one multi-tenant app for all, or
    one per tenant as in ``BOT_REGISTRATIONS``); ``authority`` is the Entra host of a sovereign cloud.
    """
    from azure.identity.aio import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential

    extra: dict[str, Any] = {"authority": authority} if authority else {}

    def make(tenant_id: str) -> AsyncTokenCredential:
        app = app_for(tenant_id)
        if kind == "secret":
            if not (app.client_id and app.client_secret):
                raise GraphError(401, retryable=False, code="NoClientSecret")
            return ClientSecretCredential(tenant_id, app.client_id, app.client_secret, **extra)
        if kind == "certificate":
            if not (app.client_id and app.certificate_path):
                raise GraphError(401, retryable=False, code="NoCertificate")
            return CertificateCredential(tenant_id, app.client_id, certificate_path=app.certificate_path, **extra)
        return ManagedIdentityCredential(client_id=app.client_id or None)

    if kind not in ("secret", "certificate", "managed-identity"):
        raise ValueError(f"graph credential: expected secret, certificate or managed-identity, not {kind!r}")
    return CredentialsByTenant(make)
