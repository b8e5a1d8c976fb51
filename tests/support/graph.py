"""A Microsoft Graph stand-in on loopback: the two calls the bot makes to install its Teams app.

The bot's ``GraphInstaller`` gets ``base_url = graph.base_url`` (``http://127.0.0.1:PORT/v1.0``)
and a ``FakeCredential`` per tenant, whose token names that tenant. The stand-in records which
tenant each call's token was for, and refuses a token of any tenant not in ``tenants`` (401)::

    async with FakeGraph(connector, tenants={ATLAS}) as graph:
        installer = GraphInstaller(graph.base_url, FakeCredentials(), TEAMS_APP_ID)
        ...
        assert [c.tenant for c in graph.installs()] == [ATLAS]

Routes (answers shaped like Graph's, errors as ``{"error": {"code", "message"}}``):

* ``GET  /v1.0/appCatalogs/teamsApps?$filter=externalId eq '{manifest id}'`` → 200 ``{"value": [...]}``:
  the app with the tenant's own catalog id (``catalog_id(tenant)``), or ``[]`` if the tenant is in
  ``missing_app``.
* ``POST /v1.0/users/{id}/teamwork/installedApps``, body
  ``{"teamsApp@odata.bind": "{base_url}/appCatalogs/teamsApps/{catalog id}"}`` → 201, empty body;
  409 ``Conflict`` if installed already; 400 for a wrong or missing binding.
  An installation is also an installation in the ``FakeConnector`` (``connector.install``), unless
  ``propagate`` is off (Teams has not caught up yet).
* ``POST /v1.0/users/{id}/sendMail`` (a ``message`` with ``subject``, ``body`` and ``toRecipients``) → 202,
  empty body; 400 for anything else. ``mails()`` are the ones that took effect.
* ``GET  /v1.0/users/{upn}?$select=id`` → 200 ``{"id": …}`` for a user added with ``add_user(tenant, upn,
  id)`` (UPN case-insensitive, per tenant), else 404 ``Request_ResourceNotFound``; 400 without ``$select=id``.

Every request is recorded as a ``GraphCall``; ``fail()`` queues 4xx/5xx answers or dropped
connections, like ``FakeConnector.fail``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from azure.core.credentials import AccessToken

from tests.support.connector import FakeConnector

TEAMS_APP_ID = "5d3c8f0e-7a41-4c2b-9e6d-0a1b2c3d4e5f"  # the manifest id (``externalId`` in Graph)
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
_CODES = {400: "BadRequest", 401: "InvalidAuthenticationToken", 403: "Forbidden", 404: "NotFound",
          409: "Conflict", 429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
          503: "ServiceUnavailable", 504: "GatewayTimeout"}
# What Graph says when the app lacks the application permission (no admin consent in that tenant).
MISSING_PERMISSION = (
    "Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadWriteSelfForUser.All, "
    "TeamsAppInstallation.ReadWriteForUser.All'. Roles on the request ''."
)


def graph_error(status: int, message: str = "injected by FakeGraph", code: str | None = None) -> dict[str, Any]:
    inner = {"date": "2026-11-30T08:00:00", "request-id": "00000000-0000-0000-0000-000000000000"}
    return {"error": {"code": code or _CODES.get(status, "UnknownError"), "message": message, "innerError": inner}}


def token_for(tenant_id: str) -> str:
    return f"fake-graph-token.{tenant_id}"


class FakeCredential:
    """An azure-identity style async credential for one tenant: a real ``AccessToken`` that names it."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.scopes: list[tuple[str, ...]] = []
        self.closed = False

    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(token_for(self.tenant_id), int(time.time()) + 3600)

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> FakeCredential:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


class FakeCredentials:
    """``credential_for_tenant`` for ``GraphInstaller``: one ``FakeCredential`` per tenant, kept."""

    def __init__(self) -> None:
        self.made: dict[str, FakeCredential] = {}

    def __call__(self, tenant_id: str) -> FakeCredential:
        return self.made.setdefault(tenant_id, FakeCredential(tenant_id))

    async def close(self) -> None:
        for credential in self.made.values():
            await credential.close()


@dataclass
class GraphCall:
    method: str
    path: str  # percent-decoded, without the query string
    query: dict[str, str]
    body: Any
    tenant: str | None  # from the bearer token; None if it was missing or not one we issued
    time: float = field(default_factory=time.monotonic)  # comparable with the FakeConnector's ``Call.time``
    status: int | None = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def user(self) -> str | None:
        parts = self.path.strip("/").split("/")
        return parts[2] if len(parts) == 5 and parts[1] == "users" else None


@dataclass
class _Fault:
    method: str | None
    path_contains: str | None
    status: int | str
    times: int
    retry_after: float | int | None
    body: Any


@dataclass
class FakeGraph:
    """Microsoft Graph on ``127.0.0.1:<free port>``; ``base_url`` ends in ``/v1.0``."""

    connector: FakeConnector | None = None
    tenants: set[str] = field(default_factory=set)  # tenants whose tokens are accepted
    teams_app_id: str = TEAMS_APP_ID
    propagate: bool = True  # an installation reaches the FakeConnector at once
    missing_app: set[str] = field(default_factory=set)  # tenants whose catalog lacks the app
    url: str = ""
    calls: list[GraphCall] = field(default_factory=list)
    installed: set[tuple[str, str]] = field(default_factory=set)  # (user id, tenant id)
    users: dict[tuple[str, str], str] = field(default_factory=dict)  # (tenant id, upn casefolded) → object id
    _faults: list[_Fault] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"{self.url}v1.0"

    @staticmethod
    def catalog_id(tenant_id: str) -> str:
        """The app's id in that tenant's catalog: not the manifest id (an org-uploaded app)."""
        return f"catalog-{tenant_id[-4:]}-0a1b"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGraph:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # -- set-up and faults ----------------------------------------------------------------------

    def add_user(self, tenant_id: str, upn: str, object_id: str) -> None:
        """``GET /users/{upn}`` in that tenant finds ``object_id``."""
        self.users[(tenant_id, upn.casefold())] = object_id

    def already_installed(self, user_id: str, tenant_id: str) -> None:
        """The app is installed for that user (by an admin policy, say): an install answers 409."""
        self.installed.add((user_id, tenant_id))

    def fail(self, method: str | None = None, path_contains: str | None = None, status: int | str = 503,
             times: int = 1, retry_after: float | int | None = None, body: Any = None) -> None:
        """The next ``times`` matching calls are answered ``status`` (Graph-style error body unless
        ``body``; ``Retry-After`` if given) and not applied; ``status="drop"`` closes the connection."""
        if isinstance(status, str) and status != "drop":
            raise ValueError(f"status must be an int or 'drop', not {status!r}")
        self._faults.append(_Fault(method, path_contains, status, times, retry_after, body))

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in (None, method) and (fault.path_contains is None or fault.path_contains in path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # -- the API --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        tenant = next((t for t in self.tenants if auth == f"Bearer {token_for(t)}"), None)
        text = await request.text()
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            body = text
        call = GraphCall(request.method, unquote(request.path), dict(request.query), body, tenant)
        self.calls.append(call)
        if tenant is None:
            return self._answer(call, 401, graph_error(401, "Access token is empty or not ours."))
        fault = self._take_fault(call.method, call.path)
        if fault is not None:
            call.fault = str(fault.status)
            if fault.status == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never reaches the client
            status = int(fault.status)
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return self._answer(call, status, fault.body if fault.body is not None else graph_error(status), headers)
        parts = call.path.strip("/").split("/")
        if call.method == "GET" and parts == ["v1.0", "appCatalogs", "teamsApps"]:
            return self._catalog(call, tenant)
        if call.method == "POST" and call.user is not None and parts[3:] == ["teamwork", "installedApps"]:
            return self._install(call, parts[2], tenant)
        if call.method == "POST" and len(parts) == 4 and parts[:2] == ["v1.0", "users"] and parts[3] == "sendMail":
            return self._send_mail(call)
        if call.method == "GET" and len(parts) == 3 and parts[:2] == ["v1.0", "users"]:
            return self._user(call, parts[2], tenant)
        return self._answer(call, 404, graph_error(404, f"no route {call.method} {call.path}", "UnknownError"))

    def _catalog(self, call: GraphCall, tenant: str) -> web.Response:
        wanted = f"externalId eq '{self.teams_app_id}'"
        if call.query.get("$filter") != wanted:
            return self._answer(call, 400, graph_error(400, f"unexpected filter {call.query.get('$filter')!r}"))
        apps = [] if tenant in self.missing_app else [
            {"id": self.catalog_id(tenant), "externalId": self.teams_app_id, "displayName": "Terugkoppeling",
             "distributionMethod": "organization"}
        ]
        return self._answer(call, 200, {"@odata.context": f"{self.base_url}/$metadata#appCatalogs/teamsApps",
                                        "value": apps})

    def _install(self, call: GraphCall, user: str, tenant: str) -> web.Response:
        bind = (call.body or {}).get("teamsApp@odata.bind") if isinstance(call.body, dict) else None
        if bind != f"{self.base_url}/appCatalogs/teamsApps/{self.catalog_id(tenant)}":
            return self._answer(call, 400, graph_error(400, f"teamsApp@odata.bind {bind!r}: not in this catalog"))
        if (user, tenant) in self.installed:
            self._reach_teams(user, tenant)
            return self._answer(call, 409, graph_error(409, "App is already installed.", "Conflict"))
        self.installed.add((user, tenant))
        self._reach_teams(user, tenant)
        return self._answer(call, 201, None)

    def _user(self, call: GraphCall, upn: str, tenant: str) -> web.Response:
        if call.query.get("$select") != "id":
            return self._answer(call, 400, graph_error(400, f"expected $select=id, got {call.query!r}"))
        found = self.users.get((tenant, upn.casefold()))
        if found is None:
            return self._answer(call, 404, graph_error(404, "Resource does not exist.", "Request_ResourceNotFound"))
        return self._answer(call, 200, {"@odata.context": f"{self.base_url}/$metadata#users(id)/$entity", "id": found})

    def _send_mail(self, call: GraphCall) -> web.Response:
        message = (call.body or {}).get("message") if isinstance(call.body, dict) else None
        to = [r for r in (message or {}).get("toRecipients") or [] if (r.get("emailAddress") or {}).get("address")]
        content = (message or {}).get("body") or {}
        if not isinstance(message, dict) or not message.get("subject") or not content.get("content") or not to:
            return self._answer(call, 400, graph_error(400, "sendMail: message with subject, body and toRecipients"))
        return self._answer(call, 202, None)

    def _reach_teams(self, user: str, tenant: str) -> None:
        if self.connector is not None and self.propagate:
            self.connector.install(user, tenant)

    @staticmethod
    def _answer(call: GraphCall, status: int, answer: Any, headers: dict[str, str] | None = None) -> web.Response:
        call.status = status
        if answer is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(answer, status=status, headers=headers)

    # -- what the tests ask ---------------------------------------------------------------------

    def lookups(self) -> list[GraphCall]:
        """Catalog lookups (any answer)."""
        return [c for c in self.calls if c.method == "GET" and "appCatalogs" in c.path]

    def install_calls(self) -> list[GraphCall]:
        """Installation requests (any answer)."""
        return [c for c in self.calls if c.method == "POST" and c.path.endswith("/teamwork/installedApps")]

    def user_lookups(self) -> list[GraphCall]:
        """``GET /users/{upn}`` requests (any answer)."""
        return [c for c in self.calls if c.method == "GET" and c.path.count("/") == 3 and "/users/" in c.path]

    def mails(self) -> list[GraphCall]:
        """``sendMail`` requests that took effect (202)."""
        return [c for c in self.calls if c.method == "POST" and c.path.endswith("/sendMail") and c.status == 202]

    def installs(self) -> list[GraphCall]:
        """Installations that took effect (201)."""
        return [c for c in self.install_calls() if c.status == 201]
