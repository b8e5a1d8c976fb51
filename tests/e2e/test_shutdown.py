"""SIGTERM and SIGINT, as ``docker stop`` or Kubernetes send them: ``python -m bot`` stops accepting,
lets the request in flight and the running sweep finish within BOT_SHUTDOWN_TIMEOUT_SECONDS,
then exits 0. Nothing is lost: what was pressed is delivered, once."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.clock import FixedClock
from tests.e2e.conftest import ELS, VDAB
from tests.e2e.flows import CONTENT, identify
from tests.support.cards import action_data, texts
from tests.support.connector import FakeConnector
from tests.support.process import Bot
from tests.support.teams import Harness

NAME = "Amina El Idrissi"
BOUND = 6.0


@pytest.fixture
async def world(tmp_path):
    async with FakeConnector() as connector:
        bot = Bot(tmp_path, connector, BOT_SHUTDOWN_TIMEOUT_SECONDS=str(BOUND))
        harness = Harness(tmp_path, connector, FixedClock(datetime.now(UTC)), external_url=bot.url)
        try:
            yield bot, harness, connector
        finally:
            bot.stop()
            if harness.http:
                await harness.http.close()


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def exit_code(bot: Bot, within: float) -> tuple[int, float]:
    assert bot.process is not None
    began = time.monotonic()
    while bot.process.poll() is None:
        assert time.monotonic() - began < within, "the bot did not exit within the bound"
        await asyncio.sleep(0.02)
    return bot.process.returncode, time.monotonic() - began


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_during_a_slow_verstuur_lets_it_finish_then_exits_0(world, signum):
    bot, harness, connector = world
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    bot.start()
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    connector.fail(method="POST", path_is="/v3/conversations", status="delay", seconds=2)
    pressed = asyncio.create_task(counsellor.click("verstuur"))
    await connector.wait_for(lambda c: [x for x in c.calls if x.fault == "delay"], timeout=10)
    assert bot.process is not None
    signalled = time.monotonic()
    bot.process.send_signal(signum)
    await asyncio.sleep(0.3)
    assert not accepts(bot.port)  # stopped accepting, while the verstuur is still in flight
    answer = await pressed  # the request in flight completes, with its real answer
    assert texts(answer)[0] == "Terugkoppeling verstuurd"
    code, _ = await exit_code(bot, BOUND + 2)
    assert code == 0 and time.monotonic() - signalled < BOUND
    assert len(connector.cards_to(ELS)) == 1
    log = bot.output.read_text()
    assert '"msg": "stopping"' in log and '"msg": "stopped"' in log and "Traceback" not in log

    # nothing lost, nothing twice: a sweep later finds nothing left to deliver
    assert await bot.sweep(datetime.now(UTC) + timedelta(minutes=10)) == {}
    assert len(connector.cards_to(ELS)) == 1


async def test_sigterm_during_the_servers_sweep_lets_the_delivery_finish(tmp_path):
    async with FakeConnector() as connector:
        bot = Bot(tmp_path, connector, BOT_SWEEP_INTERVAL_SECONDS="1", BOT_DELIVERY_RETRY_BASE_SECONDS="1",
                  BOT_SHUTDOWN_TIMEOUT_SECONDS=str(BOUND))
        harness = Harness(tmp_path, connector, FixedClock(datetime.now(UTC)), external_url=bot.url)
        counsellor = harness.user("aad-bram", VDAB, "Bram")
        try:
            bot.start()
            await identify(counsellor, NAME, "1990-04-12")
            await counsellor.click("bekijk", CONTENT)
            connector.fail(method="POST", path_is="/v3/conversations", status=503)  # queued for the sweep
            connector.fail(method="POST", path_is="/v3/conversations", status="delay", seconds=2)
            assert texts(await counsellor.click("verstuur"))[0] == "Terugkoppeling wordt verstuurd"
            # the server's own timer picks it up; the Connector is slow to answer
            await connector.wait_for(lambda c: [x for x in c.calls if x.fault == "delay"], timeout=15)
            assert bot.process is not None and connector.cards_to(ELS) == []
            bot.process.send_signal(signal.SIGTERM)
            code, seconds = await exit_code(bot, BOUND + 2)
            assert code == 0 and seconds < BOUND
            assert len(connector.cards_to(ELS)) == 1  # the sweep's delivery finished before the exit
            assert await bot.sweep(datetime.now(UTC) + timedelta(minutes=10)) == {}
            assert len(connector.cards_to(ELS)) == 1
        finally:
            bot.stop()
            if harness.http:
                await harness.http.close()


async def test_an_idle_bot_stops_at_once(world):
    bot, _, _ = world
    bot.start()
    assert bot.process is not None
    bot.process.send_signal(signal.SIGTERM)
    code, seconds = await exit_code(bot, BOUND)
    assert code == 0 and seconds < 2.0


async def test_a_request_slower_than_the_bound_is_cut_and_delivered_later(tmp_path):
    """A bound is a bound: the process leaves in time; the pressed verstuur is recorded, and the
    next sweep delivers it, once."""
    async with FakeConnector() as connector:
        bot = Bot(tmp_path, connector, BOT_SHUTDOWN_TIMEOUT_SECONDS="1")
        harness = Harness(tmp_path, connector, FixedClock(datetime.now(UTC)), external_url=bot.url)
        counsellor = harness.user("aad-bram", VDAB, "Bram")
        try:
            bot.start()
            await identify(counsellor, NAME, "1990-04-12")
            await counsellor.click("bekijk", CONTENT)
            connector.fail(method="POST", path_is="/v3/conversations", status="delay", seconds=3.5)
            pressed = asyncio.create_task(harness.post(counsellor.activity(
                type="invoke", name="adaptiveCard/action", replyToId=counsellor.card_activity_id,
                value={"action": {"type": "Action.Execute", "verb": "verstuur",
                                  "data": action_data(counsellor.card, "verstuur")}, "trigger": "manual"})))
            await connector.wait_for(lambda c: [x for x in c.calls if x.fault == "delay"], timeout=10)
            assert bot.process is not None
            bot.process.send_signal(signal.SIGTERM)
            code, seconds = await exit_code(bot, 4)
            assert code == 0 and seconds < 3.0
            try:
                await pressed
            except Exception:  # noqa: BLE001 - the connection was cut: Teams shows an error and may retry
                pass
            await asyncio.sleep(4)  # the delayed call the bot gave up on lands (or not) at the Connector
            delivered = len(connector.cards_to(ELS))
            done = await bot.sweep(datetime.now(UTC) + timedelta(minutes=10))
            assert delivered + done.get("deliver", 0) >= 1
            await bot.sweep(datetime.now(UTC) + timedelta(minutes=30))
            assert len(_live_content(connector)) == 1  # one card with the content, never two
        finally:
            bot.stop()
            if harness.http:
                await harness.http.close()


def _live_content(connector: FakeConnector) -> list[dict]:
    conversation = connector.conversation_for(ELS)
    if conversation is None:
        return []
    return [a for a in connector.live_activities(conversation)
            if NAME in str([att.get("content") for att in a.get("attachments") or []])]
