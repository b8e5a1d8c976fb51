"""Keys against records at start-up: a bot whose keys cannot open the stored records refuses to
start, with one line that names the missing key by its id (never a record's content), instead of
starting and failing every action on those records; with that key among the previous ones it starts.
The sweep still runs on the healthy records (it reports and skips the others)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from bot.adapters.clock import FixedClock
from bot.adapters.crypto import decode_key, key_id_of
from bot.bootstrap import ConfigurationError, build
from tests.e2e.conftest import BRUSSELS, VDAB
from tests.e2e.flows import identify, receive, send
from tests.support.process import ROOT, Bot
from tests.support.teams import DATA_KEY, Harness

OTHER_KEY = base64.b64encode(bytes(range(200, 232))).decode()
KEY_A = key_id_of(decode_key(DATA_KEY))
PRIVATE = ("Amina", "El Idrissi", "1990", "Yonas", "Tesfaye", "Magazijnmedewerker")


@pytest.fixture(scope="module")
def bound() -> float:
    """2 s on an idle machine, of which about 1 s is importing the bot; on a machine busy with other
    tests the import alone can take longer, so the bound grows with it (never below 2 s)."""
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", "import bot.__main__"], cwd=ROOT, check=True, timeout=60)
    return max(2.0, 2 * (time.monotonic() - began))


async def records_under_key_a(harness, counsellor, els) -> int:
    """One pending handoff and one open draft, sealed under DATA_KEY; the harness stopped after."""
    await send(counsellor)
    receive(els)
    await identify(counsellor, "Yonas Tesfaye", "1987-11-03")  # a draft, left open
    count = (await harness.runtime.store.sealed_key_ids())[KEY_A]
    assert count == 2
    await harness.stop()
    return count


def run(tmp: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    bot = Bot(tmp, None, **{"BOT_LOG_LEVEL": "INFO", **env})
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp, env=bot.env, capture_output=True,
                          text=True, timeout=60)
    return done, time.monotonic() - began


async def test_another_key_alone_is_refused_naming_the_missing_key(harness, counsellor, els, bound):
    count = await records_under_key_a(harness, counsellor, els)
    before = harness.db_bytes()
    done, seconds = run(harness.tmp, BOT_DATA_KEY=OTHER_KEY)
    assert done.returncode != 0
    assert seconds < bound, f"took {seconds:.2f} s (bound {bound:.2f} s)"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout and "listening" not in done.stderr + done.stdout
    assert (f"BOT_DATA_KEYS_PREVIOUS must include the key with id {KEY_A} (records sealed under it: {count})"
            in lines[0])
    assert key_id_of(decode_key(OTHER_KEY)) in lines[0]  # and says which key it has now
    for private in PRIVATE:
        assert private not in done.stderr + done.stdout
    assert harness.db_bytes() == before  # refused before writing anything


async def test_with_the_old_key_among_the_previous_ones_it_starts(harness, counsellor, els, connector):
    await records_under_key_a(harness, counsellor, els)
    bot = Bot(harness.tmp, connector, BOT_DATA_KEY=OTHER_KEY, BOT_DATA_KEYS_PREVIOUS=DATA_KEY,
              BOT_HMAC_KEY=DATA_KEY)
    bot.start()  # waits for /healthz; fails if the process ended
    try:
        assert bot.process is not None and bot.process.poll() is None
    finally:
        bot.stop()
    assert bot.process.returncode == 0


async def test_the_sweep_runs_on_without_the_key_and_says_which_one(harness, counsellor, els):
    """Reminders and purges of healthy records must not wait for an operator to find a lost key."""
    await records_under_key_a(harness, counsellor, els)
    done, _ = run(harness.tmp, "sweep", BOT_DATA_KEY=OTHER_KEY)
    assert done.returncode == 0, done.stderr
    assert "done" in json.loads(done.stdout.strip().splitlines()[-1])
    assert KEY_A in done.stderr and "Traceback" not in done.stderr
    for private in PRIVATE:
        assert private not in done.stderr + done.stdout


@pytest.mark.parametrize("backend", ["sqlite", "azure-tables"])
async def test_both_stores_count_records_by_key_id_and_build_refuses(backend, tmp_path, request, connector):
    """``Store.sealed_key_ids`` on each backend: the records holding client data, by the key that
    sealed them (a purged draft no longer counts); ``build`` refuses a key ring without that key."""
    env = {}
    if backend == "azure-tables":
        env = {"BOT_STORE": "azure-tables", "BOT_STORE_CONNECTION_STRING": request.getfixturevalue("azurite")
               .connection_string, "BOT_STORE_TABLE": request.getfixturevalue("table_name")}
    h = Harness(tmp_path, connector, FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=BRUSSELS)), env=env)
    await h.start()
    try:
        assert h.runtime is not None and await h.runtime.store.sealed_key_ids() == {}
        bram = h.user("aad-bram", VDAB, "Bram Bemiddelaar")
        await identify(bram, "Amina El Idrissi", "1990-04-12")
        assert await h.runtime.store.sealed_key_ids() == {KEY_A: 1}
        await bram.click("annuleer")
        assert await h.runtime.store.sealed_key_ids() == {}
        await identify(bram, "Yonas Tesfaye", "1987-11-03")
        await identify(h.user("aad-sofie", VDAB, "Sofie Bemiddelaar"), "Amina El Idrissi", "1990-04-12")
        assert await h.runtime.store.sealed_key_ids() == {KEY_A: 2}
    finally:
        await h.close()
    h.env["BOT_DATA_KEY"] = OTHER_KEY
    with pytest.raises(ConfigurationError) as refused:
        await build(h.settings())
    assert f"must include the key with id {KEY_A} (records sealed under it: 2)" in str(refused.value)
