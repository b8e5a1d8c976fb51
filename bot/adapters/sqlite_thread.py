"""A SQLite connection on a thread of its own, awaited from the event loop: what ``SqliteStore`` needs
of aiosqlite, with fewer trips to that thread.

Every trip (a *hop*) costs two thread switches and a wake-up of the event loop (~70 µs of CPU
here), which is more than most statements the store runs (~10 µs). So a statement and its rows
come back in one hop (``execute`` fetches every row there; the store reads them all anyway), and
``begin()`` sends nothing by itself: ``BEGIN IMMEDIATE`` goes with the transaction's first statement.

With ``inline`` (a file in WAL mode), what cannot wait runs on the event loop's thread, at once:
``BEGIN`` when no other process holds the write lock, the transaction's statements (WAL readers
never block a writer, and a transaction of a few rows only touches pages in memory), ``COMMIT``
(a WAL append: ``synchronous = NORMAL`` does not sync it), ``ROLLBACK``, and the reads the caller
marks ``here`` (a few rows by key). Such a connection has no busy timeout of its own: a statement
that meets another process's lock fails at once with ``SQLITE_BUSY``, having done nothing, and is
sent to the thread, where it waits for the lock as SQLite's busy handler does (``busy_timeout``).
A ``SQLITE_BUSY`` in the middle of a transaction is raised (the caller rolls back). Nor does an
inline connection checkpoint by itself (``wal_autocheckpoint = 0``): a checkpoint syncs both
files, which must not happen on the event loop; the owner checkpoints on the thread
(``SqliteStore``'s tidy-up). Everything else (pragmas, checkpoints, reads of many rows) runs on
the connection's thread. Statements never overlap: the store lets one coroutine use a connection
at a time, and awaits each hop before the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")
Job = tuple[asyncio.Future[Any] | None, Callable[[], Any]]
_STOP = object()
_WAITS = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED: another connection has the lock


def _waits(error: sqlite3.OperationalError) -> bool:
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _WAITS


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
                 *, inline: bool = False, busy_timeout: float = 5.0) -> None:
        self._connection = connection
        self._inline = inline
        self._busy_ms = int(busy_timeout * 1000)
        self._jobs = jobs
        self._thread = thread
        self._begin: str | None = None  # a BEGIN to send with the next statement
        self._closed = False  # after ``close`` the thread is gone: a job would wait for ever

    @classmethod
    async def connect(cls, path: Path | str, *, uri: bool = False, name: str = "sqlite",
                      inline: bool = False, busy_timeout: float = 5.0) -> Connection:
        """``busy_timeout``: seconds a statement waits for another connection's lock, on the thread
        (5, as ``sqlite3.connect`` has it)."""
        jobs: SimpleQueue[Job] = SimpleQueue()
        thread = threading.Thread(target=_work, args=(jobs,), name=name, daemon=True)
        thread.start()
        future: asyncio.Future[sqlite3.Connection] = asyncio.get_running_loop().create_future()

        def open_() -> sqlite3.Connection:
            connection = sqlite3.connect(path, isolation_level=None, uri=uri, check_same_thread=False)
            try:
                connection.execute(f"PRAGMA busy_timeout = {0 if inline else int(busy_timeout * 1000)}")
                if inline:  # (module docstring)
                    connection.execute("PRAGMA wal_autocheckpoint = 0")
            except BaseException:
                connection.close()
                raise
            return connection

        jobs.put((future, open_))
        try:
            connection = await future
        except BaseException:
            jobs.put((None, lambda: _STOP))
            raise
        return cls(connection, jobs, thread, inline=inline, busy_timeout=busy_timeout)

    async def _hop(self, job: Callable[[], T]) -> T:
        if self._closed:  # as sqlite3 says it, so the store maps it as it does any closed connection
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((future, job))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The job runs on regardless. Let it end before the caller (a rollback, say) or anyone
            # after it uses the connection, from this thread or that one.
            with contextlib.suppress(BaseException):
                await future
            raise

    def begin(self, statement: str = "BEGIN IMMEDIATE") -> None:
        """Start a transaction with the next statement (or at ``commit``)."""
        self._begin = statement

    @property
    def in_transaction(self) -> bool:
        return self._begin is not None or self._connection.in_transaction

    def _with_begin(self) -> str | None:
        begin, self._begin = self._begin, None
        return begin

    def _began_here(self) -> bool:
        """Send a pending BEGIN on the event loop's thread; ``False`` if another connection holds the
        lock (the BEGIN stays pending, for the thread)."""
        if self._begin is None:
            return True
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        try:
            self._connection.execute(self._begin)
        except sqlite3.OperationalError as error:
            if _waits(error):
                return False
            self._begin = None
            raise
        self._begin = None
        return True

    def _here(self, here: bool) -> bool:
        """Whether the next statement runs on the event loop's thread (module docstring)."""
        return self._inline and (here or self.in_transaction) and self._began_here()

    async def execute(self, sql: str, params: Sequence[Any] = (), *, here: bool = False) -> Cursor:
        """``here``: a read of a few rows, run on the event loop's thread with ``inline`` even
        outside a transaction."""
        connection = self._connection

        def run() -> Cursor:
            cursor = connection.execute(sql, params)
            return Cursor(cursor.rowcount, cursor.lastrowid, cursor.fetchall())

        if self._here(here):
            try:
                return run()
            except sqlite3.OperationalError as error:
                if not _waits(error) or connection.in_transaction:
                    raise
        return await self._on_thread(run)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        connection = self._connection
        rows = list(rows)

        def run() -> Cursor:
            cursor = connection.executemany(sql, rows)
            return Cursor(cursor.rowcount, cursor.lastrowid, [])

        return run() if self._here(False) else await self._on_thread(run)

    async def _on_thread(self, run: Callable[[], T]) -> T:
        """``run`` on the connection's thread, after the pending BEGIN if any, with the busy timeout
        (an inline connection has none of its own)."""
        begin = self._with_begin()
        connection = self._connection

        def statement() -> T:
            if begin is not None:
                connection.execute(begin)
            return run()

        if not self._inline:
            return await self._hop(statement)

        def waiting() -> T:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            try:
                return statement()
            finally:
                connection.execute("PRAGMA busy_timeout = 0")

        return await self._hop(waiting)

    async def commit(self) -> None:
        connection = self._connection
        if self._inline and self._began_here() and connection.in_transaction:
            try:
                connection.execute("COMMIT")
                return
            except sqlite3.OperationalError as error:
                if not _waits(error):
                    raise
        await self._on_thread(lambda: connection.execute("COMMIT"))

    async def rollback(self) -> None:
        """Roll back the transaction, if one was started (a BEGIN not sent yet is dropped)."""
        if self._with_begin() is not None and not self._connection.in_transaction:
            return
        connection = self._connection
        if connection.in_transaction:
            if self._inline:
                connection.execute("ROLLBACK")
            else:
                await self._on_thread(lambda: connection.execute("ROLLBACK"))

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
