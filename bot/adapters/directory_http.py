"""The client directory over HTTP: VDAB's client-tracking system, as ``docs/client-directory.openapi.yaml``
describes it.

``HttpDirectory`` implements the ``ClientDirectory`` port (``find``) and adds ``lookup(klant_id)``
for the re-checks before sending and before a queued delivery, and ``colleagues(agency)`` for
"Doorsturen naar een collega". Every call:

- carries a bearer token from an azure-identity credential (``DefaultAzureCredential``: the managed
  identity in Azure) for ``scope``; the credential caches and renews tokens, the adapter never does;
- runs within one time budget (``Limits.budget``, ≤ ``INVOKE_BUDGET``): each attempt has a connect
  and a total timeout, and the one retry allowed for these idempotent look-ups (429, 5xx, no
  connection, a timeout) starts only when a whole attempt still fits, after a jittered pause;
- goes through a circuit breaker: after ``failures`` failed calls within ``window`` seconds it stays
  open for ``open_for`` seconds, refusing at once (``circuit_open``), then lets one probe through;
- is validated with pydantic; a trajectbegeleider without an Entra object id is completed by
  ``RecipientResolver`` (Microsoft Graph in the agency's tenant), so the domain always gets a
  complete ``Recipient``.

Anything else than a documented answer raises ``DirectoryUnavailable(reason)`` with a content-free
reason code: ``circuit_open``, ``timeout``, ``unreachable``, ``token_unavailable``, ``status_<n>``
(401, 403, 404 on a search, 429, 5xx …), ``malformed`` (not JSON, too large), ``wrong_shape`` (JSON
not of the contract's shape), ``unknown_agency``. No client data reaches a log line or an exception:
pydantic's errors (which quote the input) are never passed on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import aiohttp
from azure.core.credentials_async import AsyncTokenCredential
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from yarl import URL

from bot.adapters.ratelimit import retry_after_seconds
from bot.adapters.resolver import RecipientResolver
from bot.app.ports import DirectoryUnavailable, RecipientUnresolved
from bot.domain.model import Agency, DirectoryClient, Recipient
from bot.domain.template import Identity

log = logging.getLogger(__name__)

# Teams wants an invoke answered in about 5 s; the rest of the turn (store, card) needs the remainder.
INVOKE_BUDGET = 4.5
MAX_BODY = 1 << 20  # a search answers a handful of entries; a megabyte is a broken or hostile answer
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
T = TypeVar("T")


# -- the contract's shapes (docs/client-directory.openapi.yaml) --------------------------------------

_EntraId = Annotated[str, Field(pattern=r"^[0-9A-Fa-f-]{8,64}$")]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WireTrajectbegeleider(_Wire):
    naam: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    upn: str | None = Field(None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    agentschap: str = Field(max_length=40)  # checked apart: an unknown agency has its own reason
    aad_object_id: _EntraId | None = None
    tenant_id: _EntraId | None = None


class WireClient(_Wire):
    klant_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    naam: str = Field(min_length=1, max_length=200)
    geboortedatum: date
    actief_inburgeringstraject: StrictBool
    trajectbegeleider: WireTrajectbegeleider


class WireSearchResult(_Wire):
    clients: list[WireClient] = Field(max_length=50)


class WireColleagues(_Wire):
    trajectbegeleiders: list[WireTrajectbegeleider] = Field(max_length=5000)


class _WireError(_Wire):
    class Inner(_Wire):
        code: str = Field(max_length=60)

    error: Inner


# -- limits and the circuit breaker -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a directory call may take. Checked at construction: one attempt always fits the
    budget, and the budget fits a Teams card action (``INVOKE_BUDGET``)."""

    connect: float = 1.0  # seconds to get a connection (a refused or black-holed host fails fast)
    total: float = 3.0  # seconds per attempt, answer included
    budget: float = 4.0  # seconds for the whole call: attempts, pause, token, Graph resolution
    retries: int = 1  # at most one, and only when a whole attempt still fits in the budget
    jitter: tuple[float, float] = (0.05, 0.25)  # the pause before the retry, uniformly drawn

    def __post_init__(self) -> None:
        if not 0 < self.connect <= self.total:
            raise ValueError(f"directory timeouts: need 0 < connect ({self.connect}) ≤ total ({self.total})")
        if self.total > self.budget:
            raise ValueError(f"directory timeouts: one attempt ({self.total} s) exceeds the budget ({self.budget} s)")
        if self.budget > INVOKE_BUDGET:
            raise ValueError(f"directory budget {self.budget} s exceeds the {INVOKE_BUDGET} s a card action allows")
        if self.retries not in (0, 1):
            raise ValueError("directory retries: 0 or 1")
        if not 0 <= self.jitter[0] <= self.jitter[1]:
            raise ValueError("directory jitter: need 0 ≤ low ≤ high")

    @property
    def worst_case(self) -> float:
        """The longest a call can take: attempts and pause, capped by the budget's deadline."""
        return min(self.budget, self.total * (1 + self.retries) + self.jitter[1])


class CircuitBreaker:
    """Closed → (``failures`` failures within ``window`` s) → open for ``open_for`` s → half-open:
    one probe goes through; its success closes the breaker, its failure opens it again."""

    def __init__(self, failures: int = 5, window: float = 30.0, open_for: float = 30.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        if failures < 1 or window <= 0 or open_for <= 0:
            raise ValueError("circuit breaker: failures ≥ 1, window > 0, open_for > 0")
        self.failures, self.window, self.open_for = failures, window, open_for
        self._now = now
        self._failed: deque[float] = deque()
        self._open_until: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self._open_until is None:
            return "closed"
        return "open" if self._now() < self._open_until and not self._probing else "half_open"

    def allow(self) -> bool:
        if self._open_until is None:
            return True
        if self._now() < self._open_until or self._probing:
            return False
        self._probing = True  # this caller is the probe; everyone else waits for its outcome
        return True

    def succeeded(self) -> None:
        self._failed.clear()
        self._open_until, self._probing = None, False

    def failed(self) -> None:
        now = self._now()
        if self._probing or self._open_until is not None:
            self._open_until, self._probing = now + self.open_for, False
            return
        self._failed.append(now)
        while self._failed and self._failed[0] <= now - self.window:
            self._failed.popleft()
        if len(self._failed) >= self.failures:
            self._failed.clear()
            self._open_until = now + self.open_for
            log.warning("client directory circuit open", extra={"count": self.failures, "delay_s": self.open_for})

    def abandoned(self) -> None:
        """The call was cancelled before it knew: a probe gives its turn to the next caller."""
        self._probing = False


class _Retry(Exception):
    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.status, self.retry_after = reason, status, retry_after


class _Failed(DirectoryUnavailable):
    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


# -- the adapter --------------------------------------------------------------------------------------


class HttpDirectory:
    """``ClientDirectory`` over VDAB's client-tracking system. One aiohttp session; ``close()`` ends
    it (and the credential, when this adapter made it)."""

    def __init__(
        self,
        base_url: str,
        scope: str,
        resolver: RecipientResolver,
        *,
        credential: AsyncTokenCredential | None = None,
        limits: Limits | None = None,
        breaker: CircuitBreaker | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not base_url or not scope:
            raise ValueError("HttpDirectory needs a base URL and a token scope")
        self._base = base_url.rstrip("/")
        self._scope = scope
        self._resolver = resolver
        self._own_credential = credential is None
        self._credential = credential
        self.limits = limits or Limits()
        self.breaker = breaker or CircuitBreaker()
        self._rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None

    @property
    def worst_case_seconds(self) -> float:
        return self.limits.worst_case

    async def find(self, identity: Identity) -> list[DirectoryClient]:
        """Every client VDAB's system finds for this name and exact birth date (the system ignores
        the order of the name's words). ``DirectoryUnavailable`` / ``RecipientUnresolved`` if not."""
        body = {"naam": identity.naam, "geboortedatum": identity.geboortedatum.isoformat()}
        found, deadline = await self._call("search", "POST", "/clients/search", WireSearchResult, json=body)
        assert found is not None
        return [await self._client(c, deadline) for c in found.clients]

    async def lookup(self, klant_id: str) -> DirectoryClient | None:
        """The client as the directory records them now, ``None`` if VDAB no longer knows them."""
        path = f"/clients/{quote(klant_id, safe='')}"
        found, deadline = await self._call("lookup", "GET", path, WireClient, missing_ok=True)
        if found is None:
            return None
        if found.klant_id != klant_id:
            raise self._log(_Failed("wrong_shape"), "lookup")
        return await self._client(found, deadline)

    async def colleagues(self, agency: Agency) -> list[Recipient]:
        """The trajectbegeleiders of ``agency`` who can be reached in Teams (optional endpoint);
        those Graph does not know are left out."""
        path = f"/agencies/{quote(agency.value, safe='')}/trajectbegeleiders"
        found, deadline = await self._call("colleagues", "GET", path, WireColleagues)
        assert found is not None
        if any(self._agency(person, "colleagues") is not agency for person in found.trajectbegeleiders):
            raise self._log(_Failed("wrong_shape"), "colleagues")
        gate = asyncio.Semaphore(8)  # the first listing resolves everyone through Graph; later ones hit the cache

        async def resolve(person: WireTrajectbegeleider) -> Recipient | None:
            async with gate:
                try:
                    return await self._recipient(person, deadline)
                except RecipientUnresolved as error:
                    if error.reason == "user_not_found":
                        return None
                    raise

        try:
            async with asyncio.TaskGroup() as group:  # one failure cancels the rest
                tasks = [group.create_task(resolve(p)) for p in found.trajectbegeleiders]
        except* RecipientUnresolved as failures:
            raise failures.exceptions[0] from None
        return [person for task in tasks if (person := task.result()) is not None]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._own_credential and self._credential is not None:
            await self._credential.close()
            self._credential = None

    # -- internals ------------------------------------------------------------------------------------

    async def _client(self, wire: WireClient, deadline: float) -> DirectoryClient:
        person = wire.trajectbegeleider
        agency = self._agency(person, "search")
        if wire.actief_inburgeringstraject:
            recipient = await self._recipient(person, deadline)
        else:
            # Never sent to: the domain refuses a client without an active inburgeringstraject before
            # it looks at the recipient, so no Graph call (and no refusal from Graph) for them.
            try:
                tenant = self._resolver.tenant_for(agency, person.tenant_id)
            except RecipientUnresolved:
                tenant = ""
            recipient = Recipient(naam=person.naam, email=person.email, aad_object_id=person.aad_object_id or "",
                                  tenant_id=tenant, agentschap=agency)
        return DirectoryClient(klant_id=wire.klant_id, naam=wire.naam, geboortedatum=wire.geboortedatum,
                               actief_inburgeringstraject=wire.actief_inburgeringstraject, trajectbegeleider=recipient)

    async def _recipient(self, person: WireTrajectbegeleider, deadline: float) -> Recipient:
        remaining = deadline - asyncio.get_running_loop().time()
        return await self._resolver.recipient(
            naam=person.naam, email=person.email, agentschap=self._agency(person, "resolve"), upn=person.upn,
            aad_object_id=person.aad_object_id, tenant_id=person.tenant_id, timeout=remaining,
        )

    def _agency(self, person: WireTrajectbegeleider, step: str) -> Agency:
        try:
            return Agency(person.agentschap)
        except ValueError:
            raise self._log(_Failed("unknown_agency"), step) from None

    async def _call(
        self, step: str, method: str, path: str, shape: type[T], *, json: Any = None, missing_ok: bool = False
    ) -> tuple[T | None, float]:
        """One look-up through the breaker, within the budget; returns the validated answer and the
        deadline (what is left of it is for resolving the recipient)."""
        if not self.breaker.allow():
            raise self._log(_Failed("circuit_open"), step)
        deadline = asyncio.get_running_loop().time() + self.limits.budget
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    raw = await self._attempts(method, URL(self._base + path, encoded=True), json, deadline,
                                               missing_ok)
            except TimeoutError:
                raise _Failed("timeout") from None
            answer = None if raw is None else self._parse(raw, shape)
        except DirectoryUnavailable as error:
            self.breaker.failed()
            raise self._log(error, step) from None
        except BaseException:
            self.breaker.abandoned()
            raise
        self.breaker.succeeded()
        return answer, deadline

    async def _attempts(self, method: str, url: URL, body: Any, deadline: float, missing_ok: bool) -> bytes | None:
        loop = asyncio.get_running_loop()
        retries = self.limits.retries
        while True:
            try:
                return await self._attempt(method, url, body, deadline, missing_ok)
            except _Retry as failure:
                pause = max(self._rng.uniform(*self.limits.jitter), failure.retry_after or 0.0)
                fits = deadline - loop.time() - pause >= self.limits.total
                if retries <= 0 or not fits:
                    raise _Failed(failure.reason, failure.status) from None
                retries -= 1
                log.info("client directory retry", extra={"error": failure.reason, "status": failure.status,
                                                          "delay_s": round(pause, 3)})
                await asyncio.sleep(pause)

    async def _attempt(self, method: str, url: URL, body: Any, deadline: float, missing_ok: bool) -> bytes | None:
        headers = {"Authorization": f"Bearer {await self._token()}", "Accept": "application/json"}
        remaining = deadline - asyncio.get_running_loop().time()
        total = min(self.limits.total, remaining)
        timeout = aiohttp.ClientTimeout(total=total, connect=min(self.limits.connect, total))
        try:
            async with self._http().request(method, url, json=body, headers=headers, timeout=timeout,
                                            allow_redirects=False) as response:
                status = response.status
                if status == 200:
                    if response.content_type != "application/json":
                        raise _Failed("malformed", status)
                    return await self._read(response)
                if status == 404 and missing_ok:
                    raw = await self._read(response)
                    try:
                        if _WireError.model_validate_json(raw).error.code == "client_not_found":
                            return None
                    except ValidationError:
                        pass
                    raise _Failed("status_404", status)
                if status in RETRYABLE or status >= 500:
                    raise _Retry(f"status_{status}", status, retry_after_seconds(response.headers))
                raise _Failed(f"status_{status}", status)
        except TimeoutError:  # aiohttp's connect or read timeout (the budget's own is a cancellation)
            raise _Retry("timeout") from None
        except (aiohttp.ClientError, OSError):
            raise _Retry("unreachable") from None

    @staticmethod
    async def _read(response: aiohttp.ClientResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY:
                raise _Failed("malformed", response.status)
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _parse(raw: bytes, shape: type[T]) -> T:
        try:
            return shape.model_validate_json(raw)  # type: ignore[attr-defined, no-any-return]
        except ValidationError as error:
            # The error's text quotes the input (names, birth dates): only its kind is kept.
            invalid_json = any(e["type"] == "json_invalid" for e in error.errors(include_input=False))
            raise _Failed("malformed" if invalid_json else "wrong_shape", 200) from None

    async def _token(self) -> str:
        if self._credential is None:
            from azure.identity.aio import DefaultAzureCredential

            self._credential = DefaultAzureCredential()  # managed identity in Azure
        try:
            token = await self._credential.get_token(self._scope)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - any failure to get a token is "unavailable", never a crash
            log.warning("client directory token unavailable", extra={"error": type(error).__name__})
            raise _Failed("token_unavailable") from None
        return token.token

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64, ttl_dns_cache=300), raise_for_status=False
            )
        return self._session

    @staticmethod
    def _log(error: DirectoryUnavailable, step: str) -> DirectoryUnavailable:
        log.warning("client directory unavailable",
                    extra={"step": step, "error": error.reason, "status": getattr(error, "status", None)})
        return error

