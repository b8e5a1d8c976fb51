"""The SQLite store's own thread wrapper (bot/adapters/sqlite_thread.py), on a real file: after
``close`` nothing waits for a thread that is gone — a statement raises at once, as sqlite3 does,
and closing twice is harmless (a bot whose store went away must answer 503, never hang)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.adapters.sqlite_thread import Connection


async def test_a_closed_connection_raises_at_once_and_closes_twice(tmp_path):
    db = await Connection.connect(tmp_path / "t.db")
    await db.execute("CREATE TABLE t (x)")
    await db.execute("INSERT INTO t VALUES (1)")
    assert await (await db.execute("SELECT x FROM t")).fetchall() == [(1,)]
    await db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        await asyncio.wait_for(db.execute("SELECT x FROM t"), timeout=5)
    await asyncio.wait_for(db.close(), timeout=5)


async def _wal_table(path, *, busy_timeout: float) -> Connection:
    db = await Connection.connect(path, inline=True, busy_timeout=busy_timeout)
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("CREATE TABLE IF NOT EXISTS t (x)")
    return db


async def test_an_inline_write_waits_for_another_process_off_the_event_loop(tmp_path):
    """Inline, a BEGIN runs on the event loop's thread only when it need not wait. When another
    process holds the write lock, it goes to the connection's thread and waits there, as SQLite's
    busy handler does: the event loop goes on serving meanwhile, and the write lands once the lock
    is free."""
    db = await _wal_table(tmp_path / "t.db", busy_timeout=5.0)
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        db.begin()
        await db.execute("INSERT INTO t VALUES (1)")
        await db.commit()

    writer = asyncio.create_task(write())
    ticks = 0
    for _ in range(10):
        await asyncio.sleep(0.02)
        ticks += 1
    assert ticks == 10 and not writer.done()  # the loop was never held; the write still waits
    other.execute("COMMIT")
    await asyncio.wait_for(writer, timeout=5)
    assert await (await db.execute("SELECT x FROM t", here=True)).fetchall() == [(1,)]
    other.close()
    await db.close()


async def test_an_inline_write_past_the_busy_timeout_fails_as_busy_and_leaves_no_transaction(tmp_path):
    db = await _wal_table(tmp_path / "t.db", busy_timeout=0.1)
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    db.begin()
    with pytest.raises(sqlite3.OperationalError) as raised:
        await db.execute("INSERT INTO t VALUES (1)")
    assert raised.value.sqlite_errorcode & 0xFF == 5  # SQLITE_BUSY, which the store maps to "unavailable"
    assert not db.in_transaction
    other.execute("COMMIT")
    other.close()
    await db.close()


async def test_an_inline_connection_never_checkpoints_in_a_commit(tmp_path):
    """A checkpoint syncs the files: on the event loop's thread it would hold every request for
    milliseconds. An inline connection leaves checkpoints to its owner, on the thread: 1,200
    commits (past SQLite's automatic checkpoint at 1,000 pages) stay in the WAL until asked."""
    db = await _wal_table(tmp_path / "t.db", busy_timeout=1.0)
    for n in range(1_200):
        db.begin()
        await db.execute("INSERT INTO t VALUES (?)", (n,))
        await db.commit()
    [(busy, frames, copied)] = await (await db.execute("PRAGMA main.wal_checkpoint(PASSIVE)")).fetchall()
    assert busy == 0 and frames >= 1_200 and copied == frames  # all there, copied only now
    await db.close()


async def test_a_write_cancelled_while_it_waits_on_the_thread_is_rolled_back_not_left_open(tmp_path):
    """A statement sent to the thread runs there even if the coroutine that sent it is cancelled
    (a request cut off at shutdown). The coroutine waits for it to end before it goes on, so the
    rollback sees the transaction the statement opened; before, it saw none, and the connection was
    left in a transaction that held the write lock for ever."""
    db = await _wal_table(tmp_path / "t.db", busy_timeout=5.0)
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write(value: int) -> None:
        db.begin()
        try:
            await db.execute("INSERT INTO t VALUES (?)", (value,))
            await db.commit()
        except BaseException:
            if db.in_transaction:
                await db.rollback()
            raise

    writer = asyncio.create_task(write(1))
    await asyncio.sleep(0.1)  # its BEGIN waits on the thread for the other process's lock
    writer.cancel()
    await asyncio.sleep(0.05)
    other.execute("COMMIT")  # now the BEGIN and the INSERT run, for a caller that has gone
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(writer, timeout=5)
    assert not db.in_transaction
    await write(2)
    assert await (await db.execute("SELECT x FROM t", here=True)).fetchall() == [(2,)]
    other.close()
    await db.close()
