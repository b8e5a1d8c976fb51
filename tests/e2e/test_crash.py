"""Crash safety with real processes: ``python -m bot`` killed with SIGKILL mid-flow, restarted,
and ``python -m bot sweep`` finishing the work. Nothing is lost, nothing is sent twice, and after
the purge no client data is left in the database file or in anything the processes wrote."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.adapters.clock import FixedClock
from bot.domain.calendar import WorkingCalendar
from tests.e2e.conftest import ATLAS, ELS, VDAB
from tests.e2e.flows import CONTENT, identify
from tests.support.cards import texts
from tests.support.connector import FakeConnector
from tests.support.process import Bot
from tests.support.teams import Harness

NAME = "Amina El Idrissi"
PRIVATE = (NAME, "Amina", "Idrissi", "1990-04-12", "12/04/1990", CONTENT["jobdoelwit"])


@pytest.fixture
async def world(tmp_path):
    async with FakeConnector() as connector:
        bot = Bot(tmp_path, connector)
        harness = Harness(tmp_path, connector, FixedClock(datetime.now(UTC)), external_url=bot.url)
        try:
            yield bot, harness, connector
        finally:
            bot.stop()
            if harness.http:
                await harness.http.close()


async def write_and_press_verstuur(harness, counsellor) -> None:
    """The counsellor's whole flow; the bot dies while handling verstuur, so Teams gets no answer."""
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    with pytest.raises(aiohttp.ClientError):
        await counsellor.click("verstuur")


def content_cards(connector: FakeConnector, conversation: str) -> list[dict]:
    live = connector.live_activities(conversation)
    return [a for a in live for att in a.get("attachments") or [] if NAME in json.dumps(att["content"])]


def assert_nothing_private_left(bot: Bot) -> None:
    data, logged = bot.db_bytes(), bot.output.read_text()
    for private in PRIVATE:
        assert private.encode() not in data, private
        assert private not in logged, private


async def test_killed_between_recording_and_sending(world):
    bot, harness, connector = world
    counsellor, els = harness.user("aad-bram", VDAB, "Bram"), harness.user(ELS, ATLAS, "Els Peeters")
    bot.start()
    connector.fail(method="POST", path_is="/v3/conversations", status="crash", hook=bot.kill)
    await write_and_press_verstuur(harness, counsellor)
    assert connector.cards_to(ELS) == []

    bot.start()  # restarted on the same database
    again = await counsellor.click("verstuur")  # Teams retries the invoke that timed out
    assert texts(again)[0] == "Terugkoppeling wordt verstuurd"
    assert connector.cards_to(ELS) == []

    assert await bot.sweep(datetime.now(UTC)) == {}  # the dead process's lease still holds
    assert await bot.sweep(datetime.now(UTC) + timedelta(minutes=3)) == {"deliver": 1}
    assert await bot.sweep(datetime.now(UTC) + timedelta(minutes=6)) == {}
    assert len(connector.cards_to(ELS)) == 1
    assert "alsnog aangekomen" in counsellor.last_text()

    els.adopt(connector.conversation_for(ELS), *connector.last_card(connector.conversation_for(ELS)))
    assert len(content_cards(connector, els.conversation_id)) == 1
    await els.click("overgezet")
    assert content_cards(connector, els.conversation_id) == []
    assert_nothing_private_left(bot)


async def test_killed_between_sending_and_storing_the_activity_id(world):
    bot, harness, connector = world
    counsellor, els = harness.user("aad-bram", VDAB, "Bram"), harness.user(ELS, ATLAS, "Els Peeters")
    bot.start()
    connector.fail(method="POST", path_contains=f"{ELS}-", status="crash-after", hook=bot.kill)
    await write_and_press_verstuur(harness, counsellor)
    assert len(connector.cards_to(ELS)) == 1  # the card went out; the bot never learnt its id

    bot.start()
    assert await bot.sweep(datetime.now(UTC) + timedelta(minutes=3)) == {"deliver": 1}
    conversation = connector.conversation_for(ELS)
    els.adopt(conversation, *connector.last_card(conversation))
    # Teams refreshes each card as Els opens the chat: only the recorded copy keeps its content.
    shown = await els.look()
    assert len(shown) == 2 and len(content_cards(connector, conversation)) == 1
    stray = next(c for c in shown if NAME not in json.dumps(c))
    assert "vervangen door een nieuwer bericht" in " ".join(texts(stray))

    await els.click("overgezet")
    assert content_cards(connector, conversation) == []
    assert [c for c in await els.look() if NAME in json.dumps(c)] == []
    assert_nothing_private_left(bot)


async def test_sweeps_in_separate_processes_at_the_same_moment_remind_once(world):
    bot, harness, connector = world
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    bot.start()
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    assert texts(await counsellor.click("verstuur"))[0] == "Terugkoppeling verstuurd"
    bot.stop()
    later = WorkingCalendar().add_working_days(datetime.now(UTC), 3)  # between the 1st and 2nd reminder
    results = await asyncio.gather(*(bot.sweep(later) for _ in range(4)))
    assert sum(r.get("remind", 0) for r in results) == 1, results
    conversation = connector.conversation_for(ELS)
    assert sum(c.body.get("summary", "").startswith("Herinnering") for c in connector.sent_to(conversation)) == 1


async def test_the_server_sweeps_on_its_own_timer(tmp_path):
    async with FakeConnector() as connector:
        bot = Bot(tmp_path, connector, BOT_SWEEP_INTERVAL_SECONDS="1", BOT_DELIVERY_RETRY_BASE_SECONDS="1")
        harness = Harness(tmp_path, connector, FixedClock(datetime.now(UTC)), external_url=bot.url)
        counsellor = harness.user("aad-bram", VDAB, "Bram")
        try:
            bot.start()
            await identify(counsellor, NAME, "1990-04-12")
            await counsellor.click("bekijk", CONTENT)
            connector.fail(method="POST", path_is="/v3/conversations", status=503)
            assert texts(await counsellor.click("verstuur"))[0] == "Terugkoppeling wordt verstuurd"
            await connector.wait_for(lambda c: c.cards_to(ELS), timeout=10)
            assert len(connector.cards_to(ELS)) == 1
        finally:
            bot.stop()
            if harness.http:
                await harness.http.close()
