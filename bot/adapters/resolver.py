"""From a trajectbegeleider as VDAB's client system names them to a complete ``Recipient``.

VDAB's system knows a trajectbegeleider by name, e-mail/UPN and agency; Teams needs their Entra
object id in the agency's tenant. ``RecipientResolver`` fills in what the directory left out:

- the tenant: the one the directory gives, else the agency's only tenant in ``BOT_AGENCY_TENANTS``
  (an agency with several tenants must have its tenant given by the directory);
- the object id: the one the directory gives, else Microsoft Graph in that tenant,
  ``GET /users/{upn}?$select=id`` with the app-only token the bot already has there for
  provisioning (``GraphInstaller.user_id``; application permission ``User.Read.All``).

Resolved ids are cached for ``ttl`` seconds: they are a colleague's work identity, not client
data. Nothing about the client passes through here. Every failure is ``RecipientUnresolved`` with
a content-free reason:

``tenant_unknown`` (the agency has no configured tenant), ``tenant_ambiguous`` (several, none
given), ``graph_not_configured`` (an id is needed and BOT_GRAPH_CREDENTIAL is not set),
``user_not_found`` (no such user in that tenant), ``graph_unreachable``, ``graph_status_<n>``,
``graph_malformed``, ``graph_token`` (Entra refused or did not answer), ``timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Protocol

from bot.app.ports import RecipientUnresolved
from bot.domain.model import Agency, Recipient
from bot.teams.graph import GraphError

log = logging.getLogger(__name__)

DEFAULT_TTL = 3600.0  # an hour: a moved mailbox or a re-created account is picked up within it
MAX_ENTRIES = 10_000  # a few thousand trajectbegeleiders at most; bounded all the same


class UserLookup(Protocol):
    async def user_id(self, tenant_id: str, upn: str, *, timeout: float | None = None) -> str | None:
        """The user's Entra object id in ``tenant_id``, ``None`` if there is no such user;
        raises ``GraphError`` when Graph cannot answer."""
        ...


def _reason(error: GraphError) -> str:
    if error.code in ("TokenRefused", "TokenUnavailable", "NoClientSecret", "NoCertificate", "BadTenant"):
        return "graph_token"
    if error.code == "BadJson":
        return "graph_malformed"
    if error.status is None:
        return "graph_unreachable"
    return f"graph_status_{error.status}"


class RecipientResolver:
    """Completes a trajectbegeleider into a ``Recipient`` (tenant + Entra object id)."""

    def __init__(
        self,
        users: UserLookup | None,
        agency_tenants: Mapping[str, frozenset[str]] | None,
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = MAX_ENTRIES,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0 or max_entries < 1:
            raise ValueError("ttl must be ≥ 0 and max_entries ≥ 1")
        self._users = users
        self._tenants = {str(k): frozenset(v) for k, v in (agency_tenants or {}).items()}
        self._ttl = ttl
        self._max = max_entries
        self._now = now
        self._ids: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()  # (tenant, upn) → (id, expiry)

    def tenant_for(self, agency: Agency, given: str | None) -> str:
        if given:
            return given  # the policy checks it against BOT_AGENCY_TENANTS (an incident if outside)
        tenants = self._tenants.get(agency.value, frozenset())
        if len(tenants) == 1:
            return next(iter(tenants))
        raise RecipientUnresolved("tenant_ambiguous" if tenants else "tenant_unknown")

    async def recipient(
        self,
        *,
        naam: str,
        email: str,
        agentschap: Agency,
        upn: str | None = None,
        aad_object_id: str | None = None,
        tenant_id: str | None = None,
        timeout: float | None = None,
    ) -> Recipient:
        """The complete recipient; ``timeout`` bounds the Graph call (the caller's remaining budget)."""
        tenant = self.tenant_for(agentschap, tenant_id)
        object_id = aad_object_id or await self.object_id(tenant, upn or email, timeout=timeout)
        return Recipient(naam=naam, email=email, aad_object_id=object_id, tenant_id=tenant, agentschap=agentschap)

    async def object_id(self, tenant_id: str, upn: str, *, timeout: float | None = None) -> str:
        key = (tenant_id, upn.casefold())
        cached = self._ids.get(key)
        if cached is not None:
            if cached[1] > self._now():
                self._ids.move_to_end(key)
                return cached[0]
            del self._ids[key]
        if self._users is None:
            raise RecipientUnresolved("graph_not_configured")
        if timeout is not None and timeout <= 0:
            raise RecipientUnresolved("timeout")
        try:
            async with asyncio.timeout(timeout):
                found = await self._users.user_id(tenant_id, upn, timeout=timeout)
        except GraphError as error:
            reason = _reason(error)
            log.warning("recipient not resolved", extra={"error": reason, "status": error.status})
            raise RecipientUnresolved(reason) from None
        except TimeoutError:
            log.warning("recipient not resolved", extra={"error": "timeout"})
            raise RecipientUnresolved("timeout") from None
        if found is None:
            log.warning("recipient not resolved", extra={"error": "user_not_found"})
            raise RecipientUnresolved("user_not_found")
        self._ids[key] = (found, self._now() + self._ttl)
        while len(self._ids) > self._max:
            self._ids.popitem(last=False)
        return found

    def forget(self) -> None:
        """Drop every cached id (e.g. after an agency re-created its accounts)."""
        self._ids.clear()
