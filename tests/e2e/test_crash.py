"""Crash safety with real processes: ``python -m bot`` killed with SIGKILL mid-flow, restarted,
and ``python -m bot sweep`` finishing the work. Nothing is lost, nothing is sent twice, and after
the purge no client data is left in the database file or in anything the processes wrote."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.adapters.clock import FixedClock
from bot.domain.calendar import WorkingCalendar
from tests.e2e.conftest import ATLAS, ELS, VDAB
from tests.e2e.flows import CONTENT, identify
from tests.support.cards import texts
from tests.support.connector import FakeConnector
from tests.support.teams import DATA_KEY, Harness

ROOT = Path(__file__).resolve().parents[2]
NAME = "Amina El Idrissi"
PRIVATE = (NAME, "Amina", "Idrissi", "1990-04-12", "12/04/1990", CONTENT["jobdoelwit"])


class Bot:
    """``python -m bot`` and ``python -m bot sweep`` as separate processes on one database."""

    def __init__(self, tmp: Path, connector: FakeConnector, **env: str) -> None:
        self.tmp, self.port = tmp, _free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "Microsoft", "HOST", "PORT"))}
        self.env = {
            **clean, "PYTHONPATH": str(ROOT), "PORT": str(self.port),
            "BOT_STORE": f"sqlite:///{tmp / 'data' / 'terugkoppeling.db'}",
            "BOT_TEAMS_SERVICE_URL": connector.url, "BOT_DATA_KEY": DATA_KEY,
            "BOT_DIRECTORY_FILE": str(ROOT / "examples" / "clients.json"), "BOT_LOG_LEVEL": "DEBUG",
            "BOT_SWEEP_INTERVAL_SECONDS": "0", **env,
        }
        self.process: subprocess.Popen | None = None
        self.output = tmp / "bot-output.log"  # everything every process wrote, for the privacy check

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/messages"

    def start(self) -> None:
        with self.output.open("a") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=self.tmp, env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                assert self.process.poll() is None, self.output.read_text()
                assert time.monotonic() < deadline, "the bot did not come up"
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, no goodbye."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
        if self.process:
            self.process.wait(timeout=10)

    async def sweep(self, now: datetime) -> dict[str, int]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "sweep", "--now", now.isoformat(), cwd=self.tmp, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        with self.output.open("ab") as log:
            log.write(err)
        assert process.returncode == 0, err.decode()
        return json.loads(out.decode().strip().splitlines()[-1])["done"]

    def db_bytes(self) -> bytes:
        path = self.tmp / "data" / "terugkoppeling.db"
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    assert "vervangen door een nieuwere kaart" in " ".join(texts(stray))

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
    assert sum(c.body.get("text", "").startswith("Herinnering") for c in connector.sent_to(conversation)) == 1


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
