"""The client directory over HTTP against VDAB's system as a loopback stand-in (tests/support/directory.py),
with recipients resolved through the Graph stand-in: every way the directory can fail is a
``DirectoryUnavailable`` with its own reason, fast when the breaker is open, and within the budget."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from azure.core.exceptions import ClientAuthenticationError
from pydantic import ValidationError

from bot.adapters.clock import FixedClock
from bot.adapters.directory_http import (
    INVOKE_BUDGET,
    CircuitBreaker,
    HttpDirectory,
    Limits,
    WireClient,
    WireColleagues,
    WireSearchResult,
    WireTrajectbegeleider,
)
from bot.adapters.resolver import RecipientResolver
from bot.app.ports import DirectoryUnavailable, RecipientUnresolved
from bot.bootstrap import DEMO_DIRECTORY, ConfigurationError, build, check_directory, refuse_demo_directory
from bot.config import Settings
from bot.domain.model import Agency
from bot.domain.template import Identity
from bot.teams.graph import GraphInstaller
from tests.support.cards import texts
from tests.support.connector import FakeConnector
from tests.support.directory import DIRECTORY_SCOPE, PREFIX, DirectoryCredential, FakeDirectory, client
from tests.support.graph import TEAMS_APP_ID, FakeCredentials, FakeGraph
from tests.support.teams import Harness, capture_logs

ATLAS = "2b7d0c6e-1f4a-4b8e-9c3d-aaaa00000002"
AMAL = "2b7d0c6e-1f4a-4b8e-9c3d-aaaa00000003"
ELS = "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e01"
PIETER = "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e02"
TENANTS = {"atlas": frozenset({ATLAS}), "amal": frozenset({AMAL})}
AMINA = Identity(naam="Amina El Idrissi", geboortedatum=date(1990, 4, 12))
CLIENT_DATA = ("Amina", "Idrissi", "1990-04-12")
DATA_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
FAST = Limits(connect=0.2, total=0.4, budget=0.7)  # a retry after a fast failure fits, after a timeout not


class Ticks:
    """A monotonic clock the test moves by hand (breaker, cache TTL)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def directory():
    clients = [
        client("K-1001", "Amina El Idrissi", "1990-04-12"),
        client("K-1005", "Mohammed Ahmadi", "1992-09-09", actief=False),
        client("K-1011", "Samira Haddad", "1996-05-05", begeleider="Pieter De Smet",
               email="pieter.desmet@amal.example", agentschap="amal", aad_object_id=PIETER, tenant_id=AMAL),
    ]
    async with FakeDirectory(clients) as running:
        yield running


@pytest.fixture
async def graph():
    async with FakeGraph(tenants={ATLAS, AMAL}) as running:
        running.add_user(ATLAS, "els.peeters@atlas.example", ELS)
        running.add_user(AMAL, "pieter.desmet@amal.example", PIETER)
        yield running


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def leaks(caplog):
    """Asserts that no log record (message, arguments or extras) carries client data."""
    caplog.set_level(logging.DEBUG)

    def check() -> None:
        for record in caplog.records:
            text = record.getMessage() + repr(record.__dict__)
            assert not any(value in text for value in CLIENT_DATA), record.__dict__
    return check


@pytest.fixture
async def make(directory, graph, ticks):
    made: list[HttpDirectory] = []
    installers: list[GraphInstaller] = []

    def build(*, limits: Limits = FAST, breaker: CircuitBreaker | None = None, credential=None,
              with_graph: bool = True, tenants=TENANTS, ttl: float = 3600, base_url: str | None = None):
        installer = GraphInstaller(graph.base_url, FakeCredentials(), TEAMS_APP_ID) if with_graph else None
        if installer is not None:
            installers.append(installer)
        resolver = RecipientResolver(installer, tenants, ttl=ttl, now=ticks)
        adapter = HttpDirectory(
            base_url or directory.base_url, DIRECTORY_SCOPE, resolver, credential=credential or DirectoryCredential(),
            limits=limits, breaker=breaker or CircuitBreaker(now=ticks), rng=random.Random(7),
        )
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        await adapter.close()
    for installer in installers:
        await installer.close()


async def unavailable(adapter: HttpDirectory, identity: Identity = AMINA) -> DirectoryUnavailable:
    with pytest.raises(DirectoryUnavailable) as caught:
        await adapter.find(identity)
    assert not any(value in str(caught.value) for value in CLIENT_DATA)
    return caught.value


# -- answers ----------------------------------------------------------------------------------------


async def test_a_search_sends_the_token_and_the_identity_in_the_body_and_resolves_the_recipient(
    make, directory, graph, leaks
):
    credential = DirectoryCredential()
    found = await make(credential=credential).find(AMINA)

    assert [c.klant_id for c in found] == ["K-1001"]
    recipient = found[0].trajectbegeleider
    assert (recipient.aad_object_id, recipient.tenant_id, recipient.agentschap) == (ELS, ATLAS, Agency.ATLAS)
    assert credential.scopes == [(DIRECTORY_SCOPE,)]
    (call,) = directory.calls
    assert call.authorized and call.method == "POST" and call.path == f"{PREFIX}/clients/search"
    assert call.body == {"naam": "Amina El Idrissi", "geboortedatum": "1990-04-12"}
    (lookup,) = graph.user_lookups()
    assert (lookup.tenant, lookup.path, lookup.query) == (ATLAS, "/v1.0/users/els.peeters@atlas.example",
                                                          {"$select": "id"})
    leaks()


async def test_no_match_is_an_empty_list_and_a_given_object_id_needs_no_graph(make, graph):
    adapter = make()
    assert await adapter.find(Identity(naam="Niemand Bekend", geboortedatum=date(1990, 4, 12))) == []
    (samira,) = await adapter.find(Identity(naam="HADDAD, Samira", geboortedatum=date(1996, 5, 5)))
    assert (samira.trajectbegeleider.aad_object_id, samira.trajectbegeleider.tenant_id) == (PIETER, AMAL)
    assert graph.user_lookups() == []


async def test_a_client_without_an_active_trajectory_comes_back_unresolved_and_costs_no_graph_call(make, graph):
    (mohammed,) = await make().find(Identity(naam="Mohammed Ahmadi", geboortedatum=date(1992, 9, 9)))
    assert mohammed.actief_inburgeringstraject is False
    assert mohammed.trajectbegeleider.tenant_id == ATLAS and mohammed.trajectbegeleider.aad_object_id == ""
    assert graph.user_lookups() == []


async def test_lookup_by_klant_id_sees_a_changed_trajectbegeleider_and_a_lost_label(make, directory, graph):
    adapter = make()
    before = await adapter.lookup("K-1001")
    assert before is not None and before.trajectbegeleider.aad_object_id == ELS

    directory.set_trajectbegeleider("K-1001", naam="Pieter De Smet", email="pieter.desmet@amal.example",
                                    agentschap="amal")
    after = await adapter.lookup("K-1001")
    assert after is not None and (after.trajectbegeleider.aad_object_id, after.trajectbegeleider.tenant_id) == (
        PIETER, AMAL)

    directory.set_active("K-1001", False)
    lost = await adapter.lookup("K-1001")
    assert lost is not None and lost.actief_inburgeringstraject is False
    assert [c.path for c in directory.calls] == [f"{PREFIX}/clients/K-1001"] * 3
    assert all(c.body is None for c in directory.calls)  # no name needed for the re-check


async def test_lookup_of_a_client_vdab_no_longer_knows_is_none_but_any_other_404_is_unavailable(make, directory):
    adapter = make()
    assert await adapter.lookup("K-9999") is None
    directory.fail(404, body={"error": {"code": "not_found"}})
    with pytest.raises(DirectoryUnavailable) as caught:
        await adapter.lookup("K-1001")
    assert caught.value.reason == "status_404"


async def test_colleagues_of_an_agency_leave_out_whom_graph_does_not_know(make, directory, graph):
    directory.colleagues["atlas"] = [
        {"naam": "Jan Janssens", "email": "jan.janssens@atlas.example", "agentschap": "atlas"},
        {"naam": "Nog Niet Aangemaakt", "email": "nieuw@atlas.example", "agentschap": "atlas"},
    ]
    graph.add_user(ATLAS, "jan.janssens@atlas.example", "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e09")
    people = await make().colleagues(Agency.ATLAS)
    assert sorted(p.email for p in people) == ["els.peeters@atlas.example", "jan.janssens@atlas.example"]
    assert all(p.tenant_id == ATLAS and p.aad_object_id for p in people)


# -- failures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason", "calls"),
    [
        (dict(status=401), "status_401", 1),
        (dict(status=403), "status_403", 1),
        (dict(status=404), "status_404", 1),
        (dict(status=400), "status_400", 1),
        (dict(status=429, times=2), "status_429", 2),
        (dict(status=429, retry_after=30), "status_429", 1),  # the wait asked for does not fit: no retry
        (dict(status=500, times=2), "status_500", 2),
        (dict(status=503, times=2), "status_503", 2),
        (dict(status="drop", times=2), "unreachable", 2),
        (dict(status="slow", delay=2.0), "timeout", 1),  # a retry after a timeout does not fit the budget
        (dict(status="malformed"), "malformed", 1),
        (dict(status="html"), "malformed", 1),
        (dict(status="wrong_shape"), "wrong_shape", 1),
        (dict(status="unknown_agency"), "unknown_agency", 1),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_each_failure_is_directory_unavailable_with_its_reason(make, directory, leaks, fault, reason, calls):
    directory.fail(**fault)
    error = await unavailable(make())
    assert error.reason == reason
    assert len(directory.calls) == calls
    leaks()


async def test_one_retry_recovers_from_one_fast_failure(make, directory):
    directory.fail(503)
    found = await make().find(AMINA)
    assert [c.klant_id for c in found] == ["K-1001"]
    assert [c.status for c in directory.calls] == [503, 200]


async def test_no_retry_at_all_when_configured_so(make, directory):
    directory.fail(503)
    assert (await unavailable(make(limits=Limits(connect=0.2, total=0.3, budget=1.0, retries=0)))).reason == (
        "status_503")
    assert len(directory.calls) == 1


async def test_a_wrong_token_is_401_and_no_token_at_all_is_token_unavailable(make, directory, leaks):
    assert (await unavailable(make(credential=DirectoryCredential(token="someone-else")))).reason == "status_401"
    assert directory.calls[0].authorized is False
    refused = DirectoryCredential(fail=ClientAuthenticationError("no managed identity"))
    assert (await unavailable(make(credential=refused))).reason == "token_unavailable"
    assert len(directory.calls) == 1  # nothing was sent without a token
    leaks()


class HangingCredential(DirectoryCredential):
    """The managed identity endpoint does not answer."""

    async def get_token(self, *scopes, **kwargs):
        await asyncio.sleep(30)


async def test_a_token_that_does_not_come_is_a_timeout_within_the_budget(make, directory):
    assert (await unavailable(make(credential=HangingCredential()))).reason == "timeout"
    assert directory.calls == []
    broken = DirectoryCredential(fail=RuntimeError("anything at all"))
    assert (await unavailable(make(credential=broken))).reason == "token_unavailable"


async def test_connection_refused_is_unreachable(make, directory):
    dead = directory.base_url
    await directory.stop()
    assert (await unavailable(make(base_url=dead))).reason == "unreachable"


@pytest.mark.parametrize(
    "body",
    [
        {"clients": [{**client("K-1", "Amina El Idrissi", "1990-04-12"), "actief_inburgeringstraject": "ja"}]},
        {"clients": [{**client("K-1", "Amina El Idrissi", "12/04/1990")}]},
        {"clients": [{k: v for k, v in client("K-1", "Amina El Idrissi", "1990-04-12").items()
                      if k != "trajectbegeleider"}]},
        {"clients": [client("K-1", "Amina El Idrissi", "1990-04-12", email="geen e-mail")]},
        {"clients": [client("K 1/../x", "Amina El Idrissi", "1990-04-12")]},
        {"clients": [client("K-1", "Amina El Idrissi", "1990-04-12", aad_object_id="not a guid!")]},
        {"clients": [client(f"K-{n}", "Amina El Idrissi", "1990-04-12") for n in range(51)]},
        {"clients": {"K-1": "Amina El Idrissi"}},
        ["Amina El Idrissi"],
    ],
    ids=["bool-as-text", "date-format", "no-trajectbegeleider", "bad-email", "bad-klant-id", "bad-object-id",
         "too-many", "object-not-list", "list"],
)
async def test_answers_of_another_shape_are_refused_without_quoting_them(make, directory, leaks, body):
    directory.fail("wrong_shape", body=body)
    assert (await unavailable(make())).reason == "wrong_shape"
    leaks()


async def test_an_oversized_answer_is_malformed(make, directory):
    directory.fail("wrong_shape", body={"clients": [], "padding": "x" * (1 << 20)})
    assert (await unavailable(make())).reason == "malformed"


async def test_unknown_properties_are_ignored(make, directory, graph):
    entry = client("K-1001", "Amina El Idrissi", "1990-04-12")
    entry["labels"] = ["actief inburgeringstraject"]
    entry["trajectbegeleider"]["telefoon"] = "+32 3 000 00 00"
    directory.fail("wrong_shape", body={"clients": [entry], "next": None})
    (found,) = await make().find(AMINA)
    assert found.trajectbegeleider.aad_object_id == ELS


# -- the circuit breaker ----------------------------------------------------------------------------


async def test_the_breaker_opens_fails_fast_and_recovers_through_one_probe(make, directory, ticks):
    breaker = CircuitBreaker(failures=3, window=30, open_for=10, now=ticks)
    adapter = make(limits=Limits(connect=0.2, total=0.3, budget=1.0, retries=0), breaker=breaker)
    directory.fail(503, times=4)
    for _ in range(3):
        assert (await unavailable(adapter)).reason == "status_503"
    assert breaker.state == "open"

    for _ in range(5):  # an outage costs one fast refusal per request: nothing reaches the directory
        assert (await unavailable(adapter)).reason == "circuit_open"
    assert len(directory.calls) == 3

    ticks.now += 10  # half-open: the probe fails, the breaker opens again
    assert (await unavailable(adapter)).reason == "status_503"
    assert breaker.state == "open" and (await unavailable(adapter)).reason == "circuit_open"
    assert len(directory.calls) == 4

    ticks.now += 10  # the directory is back: the probe closes the breaker
    assert [c.klant_id for c in await adapter.find(AMINA)] == ["K-1001"]
    assert breaker.state == "closed"
    assert [c.klant_id for c in await adapter.find(AMINA)] == ["K-1001"]


async def test_failures_outside_the_window_do_not_add_up(make, directory, ticks):
    breaker = CircuitBreaker(failures=2, window=30, open_for=10, now=ticks)
    adapter = make(limits=Limits(connect=0.2, total=0.3, budget=1.0, retries=0), breaker=breaker)
    directory.fail(503, times=3)
    await unavailable(adapter)
    ticks.now += 31
    await unavailable(adapter)
    assert breaker.state == "closed"
    await unavailable(adapter)
    assert breaker.state == "open"


async def test_half_open_lets_exactly_one_probe_through(make, directory, ticks):
    breaker = CircuitBreaker(failures=1, window=30, open_for=10, now=ticks)
    adapter = make(limits=Limits(connect=0.2, total=0.5, budget=1.0, retries=0), breaker=breaker)
    directory.fail(503)
    await unavailable(adapter)
    ticks.now += 10
    directory.fail("slow", delay=0.2)
    probe = asyncio.create_task(adapter.find(AMINA))
    await asyncio.sleep(0.05)  # the probe is waiting on the directory
    assert breaker.state == "half_open"
    assert (await unavailable(adapter)).reason == "circuit_open"
    assert [c.klant_id for c in await probe] == ["K-1001"]
    assert breaker.state == "closed" and len(directory.calls) == 2


# -- the budget -------------------------------------------------------------------------------------


def test_the_worst_case_fits_a_card_action_by_configuration():
    assert Limits().worst_case <= INVOKE_BUDGET < 5.0
    assert Limits(total=2.5, budget=4.5).worst_case == 4.5  # two whole attempts do not fit: the deadline caps
    assert Limits(connect=0.5, total=1.0, budget=4.5).worst_case <= 2.25  # two attempts and the pause
    with pytest.raises(ValueError, match="exceeds the 4.5 s"):
        Limits(total=3.0, budget=6.0)
    with pytest.raises(ValueError, match="exceeds the budget"):
        Limits(total=4.0, budget=3.0)
    with pytest.raises(ValueError, match="connect"):
        Limits(connect=4.0, total=3.0)
    with pytest.raises(ValueError, match="retries"):
        Limits(retries=2)


class SlowGraphTokens(FakeCredentials):
    """Entra is slow to give a Graph token: resolving would overrun the budget."""

    def __call__(self, tenant_id):
        credential = super().__call__(tenant_id)

        async def slow(*scopes, **kwargs):
            await asyncio.sleep(30)
        credential.get_token = slow
        return credential


async def test_resolution_gets_only_what_is_left_of_the_budget(directory, graph, ticks):
    installer = GraphInstaller(graph.base_url, SlowGraphTokens(), TEAMS_APP_ID)
    adapter = HttpDirectory(directory.base_url, DIRECTORY_SCOPE, RecipientResolver(installer, TENANTS, now=ticks),
                            credential=DirectoryCredential(), limits=FAST)
    try:
        with pytest.raises(RecipientUnresolved) as caught:
            await asyncio.wait_for(adapter.find(AMINA), timeout=FAST.budget + 1.0)  # a guard, not the assertion
        assert caught.value.reason == "timeout"
    finally:
        await adapter.close()
        await installer.close()


async def test_an_exhausted_budget_is_a_timeout_without_a_graph_call(graph):
    resolver = RecipientResolver(GraphInstaller(graph.base_url, FakeCredentials(), TEAMS_APP_ID), TENANTS)
    with pytest.raises(RecipientUnresolved) as caught:
        await resolver.object_id(ATLAS, "els.peeters@atlas.example", timeout=0)
    assert caught.value.reason == "timeout" and graph.calls == []


# -- recipient resolution ---------------------------------------------------------------------------


async def test_resolved_ids_are_cached_for_the_ttl_and_client_data_is_not(make, directory, graph, ticks):
    adapter = make(ttl=600)
    await adapter.find(AMINA)
    await adapter.find(AMINA)
    assert len(graph.user_lookups()) == 1 and len(directory.searches()) == 2  # each search asks the directory
    ticks.now += 601
    await adapter.find(AMINA)
    assert len(graph.user_lookups()) == 2


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda graph: graph.users.clear(), "user_not_found"),
        (lambda graph: graph.fail("GET", "/users/", 503), "graph_status_503"),
        (lambda graph: graph.fail("GET", "/users/", 403), "graph_status_403"),
        (lambda graph: graph.fail("GET", "/users/", "drop", times=5), "graph_unreachable"),
        (lambda graph: graph.fail("GET", "/users/", 200, body={"value": []}), "graph_malformed"),
        (lambda graph: graph.tenants.discard(ATLAS), "graph_status_401"),
    ],
    ids=["not-found", "503", "403", "drop", "no-id", "token-refused"],
)
async def test_a_recipient_graph_cannot_resolve_is_recipient_unresolved(make, graph, leaks, setup, reason):
    setup(graph)
    with pytest.raises(RecipientUnresolved) as caught:
        await make().find(AMINA)
    assert caught.value.reason == reason
    assert not any(value in str(caught.value) for value in CLIENT_DATA)
    leaks()


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (dict(with_graph=False), "graph_not_configured"),
        (dict(tenants={"atlas": frozenset({ATLAS, "2b7d0c6e-1f4a-4b8e-9c3d-aaaa0000000f"})}), "tenant_ambiguous"),
        (dict(tenants={}), "tenant_unknown"),
    ],
)
async def test_without_graph_or_a_tenant_the_recipient_is_unresolved(make, graph, kwargs, reason):
    with pytest.raises(RecipientUnresolved) as caught:
        await make(**kwargs).find(AMINA)
    assert caught.value.reason == reason
    assert graph.user_lookups() == []


async def test_the_upn_is_used_when_it_differs_from_the_e_mail(make, directory, graph):
    directory.set_trajectbegeleider("K-1001", naam="Els Peeters", email="els.peeters@atlas.example",
                                    upn="epeeters@atlasantwerpen.onmicrosoft.com", agentschap="atlas")
    graph.add_user(ATLAS, "EPeeters@atlasantwerpen.onmicrosoft.com", "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e0a")
    (found,) = await make().find(AMINA)
    assert found.trajectbegeleider.aad_object_id == "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e0a"
    assert found.trajectbegeleider.email == "els.peeters@atlas.example"


async def test_a_directory_resolution_failure_does_not_count_against_the_directory(make, graph, ticks):
    breaker = CircuitBreaker(failures=1, window=30, open_for=10, now=ticks)
    graph.users.clear()
    adapter = make(breaker=breaker)
    with pytest.raises(RecipientUnresolved):
        await adapter.find(AMINA)
    assert breaker.state == "closed"


async def test_close_ends_the_session_and_leaves_an_injected_credential_alone(make):
    credential = DirectoryCredential()
    adapter = make(credential=credential)
    await adapter.find(AMINA)
    session = adapter._session
    await adapter.close()
    assert session is not None and session.closed and not credential.closed


# -- wiring (bot/bootstrap.py) ----------------------------------------------------------------------


def settings_for(tmp_path, **env) -> Settings:
    values = {"BOT_STORE": f"sqlite:///{tmp_path / 'bot.db'}", "BOT_DATA_KEY": DATA_KEY, **env}
    return Settings(_env_file=None, **values)


async def test_the_server_uses_vdabs_system_when_its_url_is_set_and_closes_it(tmp_path, directory):
    credential = DirectoryCredential()
    settings = settings_for(tmp_path, BOT_DIRECTORY_URL=directory.base_url, BOT_DIRECTORY_SCOPE=DIRECTORY_SCOPE,
                            BOT_DIRECTORY_FILE=str(tmp_path / "absent.json"), BOT_DIRECTORY_TIMEOUT_SECONDS="2",
                            BOT_AGENCY_TENANTS=f"atlas={ATLAS}")
    runtime = await build(settings, directory_credential=credential)
    try:
        adapter = runtime.service.directory
        assert isinstance(adapter, HttpDirectory) and adapter.limits.total == 2.0
        assert adapter.worst_case_seconds <= INVOKE_BUDGET
        (samira,) = await adapter.find(Identity(naam="Samira Haddad", geboortedatum=date(1996, 5, 5)))
        assert samira.trajectbegeleider.aad_object_id == PIETER and credential.scopes == [(DIRECTORY_SCOPE,)]
        session = adapter._session
    finally:
        await runtime.close()
    assert session is not None and session.closed


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOT_DIRECTORY_URL": "https://klantvolgsysteem.example/api"}, "needs BOT_DIRECTORY_SCOPE"),
        ({"BOT_DIRECTORY_URL": "http://klantvolgsysteem.example/api", "BOT_DIRECTORY_SCOPE": DIRECTORY_SCOPE},
         "expected https://"),
        ({"BOT_DIRECTORY_URL": "https://klantvolgsysteem.example/api", "BOT_DIRECTORY_SCOPE": DIRECTORY_SCOPE,
          "BOT_DIRECTORY_TIMEOUT_SECONDS": "4", "BOT_DIRECTORY_BUDGET_SECONDS": "3"}, "exceeds the budget"),
        ({"BOT_DIRECTORY_URL": "https://klantvolgsysteem.example/api", "BOT_DIRECTORY_SCOPE": DIRECTORY_SCOPE,
          "BOT_DIRECTORY_CONNECT_TIMEOUT_SECONDS": "2", "BOT_DIRECTORY_TIMEOUT_SECONDS": "1"}, "connect"),
    ],
    ids=["no-scope", "plain-http", "attempt-over-budget", "connect-over-total"],
)
def test_directory_settings_that_cannot_work_are_refused_naming_the_setting(tmp_path, env, message):
    with pytest.raises(ConfigurationError, match=message) as caught:
        check_directory(settings_for(tmp_path, **env))
    assert "BOT_DIRECTORY" in str(caught.value)


def test_a_budget_over_what_a_card_action_allows_is_refused_by_the_settings(tmp_path):
    with pytest.raises(ValidationError, match="BOT_DIRECTORY_BUDGET_SECONDS"):
        settings_for(tmp_path, BOT_DIRECTORY_BUDGET_SECONDS="6")


def test_outside_local_mode_the_demo_directory_is_refused_naming_the_setting(tmp_path):
    production = {"MicrosoftAppId": "11111111-1111-4111-8111-111111111111"}
    for demo in ("examples/clients.json", str(DEMO_DIRECTORY)):
        with pytest.raises(ConfigurationError, match="BOT_DIRECTORY_URL is required outside local mode"):
            refuse_demo_directory(settings_for(tmp_path, BOT_DIRECTORY_FILE=demo, **production))
    with pytest.raises(ConfigurationError, match="BOT_DIRECTORY_URL"):
        refuse_demo_directory(settings_for(tmp_path, **production))  # nothing configured: the default is the demo
    export = tmp_path / "klanten.json"
    export.write_text('{"clients": []}')
    refuse_demo_directory(settings_for(tmp_path, BOT_DIRECTORY_FILE=str(export), **production))
    refuse_demo_directory(settings_for(tmp_path, BOT_DIRECTORY_URL="https://k.example", **production))
    refuse_demo_directory(settings_for(tmp_path))  # local mode: the demo is what it is for


# -- the contract document ----------------------------------------------------------------------------


def schema_blocks(text: str) -> dict[str, list[str]]:
    """``components.schemas`` of the OpenAPI document, each as its lines (a YAML subset, no parser needed)."""
    lines = text.split("\n")
    start = lines.index("  schemas:") + 1
    blocks: dict[str, list[str]] = {}
    current = None
    for line in lines[start:]:
        if line and not line.startswith("    "):
            break
        if line.startswith("    ") and not line.startswith("     ") and line.endswith(":"):
            current = line.strip()[:-1]
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line)
    return blocks


def required_and_properties(block: list[str]) -> tuple[set[str], set[str]]:
    required = next((line.split("[", 1)[1].rstrip("]") for line in block if line.startswith("      required: [")), "")
    properties = {line.strip()[:-1] for line in block
                  if line.startswith("        ") and not line.startswith("         ") and line.endswith(":")}
    return {name.strip() for name in required.split(",") if name.strip()}, properties


@pytest.mark.parametrize(
    ("schema", "model"),
    [("Client", WireClient), ("Trajectbegeleider", WireTrajectbegeleider), ("SearchResult", WireSearchResult),
     ("TrajectbegeleiderList", WireColleagues)],
)
def test_the_adapter_reads_exactly_what_the_openapi_document_promises(schema, model):
    text = (Path(__file__).resolve().parents[2] / "docs" / "client-directory.openapi.yaml").read_text()
    assert text.startswith("openapi: 3.1.0\n")
    for path in ("  /clients/search:\n    post:", "  /clients/{klant_id}:\n    get:",
                 "  /agencies/{agentschap}/trajectbegeleiders:\n    get:"):
        assert path in text
    required, properties = required_and_properties(schema_blocks(text)[schema])
    fields = model.model_fields
    assert properties == set(fields)
    assert required == {name for name, field in fields.items() if field.is_required()}


def test_the_stand_in_searches_with_the_body_the_document_describes():
    text = (Path(__file__).resolve().parents[2] / "docs" / "client-directory.openapi.yaml").read_text()
    required, properties = required_and_properties(schema_blocks(text)["Search"])
    assert required == properties == {"naam", "geboortedatum"}


# -- through the bot's endpoint ---------------------------------------------------------------------


@dataclass
class HttpDirectoryHarness(Harness):
    """The test harness with VDAB's system as the stand-in's token holder (``build(directory_credential=…)``)."""

    directory_credential: Any = None

    async def start(self) -> None:
        self.runtime = await build(self.settings(), clock=self.clock, graph_credential_for=self.graph_credentials,
                                   directory_credential=self.directory_credential)
        self.server = TestServer(self.runtime.app, host="127.0.0.1")
        await self.server.start_server()
        self.http = self.http or ClientSession()


async def test_identification_over_the_endpoint_names_whom_vdabs_system_names_now(tmp_path, directory, graph, leaks):
    env = {"BOT_DIRECTORY_URL": directory.base_url, "BOT_DIRECTORY_SCOPE": DIRECTORY_SCOPE,
           "BOT_AGENCY_TENANTS": f"atlas={ATLAS},amal={AMAL}", "BOT_GRAPH_CREDENTIAL": "secret",
           "BOT_GRAPH_BASE_URL": graph.base_url, "BOT_TEAMS_APP_ID": TEAMS_APP_ID}
    async with FakeConnector() as connector:
        harness = HttpDirectoryHarness(tmp_path, connector, FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
                                       env=env, graph_credentials=FakeCredentials(),
                                       directory_credential=DirectoryCredential())
        handler = capture_logs(harness.log_stream)
        logging.getLogger().addHandler(handler)
        await harness.start()
        try:
            counsellor = harness.user("aad-counsellor-1", "tenant-vdab", "Bemiddelaar")
            await counsellor.say("terugkoppeling")
            card = await counsellor.click("identificeer", {"naam": "El Idrissi Amina", "geboortedatum": "1990-04-12"})
            assert "Els Peeters, trajectbegeleider bij Atlas Antwerpen" in " ".join(texts(card))
            assert [c.tenant for c in graph.user_lookups()] == [ATLAS]

            directory.set_trajectbegeleider("K-1001", naam="Pieter De Smet", email="pieter.desmet@amal.example",
                                            agentschap="amal")
            await counsellor.say("terugkoppeling")
            card = await counsellor.click("identificeer", {"naam": "Amina El Idrissi", "geboortedatum": "1990-04-12"})
            assert "Pieter De Smet, trajectbegeleider bij Amal" in " ".join(texts(card))
            assert all(c.authorized for c in directory.calls) and len(directory.searches()) == 2
        finally:
            await harness.close()
            logging.getLogger().removeHandler(handler)
    logged = harness.all_logs()
    assert "client directory unavailable" not in logged
    assert logged and not any(value in logged for value in CLIENT_DATA)
    leaks()


async def test_colleagues_when_graph_fails_is_one_refusal(make, directory, graph):
    directory.colleagues["atlas"] = [
        {"naam": f"Collega {n}", "email": f"collega{n}@atlas.example", "agentschap": "atlas"} for n in range(20)
    ]
    graph.fail("GET", "/users/", 503, times=100)
    with pytest.raises(RecipientUnresolved) as caught:
        await make().colleagues(Agency.ATLAS)
    assert caught.value.reason == "graph_status_503"
