"""VDAB's client-tracking system as a stand-in on loopback, serving ``docs/client-directory.openapi.yaml``.

The bot's ``HttpDirectory`` gets ``base_url = directory.base_url`` and a ``DirectoryCredential``
(its token is the only one accepted; anything else is a 401)::

    async with FakeDirectory([client("K-1", "Amina El Idrissi", "1990-04-12")]) as directory:
        http = HttpDirectory(directory.base_url, DIRECTORY_SCOPE, resolver, credential=DirectoryCredential())
        ...
        assert [c.path for c in directory.calls] == ["/api/terugkoppeling/v1/clients/search"]

Routes (under ``/api/terugkoppeling/v1``):

* ``POST /clients/search`` ``{"naam", "geboortedatum"}`` → 200 ``{"clients": [...]}``: name in any word
  order, case, accents and commas ignored, exact birth date; 400 for a body of another shape.
* ``GET /clients/{klant_id}`` → 200 the client, or 404 ``client_not_found``.
* ``GET /agencies/{agentschap}/trajectbegeleiders`` → 200 ``{"trajectbegeleiders": [...]}``: the
  agency's trajectbegeleiders named by clients, plus ``colleagues[agency]``.

``fail()`` queues faults for the next matching calls: any status (with an ``Error`` body and
``Retry-After`` if given), ``"slow"`` (answer normally after ``delay`` seconds: past the client's
timeout), ``"malformed"`` (200, ``application/json``, not JSON), ``"html"`` (200, a gateway's HTML
page), ``"wrong_shape"`` (200, JSON not of the contract), ``"unknown_agency"``, ``"drop"`` (connection
closed). ``set_trajectbegeleider`` / ``set_active`` change a client between two calls. Every request is
recorded as a ``DirectoryCall``. ``python -m tests.support.directory --clients FILE`` serves one (bench).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from azure.core.credentials import AccessToken

from bot.domain.text import normalise_name

DIRECTORY_SCOPE = "api://klantvolgsysteem.test/.default"
TOKEN = "fake-directory-token"
PREFIX = "/api/terugkoppeling/v1"
FAULTS = ("slow", "malformed", "html", "wrong_shape", "unknown_agency", "drop")


def client(
    klant_id: str, naam: str, geboortedatum: str, *, actief: bool = True, begeleider: str = "Els Peeters",
    email: str = "els.peeters@atlas.example", agentschap: str = "atlas", aad_object_id: str | None = None,
    tenant_id: str | None = None, upn: str | None = None,
) -> dict[str, Any]:
    """One client as the contract shapes it (optional fields only when given)."""
    person: dict[str, Any] = {"naam": begeleider, "email": email, "agentschap": agentschap}
    for key, value in (("upn", upn), ("aad_object_id", aad_object_id), ("tenant_id", tenant_id)):
        if value is not None:
            person[key] = value
    return {"klant_id": klant_id, "naam": naam, "geboortedatum": geboortedatum,
            "actief_inburgeringstraject": actief, "trajectbegeleider": person}


def error(code: str, message: str = "injected by FakeDirectory") -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class DirectoryCredential:
    """An azure-identity style async credential whose token the stand-in accepts; ``fail`` makes
    ``get_token`` raise it instead (Entra or the managed identity endpoint refusing)."""

    def __init__(self, token: str = TOKEN, fail: Exception | None = None) -> None:
        self.token, self.fail = token, fail
        self.scopes: list[tuple[str, ...]] = []
        self.closed = False

    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        if self.fail is not None:
            raise self.fail
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        self.closed = True


@dataclass
class DirectoryCall:
    method: str
    path: str  # percent-decoded, without the query string
    body: Any
    authorized: bool
    time: float = field(default_factory=time.monotonic)
    status: int | None = None
    fault: str | None = None


@dataclass
class _Fault:
    status: int | str
    times: int
    path_contains: str | None
    delay: float
    retry_after: float | None
    body: Any


def _name_key(name: str) -> tuple[str, ...]:
    return tuple(sorted(normalise_name(name.replace(",", " ")).split()))


@dataclass
class FakeDirectory:
    """The client-tracking system on ``127.0.0.1:<free port>``; ``base_url`` is the API's base."""

    clients: list[dict[str, Any]] = field(default_factory=list)
    colleagues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    token: str = TOKEN
    url: str = ""
    calls: list[DirectoryCall] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/") + PREFIX

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        host, bound = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{bound}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDirectory:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # -- set-up, changes and faults ---------------------------------------------------------------

    def _find(self, klant_id: str) -> dict[str, Any]:
        return next(c for c in self.clients if c["klant_id"] == klant_id)

    def set_trajectbegeleider(self, klant_id: str, **person: Any) -> None:
        """VDAB assigns the client another trajectbegeleider (fields as in ``client``'s)."""
        self._find(klant_id)["trajectbegeleider"] = {k: v for k, v in person.items() if v is not None}

    def set_active(self, klant_id: str, actief: bool) -> None:
        self._find(klant_id)["actief_inburgeringstraject"] = actief

    def fail(self, status: int | str = 503, times: int = 1, path_contains: str | None = None, delay: float = 0.0,
             retry_after: float | None = None, body: Any = None) -> None:
        if isinstance(status, str) and status not in FAULTS:
            raise ValueError(f"status must be an int or one of {FAULTS}, not {status!r}")
        self._faults.append(_Fault(status, times, path_contains, delay, retry_after, body))

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.path_contains is None or fault.path_contains in path:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # -- the API ----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            body = text
        authorized = request.headers.get("Authorization") == f"Bearer {self.token}"
        call = DirectoryCall(request.method, request.path, body, authorized)
        self.calls.append(call)
        if not authorized:
            return self._answer(call, 401, error("unauthorized", "no valid bearer token"))
        fault = self._take_fault(call.path)
        if fault is not None:
            call.fault = str(fault.status)
            if fault.status == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never reaches the client
            if fault.status == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.status == "malformed":
                return self._raw(call, 200, '{"clients": [{"klant_id": "K-', "application/json")
            elif fault.status == "html":
                return self._raw(call, 200, "<html><body>Gateway</body></html>", "text/html")
            elif fault.status == "wrong_shape":
                return self._answer(call, 200, fault.body if fault.body is not None else {"results": "none"})
            elif fault.status == "unknown_agency":
                entry = json.loads(json.dumps(self.clients[0]))
                entry["trajectbegeleider"]["agentschap"] = "elders"
                return self._answer(call, 200, {"clients": [entry]} if "search" in call.path else entry)
            else:
                status = int(fault.status)
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return self._answer(call, status, fault.body if fault.body is not None else error(f"e{status}"),
                                    headers)
        return self._route(call)

    def _route(self, call: DirectoryCall) -> web.Response:
        if not call.path.startswith(PREFIX + "/"):
            return self._answer(call, 404, error("not_found"))
        parts = call.path[len(PREFIX) + 1:].split("/")
        if call.method == "POST" and parts == ["clients", "search"]:
            return self._search(call)
        if call.method == "GET" and len(parts) == 2 and parts[0] == "clients":
            found = [c for c in self.clients if c["klant_id"] == parts[1]]
            return self._answer(call, 200, found[0]) if found else self._answer(call, 404, error("client_not_found"))
        if call.method == "GET" and len(parts) == 3 and parts[0] == "agencies" and parts[2] == "trajectbegeleiders":
            return self._colleagues(call, parts[1])
        return self._answer(call, 404, error("not_found"))

    def _search(self, call: DirectoryCall) -> web.Response:
        wanted = call.body if isinstance(call.body, dict) else {}
        if set(wanted) != {"naam", "geboortedatum"} or not all(isinstance(v, str) for v in wanted.values()):
            return self._answer(call, 400, error("bad_request", "expected {naam, geboortedatum}"))
        key = _name_key(wanted["naam"])
        found = [c for c in self.clients
                 if c["geboortedatum"] == wanted["geboortedatum"] and _name_key(c["naam"]) == key]
        return self._answer(call, 200, {"clients": found})

    def _colleagues(self, call: DirectoryCall, agency: str) -> web.Response:
        if agency not in ("agii", "atlas", "amal"):
            return self._answer(call, 404, error("not_found"))
        people: dict[str, dict[str, Any]] = {}
        for person in [c["trajectbegeleider"] for c in self.clients] + self.colleagues.get(agency, []):
            if person.get("agentschap") == agency:
                people.setdefault(person["email"].casefold(), person)
        return self._answer(call, 200, {"trajectbegeleiders": list(people.values())})

    @staticmethod
    def _answer(call: DirectoryCall, status: int, answer: Any, headers: dict[str, str] | None = None) -> web.Response:
        call.status = status
        return web.json_response(answer, status=status, headers=headers)

    @staticmethod
    def _raw(call: DirectoryCall, status: int, text: str, content_type: str) -> web.Response:
        call.status = status
        return web.Response(status=status, text=text, content_type=content_type)

    # -- what the tests ask -----------------------------------------------------------------------

    def searches(self) -> list[DirectoryCall]:
        return [c for c in self.calls if c.path.endswith("/clients/search")]


async def _serve(clients_file: str, port: int) -> None:
    with open(clients_file, encoding="utf-8") as source:
        clients = json.load(source)["clients"]
    directory = FakeDirectory(clients)
    await directory.start(port)
    print(directory.base_url, flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="VDAB client directory stand-in on loopback")
    parser.add_argument("--clients", required=True, help="a directory file ({'clients': [...]})")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.clients, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
