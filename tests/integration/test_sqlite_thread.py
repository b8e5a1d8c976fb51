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
