"""Store faults are a retryable 503 with Retry-After, within a bound, and lose nothing: a locked
database (another process holds its write lock), a full disk and a read-only file, each met by a
real SQLite on a real file system. Once the fault clears, the same click goes through, the audit
chain verifies, and nothing half-written or left over is found.

The disk-full and read-only cases need root (a small tmpfs; the immutable attribute on ext4) and
are skipped without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.crypto import Sealer, decode_key
from bot.app.evidence import verify
from tests.e2e.conftest import ELS
from tests.e2e.flows import CONTENT, identify
from tests.support.azurite import Azurite
from tests.support.cards import action_data, texts
from tests.support.process import Bot
from tests.support.teams import DATA_KEY, TeamsUser

NAME = "Amina El Idrissi"
BOUND = 4.0  # seconds: a card action is answered in about 5 s; a stuck store must leave room for that


@pytest.fixture
def disk(tmp_path, request) -> Iterator[Path]:
    """The store's folder: a 4 MB tmpfs of its own when this test may mount one (root), so that
    "disk full" is the kernel's ENOSPC; otherwise (or when the test asks for "plain") a plain folder."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = getattr(request, "param", "tmpfs") == "tmpfs" and os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(folder)], capture_output=True
    ).returncode == 0
    yield folder
    if mounted:
        subprocess.run(["chattr", "-R", "-i", str(folder)], capture_output=True)
        subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.fixture
def bot_env(disk, request) -> dict[str, str]:
    if getattr(request, "param", "sqlite") == "azurite":
        azurite = request.getfixturevalue("lonely_azurite")
        return {"BOT_STORE": "azure-tables", "BOT_STORE_CONNECTION_STRING": azurite.connection_string,
                "BOT_STORE_TABLE": request.getfixturevalue("table_name")}
    return {"BOT_STORE": f"sqlite:///{disk / 'terugkoppeling.db'}"}


@pytest.fixture
def lonely_azurite(tmp_path) -> Iterator[Azurite]:
    """An Azurite of this test's own, so it can be stopped without harming the others."""
    service = Azurite(tmp_path / "azurite")
    service.start()
    yield service
    service.stop()


def is_tmpfs(folder: Path) -> bool:
    return any(line.split()[1] == str(folder) and line.split()[2] == "tmpfs"
               for line in Path("/proc/mounts").read_text().splitlines())


async def press(user: TeamsUser, verb: str, card: dict[str, Any], inputs: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], Any, float]:
    """Press a button and keep what Teams would see: status, headers, body, and how long it took."""
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": {**action_data(card, verb), **(inputs or {})}},
             "trigger": "manual"}
    activity = user.activity(type="invoke", name="adaptiveCard/action", value=value, replyToId=user.card_activity_id)
    assert user.h.http is not None
    began = time.monotonic()
    async with user.h.http.post(user.h.url, json=activity) as response:
        body = await response.json() if response.content_type == "application/json" else await response.text()
        return response.status, dict(response.headers), body, time.monotonic() - began


def assert_retryable(status: int, headers: dict[str, str], body: Any, seconds: float) -> None:
    assert status == 503, (status, body)
    assert int(headers["Retry-After"]) > 0
    assert "try again" in str(body)
    assert seconds < BOUND, f"the 503 took {seconds:.2f} s"


async def assert_whole(harness, connector, *, cards_to_els: int) -> None:
    """The audit chain verifies from its first link to the head, no closed record holds content,
    the recipient has exactly the cards she should, and the logs named the fault, not the client."""
    store = harness.runtime.store
    verdict = verify(await store.audit_events(), await store.audit_head(), Sealer(decode_key(DATA_KEY)).audit_key)
    assert verdict.intact, verdict
    assert await store.ended_with_content() == []
    assert len(connector.cards_to(ELS)) == cards_to_els
    logs = harness.all_logs()
    assert "store unavailable" in logs and NAME not in logs and CONTENT["jobdoelwit"] not in logs


async def preview(counsellor: TeamsUser) -> dict[str, Any]:
    await identify(counsellor, NAME, "1990-04-12")
    return await counsellor.click("bekijk", CONTENT)


@contextlib.contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Another process takes the database's write lock and keeps it until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys\n"
         f"db = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
         "db.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True)\n"
         "sys.stdin.read()\n"
         "db.execute('ROLLBACK')\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


async def test_a_locked_store_is_a_503_in_bounded_time_then_the_same_click_succeeds(
        harness, counsellor, connector, disk):
    form = await preview(counsellor)
    with write_lock(disk / "terugkoppeling.db"):
        status, headers, body, seconds = await press(counsellor, "verstuur", form)
        assert_retryable(status, headers, body, seconds)
        # Many at once: each waits its turn on the connection (at most 2 s), then SQLite's lock (0.5 s).
        answers = await asyncio.gather(*(press(counsellor, "verstuur", form) for _ in range(6)))
        for answer in answers:
            assert_retryable(*answer)
        assert connector.cards_to(ELS) == []
    receipt = await counsellor.click("verstuur", card=form)  # Teams, or the user, tries again
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    await assert_whole(harness, connector, cards_to_els=1)


def fill(folder: Path) -> Path:
    """Take every free byte of the file system ``folder`` is on."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_is_a_503_and_loses_nothing(harness, counsellor, connector, disk):
    # (SQLite's max_page_count is no stand-in: a write that fits in free pages never meets it.)
    if not is_tmpfs(disk):
        pytest.skip("needs root, to mount a small tmpfs that can be filled")
    form = await preview(counsellor)
    filler = fill(disk)
    with pytest.raises(OSError) as full:
        (disk / "probe").write_bytes(b"x" * 8192)
    assert full.value.errno == errno.ENOSPC
    status, headers, body, seconds = await press(counsellor, "verstuur", form)
    assert_retryable(status, headers, body, seconds)
    status, headers, body, seconds = await press(counsellor, "annuleer", form)
    assert_retryable(status, headers, body, seconds)
    assert connector.cards_to(ELS) == []
    filler.unlink()
    receipt = await counsellor.click("verstuur", card=form)
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    await assert_whole(harness, connector, cards_to_els=1)


def immutable_stops_open_files(folder: Path) -> bool:
    """Whether ``chattr +i`` here also stops writes through a file already open (ext4 does; tmpfs,
    or a user without CAP_LINUX_IMMUTABLE, does not)."""
    probe = folder / "probe"
    with probe.open("ab", buffering=0) as out:
        if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
            return False
        try:
            out.write(b"x")
            return False
        except PermissionError:
            return True
        finally:
            subprocess.run(["chattr", "-i", str(probe)], check=True)
            probe.unlink()


@pytest.mark.parametrize("disk", ["plain"], indirect=True)
async def test_a_store_that_turned_read_only_is_a_503_and_loses_nothing(harness, counsellor, connector, disk):
    """The file system refuses writes to the store's files while the bot has them open."""
    if not immutable_stops_open_files(disk):
        pytest.skip("needs root and a file system where the immutable attribute stops open files (ext4)")
    db = disk / "terugkoppeling.db"
    files = [str(db), str(db) + "-wal"]  # (not -shm: SQLite maps it into memory, and it holds no data)
    form = await preview(counsellor)
    subprocess.run(["chattr", "+i", *files], check=True)
    try:
        status, headers, body, seconds = await press(counsellor, "verstuur", form)
        assert_retryable(status, headers, body, seconds)
        status, headers, body, seconds = await press(counsellor, "annuleer", form)  # any write
        assert_retryable(status, headers, body, seconds)
        assert connector.cards_to(ELS) == []
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)
    receipt = await counsellor.click("verstuur", card=form)
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    await assert_whole(harness, connector, cards_to_els=1)


async def test_the_sweep_exits_non_zero_when_a_step_failed_and_finishes_it_next_time(harness, counsellor, disk):
    """``python -m bot sweep`` prints what it did, as always, and exits 1 when a step failed (here
    the purge of an expired draft on a full disk; or, when the content's WAL had room for that
    purge, the key store's deletion of its key after it), so cron or a job scheduler sees it."""
    if not is_tmpfs(disk):
        pytest.skip("needs root, to mount a small tmpfs that can be filled")
    await identify(counsellor, NAME, "1990-04-12")  # a draft, left to expire
    later = (harness.clock.now() + timedelta(days=3)).isoformat()
    sweeper = Bot(harness.tmp, None, name="sweep", BOT_STORE=f"sqlite:///{disk / 'terugkoppeling.db'}",
                  BOT_LOG_LEVEL="INFO")
    filler = fill(disk)  # (the bot under test keeps the database's files open: nothing to create)
    code, out = await sweeper.cli("sweep", "--now", later)
    assert code == 1, out
    first = json.loads(out.strip().splitlines()[-1])["done"]
    assert first in ({"failed": 1}, {"draft_expired": 1, "failed": 1}), first
    filler.unlink()
    code, out = await sweeper.cli("sweep", "--now", later)
    assert code == 0, out
    # what was left: the purge, or the purged draft's key (an orphan that opens nothing)
    assert json.loads(out.strip().splitlines()[-1])["done"] == (
        {"orphan_keys_deleted": 1} if "draft_expired" in first else {"draft_expired": 1})
    logged = sweeper.output.read_text()
    assert "sweep step failed" in logged and "Traceback" not in logged and NAME not in logged


@pytest.mark.parametrize("bot_env", ["azurite"], indirect=True)
async def test_azurite_down_is_a_503_with_retry_after_and_loses_nothing(harness, counsellor, connector, lonely_azurite):
    form = await preview(counsellor)
    lonely_azurite.stop()
    status, headers, body, seconds = await press(counsellor, "verstuur", form)
    assert_retryable(status, headers, body, seconds)
    assert connector.cards_to(ELS) == []
    lonely_azurite.start()  # same folder, same port: the data is still there
    receipt = await counsellor.click("verstuur", card=form)
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    await assert_whole(harness, connector, cards_to_els=1)
