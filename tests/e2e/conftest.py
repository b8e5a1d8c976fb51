import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.clock import FixedClock
from tests.support.cards import assert_valid_card
from tests.support.connector import FakeConnector
from tests.support.teams import Harness, TeamsUser, capture_logs

BRUSSELS = ZoneInfo("Europe/Brussels")
VDAB = "tenant-vdab"
ATLAS = "2b7d0c6e-1f4a-4b8e-9c3d-aaaa00000002"
AMAL = "2b7d0c6e-1f4a-4b8e-9c3d-aaaa00000003"
ELS = "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e01"
PIETER = "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e02"
HOSTS = ("botbuilder", "agents")


@pytest.fixture(scope="session", autouse=True, params=HOSTS)
def bot_host(request):
    """Every e2e test runs on both Teams hosts (issue 16); the test id names the host. The bots
    it starts, in this process (``Harness``) or as ``python -m bot`` (``Bot``), take it from
    ``BOT_HOST`` unless the test's own settings name one. Session-scoped, so that pytest runs all
    of one host's tests, then the other's, and a module may share one bot per host."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOT_HOST", request.param)
        yield request.param


def assert_host(harness: Harness, host: str) -> None:
    """The bot under test was really assembled as ``host``: its host object and its messenger."""
    assert harness.runtime is not None
    messenger = type(harness.runtime.service.messenger).__name__
    built = type(harness.runtime.host).__name__
    assert (built, messenger) == {"botbuilder": ("TeamsHost", "TeamsMessenger"),
                                  "agents": ("AgentsHost", "AgentsMessenger")}[host]


@pytest.fixture
async def connector():
    async with FakeConnector() as running:
        yield running


@pytest.fixture
def bot_env() -> dict[str, str]:
    """Extra settings for the bot under test; a test may override this fixture."""
    return {}


@pytest.fixture
async def harness(tmp_path, connector, bot_env, bot_host, caplog):
    caplog.set_level(logging.DEBUG)
    h = Harness(tmp_path, connector, FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=BRUSSELS)), env=bot_env)
    handler = capture_logs(h.log_stream)
    logging.getLogger().addHandler(handler)
    await h.start()
    assert_host(h, bot_env.get("BOT_HOST", bot_host))
    yield h
    await h.close()
    for card in connector.all_cards():  # incl. the recipient's card and its content-free overwrite
        assert_valid_card(card)
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def counsellor(harness) -> TeamsUser:
    return harness.user("aad-bram", VDAB, "Bram Bemiddelaar")


@pytest.fixture
def els(harness) -> TeamsUser:
    """Trajectbegeleider at Atlas: Amina El Idrissi's and Ali Hassan (1985)'s."""
    return harness.user(ELS, ATLAS, "Els Peeters")


@pytest.fixture
def pieter(harness) -> TeamsUser:
    return harness.user(PIETER, AMAL, "Pieter De Smet")
