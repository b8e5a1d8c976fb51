"""A SQLite connection on a thread of its own, awaited from the event loop: what ``SqliteStore`` needs
of aiosqlite, with fewer trips to that thread.

Every trip (a *hop*) costs two thread switches and a wake-up of the event loop, which is more than
most statements the store runs. So a statement and its rows come back in one hop (``execute``
fetches every row there; the store reads them all anyway), and ``begin()`` sends nothing by
itself: ``BEGIN IMMEDIATE`` goes to the thread with the transaction's first statement, in the same
hop, and fails there as it would have on its own (SQLite's busy timeout included).

With ``inline`` (the content file, in WAL mode), the statements of a transaction after its first
run on the event loop's thread, at once: the transaction holds the write lock by then, so they
wait for nobody (WAL readers never block a writer) and only touch pages in memory (a transaction
of a few rows never spills). What can wait or write to disk stays on the connection's thread:
``BEGIN`` (another process's lock, the busy timeout), ``COMMIT`` (WAL appends, a checkpoint and
its fsync), ``ROLLBACK`` and every statement outside a transaction. Statements never overlap:
the store lets one coroutine use a connection at a time, and awaits each hop before the next.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")
Job = tuple[asyncio.Future[Any] | None, Callable[[], Any]]
_STOP = object()


class Cursor:
    """A statement's outcome: its rows (all of them, fetched on the thread), ``rowcount``, ``lastrowid``."""

    __slots__ = ("rowcount", "lastrowid", "_rows")

    def __init__(self, rowcount: int, lastrowid: int | None, rows: list[Any]) -> None:
        self.rowcount, self.lastrowid, self._rows = rowcount, lastrowid, rows

    async def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Any]:
        return self._rows


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting coroutine was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _work(jobs: SimpleQueue[Job]) -> None:
    while True:
        future, job = jobs.get()
        result: Any = None
        error: BaseException | None = None
        try:
            result = job()
        except BaseException as failure:  # noqa: BLE001 - handed to the awaiting coroutine
            error = failure
        if future is not None:
            future.get_loop().call_soon_threadsafe(_settle, future, result, error)
        if result is _STOP:
            return


class Connection:
    """One ``sqlite3`` connection (autocommit: the store says ``BEGIN`` itself) and its thread."""

    def __init__(self, connection: sqlite3.Connection, jobs: SimpleQueue[Job], thread: threading.Thread,
                 *, inline: bool = False) -> None:
        self._connection = connection
        self._inline = inline
        self._jobs = jobs
        self._thread = thread
        self._begin: str | None = None  # a BEGIN to send with the next statement
        self._closed = False  # after ``close`` the thread is gone: a job would wait for ever

    @classmethod
    async def connect(cls, path: Path | str, *, uri: bool = False, name: str = "sqlite",
                      inline: bool = False) -> Connection:
        jobs: SimpleQueue[Job] = SimpleQueue()
        thread = threading.Thread(target=_work, args=(jobs,), name=name, daemon=True)
        thread.start()
        future: asyncio.Future[sqlite3.Connection] = asyncio.get_running_loop().create_future()
        jobs.put((future, lambda: sqlite3.connect(path, isolation_level=None, uri=uri, check_same_thread=False)))
        try:
            connection = await future
        except BaseException:
            jobs.put((None, lambda: _STOP))
            raise
        return cls(connection, jobs, thread, inline=inline)

    async def _hop(self, job: Callable[[], T]) -> T:
        if self._closed:  # as sqlite3 says it, so the store maps it as it does any closed connection
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((future, job))
        return await future

    def begin(self, statement: str = "BEGIN IMMEDIATE") -> None:
        """Start a transaction with the next statement (or at ``commit``)."""
        self._begin = statement

    @property
    def in_transaction(self) -> bool:
        return self._begin is not None or self._connection.in_transaction

    def _with_begin(self) -> str | None:
        begin, self._begin = self._begin, None
        return begin

    def _here(self) -> bool:
        """Whether the next statement runs on the event loop's thread (module docstring)."""
        return self._inline and self._begin is None and self._connection.in_transaction

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        connection = self._connection
        if self._here():
            cursor = connection.execute(sql, params)
            return Cursor(cursor.rowcount, cursor.lastrowid, cursor.fetchall())
        return await self._on_thread(sql, params)

    async def _on_thread(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        begin = self._with_begin()
        connection = self._connection

        def run() -> Cursor:
            if begin is not None:
                connection.execute(begin)
            cursor = connection.execute(sql, params)
            return Cursor(cursor.rowcount, cursor.lastrowid, cursor.fetchall())

        return await self._hop(run)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        connection = self._connection
        rows = list(rows)
        if self._here():
            cursor = connection.executemany(sql, rows)
            return Cursor(cursor.rowcount, cursor.lastrowid, [])
        begin = self._with_begin()

        def run() -> Cursor:
            if begin is not None:
                connection.execute(begin)
            cursor = connection.executemany(sql, rows)
            return Cursor(cursor.rowcount, cursor.lastrowid, [])

        return await self._hop(run)

    async def commit(self) -> None:
        await self._on_thread("COMMIT")

    async def rollback(self) -> None:
        """Roll back the transaction, if one was started on the thread (a BEGIN not sent yet is dropped)."""
        if self._with_begin() is not None and not self._connection.in_transaction:
            return
        if self._connection.in_transaction:
            await self._on_thread("ROLLBACK")

    async def close(self) -> None:
        """Close the connection and end its thread; a second ``close`` does nothing."""
        if self._closed:
            return
        connection = self._connection

        def stop() -> object:
            connection.close()
            return _STOP

        try:
            await self._hop(stop)
        finally:
            self._closed = True
