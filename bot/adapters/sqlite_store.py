"""The embedded store: a content file (WAL, secure_delete, schema versioned by ``user_version``)
and beside it a key store, a second SQLite file with a connection of its own.

Client data lives only in ``sealed`` (ciphertext); each ciphertext's wrapped key lives in the key
store's ``record_keys``, named by ``key_ref``; the other tables hold content-free envelopes as
JSON. A state change, its audit events (hash-chained), the client's fingerprint and the removal
of the draft a handoff came from are one ``BEGIN IMMEDIATE`` transaction on the content file: a
crash keeps all or none.

Backups: the content file (with its ``-wal``) may be backed up; the key store
(``BOT_KEY_STORE``, default ``<store>.keys``) never is. A copy of the content taken before a purge
then opens with nothing the bot holds after it: the purge deleted the keys, and the master key
alone opens no ciphertext.

Each file is written on its own connection, which attaches the other read-only (as ``keys`` and
``content``): a read joins a record with its key in one statement, and a write transaction locks
one file only. (A transaction that wrote both would not be atomic across them with WAL, see
https://sqlite.org/lang_attach.html, and would cost a super-journal each.) So keys and content are
written in an order that a crash cannot turn into content without a key:

- a new seal: its key first (a transaction of its own), then the content that names it;
- after the content is written: the record's other keys, or all of them once its content is gone
  (a purge), again in a transaction of their own.

A crash between two steps leaves only a key no content names (an orphan; it opens nothing live),
which ``sweep_keys`` deletes once it is older than ``KEY_GRACE``: at every ``open`` (so after the
restart that follows a crash) and whenever the sweep asks.

Both files are WAL with secure_delete and ``synchronous = NORMAL``: a commit is ~0.05 ms, not an
fsync (the key store's rollback journal before issue 16 cost ~3 ms a commit, twice per
``verstuur``). A process crash loses nothing (the commits are in the OS's hands). A power loss may
roll back the last commits of either file; so the key store is checkpointed (``TRUNCATE``, which
syncs it) by the tidy-up, below, within ``TIDY_SECONDS`` of every write to it, and a power loss in
that second could leave a record written in it unreadable (its key lost, as any missing key: the
record is reported and skipped, never opened). A purge never waits for the tidy-up: its content's
deletion is synced first (``SqliteStore._sync``), then its keys are deleted and the key store is
checkpointed at once (``SqliteStore._checkpoint_keys``), so that a power loss can never bring
purged content back nor leave it sealed under a lost key. A checkpoint is also what zeroes a
deleted key in the key store's file and leaves no WAL frame with a copy of it: at once for a purge,
within ``TIDY_SECONDS`` for any other deletion, and at every ``sweep_keys`` and ``close``.

The tidy-up (``SqliteStore._tidy_up``, in the background) also deletes the keys of drafts a handoff
took over. That is not a purge: the draft's client data lives on in the handoff, written in the
same transaction that drops the draft; a crash before the tidy-up leaves an orphan for
``sweep_keys``. So a ``verstuur``'s reply waits for one key-store commit, the handoff's key, and no
fsync (issue 16).

Both connections are *inline* (``bot.adapters.sqlite_thread``): a transaction (its ``BEGIN`` when
no other process holds the lock, its statements, its ``COMMIT``) and a read of one record run on the
event loop's thread, which costs ~10 µs a statement where a trip to the connection's thread cost
~70; what may wait (another process's lock, a checkpoint's syncs, reads of many rows) still goes to
that thread. An inline connection never checkpoints in a commit, so the tidy-up also checkpoints
the content file (``PASSIVE``) within ``TIDY_SECONDS`` of every write: sooner than SQLite's own
checkpoint every 1,000 pages did. A checkpoint syncs the WAL first (``synchronous = NORMAL``), so
a power loss can roll back only the commits since the last one: about a second's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from bot.adapters.crypto import Sealed, Sealer
from bot.adapters.sealing import envelope, key_ref, restore, seal_client
from bot.adapters.sqlite_thread import Connection
from bot.app.ports import Conflict, Events, Store, StoreUnavailable, Unreadable, UnreadableRecord
from bot.domain.audit import GENESIS, Checkpoint, link
from bot.domain.handoff import Draft, FingerprintMark, Handoff
from bot.domain.model import AuditEvent, ClientData, Notification

MIGRATIONS: list[str] = [
    # 1: drafts, handoffs, sealed client data with one key per record, sent fingerprints, audit.
    """
    CREATE TABLE drafts (
        id TEXT PRIMARY KEY, version INTEGER NOT NULL, expires_at TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE INDEX drafts_expiry ON drafts (expires_at);
    CREATE TABLE handoffs (
        id TEXT PRIMARY KEY, reference TEXT NOT NULL UNIQUE, draft_id TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL, state TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE sealed (record_id TEXT PRIMARY KEY, ciphertext BLOB NOT NULL);
    CREATE TABLE record_keys (record_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, wrapped_key BLOB NOT NULL);
    CREATE TABLE sent_clients (fingerprint TEXT PRIMARY KEY, last_sent_at TEXT NOT NULL);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, event TEXT NOT NULL,
        subject TEXT NOT NULL, actor TEXT NOT NULL, agency TEXT, reason TEXT);
    CREATE INDEX audit_at ON audit (at);
    """,
    # 2: the outbox and reminders: the sweep finds due handoffs by this index alone.
    """
    ALTER TABLE handoffs ADD COLUMN due_at TEXT;
    CREATE INDEX handoffs_due ON handoffs (due_at) WHERE due_at IS NOT NULL;
    """,
    # 3: the audit hash chain (tamper evidence).
    """
    ALTER TABLE audit ADD COLUMN mac TEXT;
    """,
    # 4: at most one unfinished draft per counsellor (their tenant and object id).
    """
    ALTER TABLE drafts ADD COLUMN owner TEXT;
    CREATE UNIQUE INDEX drafts_owner ON drafts (owner) WHERE owner IS NOT NULL;
    """,
    # 5: DPO notifications of incidents (art. 9), content-free, found by their due time; and the
    # audit seq up to which incidents have them.
    """
    CREATE TABLE notifications (id TEXT PRIMARY KEY, version INTEGER NOT NULL, due_at TEXT, doc TEXT NOT NULL);
    CREATE INDEX notifications_due ON notifications (due_at) WHERE due_at IS NOT NULL;
    CREATE TABLE incident_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
    """,
    KEY_STORE_SCRIPT := (
        # The keys move to the key store (copied there by ``_move_keys``, committed, before this runs);
        # each ciphertext names its key. (``main.``: unqualified, a missing table would mean ``keys``'s.)
        """
        DROP TABLE IF EXISTS main.record_keys;
        ALTER TABLE sealed ADD COLUMN key_ref TEXT NOT NULL DEFAULT '';
        """
    ),
    # 7: the bot's own retention (issue 15): fingerprints found by when they were last sent (in UTC,
    # so that the strings sort as time: earlier versions kept the sender's offset), and the checkpoint
    # that anchors the audit chain once its oldest events are pruned.
    """
    UPDATE sent_clients SET last_sent_at = strftime('%Y-%m-%dT%H:%M:%f+00:00', last_sent_at);
    CREATE INDEX sent_clients_sent ON sent_clients (last_sent_at);
    CREATE TABLE audit_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, doc TEXT NOT NULL);
    """,
    # 8: issue 14, openstaand: a trajectbegeleider's pending cards by this index alone
    # (``Handoff.pending_key``; NULL once not waiting in their chat).
    """
    ALTER TABLE handoffs ADD COLUMN pending_for TEXT;
    UPDATE handoffs SET pending_for = json_extract(doc, '$.recipient.tenant_id') || '|'
        || json_extract(doc, '$.recipient.aad_object_id') WHERE state = 'delivered';
    CREATE INDEX handoffs_pending ON handoffs (pending_for) WHERE pending_for IS NOT NULL;
    """,
    # 9 (issue 14): the counsellor's overview finds their handoffs, newest first, by this index alone.
    """
    ALTER TABLE handoffs ADD COLUMN owner TEXT;
    ALTER TABLE handoffs ADD COLUMN created_at TEXT;
    UPDATE handoffs SET owner = json_extract(doc, '$.counsellor.tenant_id') || '|'
        || json_extract(doc, '$.counsellor.aad_object_id'), created_at = json_extract(doc, '$.created_at');
    CREATE INDEX handoffs_owner ON handoffs (owner, created_at) WHERE owner IS NOT NULL;
    """,
]
KEY_STORE_VERSION = MIGRATIONS.index(KEY_STORE_SCRIPT) + 1  # stores before it kept keys in the content file
# The key store's one table. Keys moved from an older store keep ``key_ref`` '' (as does their ciphertext).
KEY_SCHEMA = """
    CREATE TABLE IF NOT EXISTS record_keys (
        record_id TEXT NOT NULL, key_ref TEXT NOT NULL DEFAULT '', key_id TEXT NOT NULL,
        wrapped_key BLOB NOT NULL, created_at TEXT NOT NULL DEFAULT '', PRIMARY KEY (record_id, key_ref))
"""
# How long a tidy-up (module docstring) waits: a busy second pays for one checkpoint of each file, not one per write.
TIDY_SECONDS = 1.0
# A key no content names is deleted once older than this: a write in progress (its key committed,
# its content not yet) takes milliseconds, so this leaves a frozen process minutes to finish.
KEY_GRACE = timedelta(minutes=10)
log = logging.getLogger(__name__)


# Each record's sealed client data comes with it, in the same statement.
SEALED_COLUMNS = "k.key_id, k.wrapped_key, s.ciphertext"
SEALED_JOIN = ("LEFT JOIN sealed s ON s.record_id = d.id"
               " LEFT JOIN keys.record_keys k ON k.record_id = s.record_id AND k.key_ref = s.key_ref")
Record = TypeVar("Record", Draft, Handoff)


def _id_of(doc: str) -> str:
    try:
        return str(json.loads(doc)["id"])
    except (ValueError, KeyError, TypeError):
        return "?"


def _utc(moment: datetime | None) -> str | None:
    """ISO strings of UTC instants sort as time."""
    return moment.astimezone(UTC).isoformat() if moment else None


# Every store operation is time-bounded: at most TURN_SECONDS waiting for this process's one
# connection (other coroutines' operations: a sweep's batch of 100 records takes about 0.3 s on a
# busy machine) and at most BUSY_SECONDS for SQLite's lock (another process's write), then
# ``StoreUnavailable`` (a 503). A transaction itself lasts milliseconds, so only a stuck store makes
# a request wait that long; it then gets its 503 within 2.5 s (README, "When the store fails").
TURN_SECONDS = 2.0
BUSY_SECONDS = 0.5
SYNC_SECONDS = 5.0  # an fsync after a purge (``SqliteStore._sync``)
# SQLite result codes that say the database cannot be used right now (its lock, its disk, its file),
# not that a statement is wrong: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
# (CORRUPT is not among them: a damaged file is not cured by trying again.)
FAULTS = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
READONLY_ROLLBACK = 776  # SQLITE_READONLY_ROLLBACK: a read-only connection met a hot journal


@contextlib.contextmanager
def _faults() -> Iterator[None]:
    """A store fault becomes ``StoreUnavailable``, named by SQLite's code only; every other error
    (a constraint, a programming error) stays what it is."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        if (getattr(error, "sqlite_errorcode", 0) & 0xFF) in FAULTS:
            raise StoreUnavailable(f"SQLite {getattr(error, 'sqlite_errorname', 'error')}") from error
        raise


class SqliteStore(Store):
    """A ``Store`` on one SQLite file; safe for several processes (WAL, immediate transactions)."""

    def __init__(self, db: Connection, keys: Connection, sealer: Sealer,
                 wal: Path | None = None) -> None:
        self._db = db  # the content file, the key store attached read-only as ``keys``
        self._keys = keys  # the key store, the content file attached read-only as ``content``
        self._sealer = sealer
        # The content file's WAL, synced before a purge's keys go (``_write``; the key store's
        # checkpoint syncs that file itself).
        self._wal = wal
        # Keys to delete once the current content transaction has committed: (record id, the key_ref
        # to keep, or None for all). Only touched inside ``_write`` (under the lock below).
        self._superseded: list[tuple[str, str | None]] = []
        # Drafts whose data a handoff took over in the current transaction; then, for the tidy-up
        # (module docstring): those whose keys are still to go, and whether the key store was written
        # since the last checkpoint. ``settle`` (and ``close``) runs a pending tidy-up at once and waits for it.
        self._handed_over: list[str] = []
        self._to_forget: list[str] = []
        self._unchecked = False
        self._content_unchecked = False  # the content file written since its last checkpoint
        self._tidy: asyncio.Task[None] | None = None
        self._tidy_now = asyncio.Event()
        # One connection serves every request of this process: a transaction must not interleave
        # with another coroutine's statements. Other processes are kept apart by SQLite's own lock.
        self._lock = asyncio.Lock()

    @staticmethod
    def key_store_of(path: Path) -> Path:
        """Where the key store lives unless configured (``BOT_KEY_STORE``): beside the content."""
        return path.with_name(path.name + ".keys")

    @classmethod
    async def open(cls, path: Path, sealer: Sealer, keys: Path | None = None) -> SqliteStore:
        keys = keys or cls.key_store_of(path)
        for folder in {path.parent, keys.parent}:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Both inline (bot.adapters.sqlite_thread): no checkpoint of their own, the tidy-up makes them.
        db = await Connection.connect(path, uri=True, name="sqlite-content", inline=True, busy_timeout=BUSY_SECONDS)
        key_db = await Connection.connect(keys, uri=True, name="sqlite-keys", inline=True, busy_timeout=BUSY_SECONDS)
        try:
            for pragma in (
                "journal_mode = WAL",
                "secure_delete = ON",  # deleted pages are zeroed, not left readable in the file
                "foreign_keys = ON",
                "synchronous = NORMAL",
            ):
                await db.execute(f"PRAGMA {pragma}")
            for pragma in (
                "journal_mode = WAL",  # checkpointed after deletions (module docstring)
                "secure_delete = ON",
                "synchronous = NORMAL",  # synced by the checkpoints (module docstring)
            ):
                await key_db.execute(f"PRAGMA {pragma}")
            await key_db.execute(KEY_SCHEMA)
            await db.execute("ATTACH DATABASE ? AS keys", (f"{keys.resolve().as_uri()}?mode=ro",))
            await key_db.execute("ATTACH DATABASE ? AS content", (f"{path.resolve().as_uri()}?mode=ro",))
        except sqlite3.Error:
            await db.close()
            await key_db.close()
            raise
        store = cls(db, key_db, sealer, wal=path.with_name(path.name + "-wal"))
        try:
            await store._migrate()
            await store.sweep_keys()
        except StoreUnavailable as error:  # at start-up the operator reads SQLite's own words
            await store.close()
            raise (error.__cause__ or error) from None
        return store

    async def _migrate(self) -> None:
        async with self._turn():
            with _faults():
                (current,) = await (await self._db.execute("PRAGMA user_version")).fetchone()  # type: ignore[misc]
        if 0 < current < KEY_STORE_VERSION:
            await self._move_keys()
        async with self._write():
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in filter(str.strip, script.split(";")):
                    await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version = {number}")
        if 0 < current < KEY_STORE_VERSION:  # the moved keys' pages are zeroed in the file: let no WAL frame keep them
            async with self._turn():
                with _faults():
                    await self._db.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")

    async def _move_keys(self) -> None:
        """Copy the keys of a store from before the key store into it, committed on their own before
        the key-store migration drops them from the content file (a crash in between: the copy is made again)."""
        async with self._turn(), self._transaction(self._keys) as keys:
            await keys.execute(
                "INSERT OR IGNORE INTO record_keys (record_id, key_ref, key_id, wrapped_key, created_at)"
                " SELECT record_id, '', key_id, wrapped_key, ? FROM content.record_keys", (_utc(datetime.now(UTC)),)
            )

    @contextlib.asynccontextmanager
    async def _write(self, record_id: str = "", sealed: Sealed | None = None) -> AsyncIterator[Connection]:
        """One content transaction. With ``sealed``, the key of ``record_id``'s new seal is committed
        first; after the content commits, the keys it superseded are deleted (module docstring)."""
        async with self._turn():
            self._superseded.clear()
            self._handed_over.clear()
            if sealed is not None:
                async with self._transaction(self._keys) as keys:
                    await keys.execute(
                        "INSERT INTO record_keys (record_id, key_ref, key_id, wrapped_key, created_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (record_id, key_ref(sealed), sealed.key_id, sealed.wrapped_key, _utc(datetime.now(UTC))),
                    )
                self._unchecked = True
            try:
                async with self._transaction(self._db) as db:
                    yield db
            except BaseException:
                if sealed is not None:  # the content was not written (rolled back): its key opens nothing
                    await self._forget_keys(record_id, only=key_ref(sealed))
                raise
            purged = any(keep is None for _, keep in self._superseded)
            if purged:  # the purge itself must survive a power loss before its keys go (below)
                await self._sync()
            for superseded, keep in self._superseded:
                await self._forget_keys(superseded, keep=keep)
            if purged:  # and the keys' deletion must be on disk, leaving no copy: a purge is never undone
                await self._checkpoint_keys()
            self._to_forget.extend(self._handed_over)
            self._content_unchecked = True
            self._tidy_later()

    def _tidy_later(self) -> None:
        if self._tidy is None or self._tidy.done():
            self._tidy_now.clear()
            self._tidy = asyncio.get_running_loop().create_task(self._tidy_up(), name="sqlite-tidy-up")

    async def _tidy_up(self) -> None:
        """The tidy-up (module docstring), once ``TIDY_SECONDS`` have passed or ``settle`` asks."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tidy_now.wait(), TIDY_SECONDS)
        try:
            async with self._turn():
                drafts, self._to_forget = self._to_forget, []
                for draft_id in drafts:
                    await self._forget_keys(draft_id)
                if self._unchecked:
                    await self._checkpoint_keys()
                if self._content_unchecked:
                    await self._checkpoint_content()
        except StoreUnavailable:  # no turn in time: the keys are orphans for the sweep, checkpointed by it
            log.warning("key store tidy-up left for the key sweep")

    async def settle(self) -> None:
        """Run a pending tidy-up now and wait for it (tests, ``close``)."""
        while self._tidy is not None and not self._tidy.done():
            self._tidy_now.set()
            await asyncio.gather(self._tidy, return_exceptions=True)

    async def _checkpoint_keys(self) -> None:
        """Copy the key store's WAL into its file and truncate it: what a deletion zeroed is then
        zeroed on disk, and no frame keeps the key. Another process reading the key store just then
        may hold the checkpoint back: it is logged, and made again at the next one."""
        try:
            with _faults():
                rows = await (await self._keys.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")).fetchall()
        except (StoreUnavailable, sqlite3.Error) as error:
            log.warning("key store not checkpointed", extra={"error": type(error).__name__})
            return
        if rows and rows[0][0]:
            log.warning("key store not checkpointed", extra={"error": "busy"})
            return
        self._unchecked = False

    async def _checkpoint_content(self) -> None:
        """Copy the content's WAL into its file (``PASSIVE``: readers are not waited for; what they
        hold back goes at the next one). The content connection never checkpoints by itself, so
        that no commit syncs on the event loop's thread (bot.adapters.sqlite_thread)."""
        self._content_unchecked = False
        try:
            with _faults():
                await self._db.execute("PRAGMA main.wal_checkpoint(PASSIVE)")
        except (StoreUnavailable, sqlite3.Error) as error:
            self._content_unchecked = True
            log.warning("content file not checkpointed", extra={"error": type(error).__name__})

    async def _sync(self) -> None:
        """Make the content's last commit durable now. It runs ``synchronous = NORMAL`` (a commit
        costs ~0.1 ms instead of ~5 ms for an fsync); a power loss could then roll back the last
        commits. For a purge that is not good enough: if the content's deletion rolled back while the
        key's stood, the record would come back unreadable. So a purge syncs the content's WAL before
        its keys are deleted (and the key store is checkpointed after, which syncs it). A fault here
        leaves the ordinary NORMAL guarantee; it is logged."""
        if self._wal is None:
            return
        path = self._wal

        def sync() -> None:
            with contextlib.suppress(FileNotFoundError), path.open("rb") as file:
                os.fsync(file.fileno())

        try:
            await asyncio.wait_for(asyncio.to_thread(sync), timeout=SYNC_SECONDS)
        except (OSError, TimeoutError) as error:
            log.warning("a purge could not be synced to disk", extra={"error": type(error).__name__})

    @staticmethod
    @contextlib.asynccontextmanager
    async def _transaction(db: Connection) -> AsyncIterator[Connection]:
        """A write transaction on one file (the other is attached read-only: it is only read)."""
        with _faults():
            db.begin()  # sent with the first statement (bot.adapters.sqlite_thread)
            try:
                yield db
                await db.commit()
            except BaseException:
                if db.in_transaction:  # a full disk or an I/O error may have rolled it back already
                    await db.rollback()
                raise

    async def _forget_keys(self, record_id: str, *, keep: str | None = None, only: str | None = None) -> None:
        """Delete keys of ``record_id`` (all, all but ``keep``, or ``only`` that one) in a transaction
        of their own, after the content that no longer needs them. A fault here is not the caller's:
        its write has landed; the key is an orphan that ``sweep_keys`` deletes later."""
        sql, params = "DELETE FROM record_keys WHERE record_id = ?", [record_id]
        if keep is not None:
            sql, params = sql + " AND key_ref <> ?", [record_id, keep]
        if only is not None:
            sql, params = sql + " AND key_ref = ?", [record_id, only]
        try:
            async with self._transaction(self._keys) as keys:
                cursor = await keys.execute(sql, params)
            self._unchecked = self._unchecked or cursor.rowcount > 0
        except (StoreUnavailable, sqlite3.Error) as error:
            log.warning("a key left for the key sweep", extra={"record": record_id, "error": type(error).__name__})

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """This process's one connection, waited for at most ``TURN_SECONDS``."""
        try:
            async with asyncio.timeout(TURN_SECONDS):
                await self._lock.acquire()
        except TimeoutError:
            raise StoreUnavailable("busy: no turn on the connection in time") from None
        try:
            yield
        finally:
            self._lock.release()

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TURN_SECONDS):
                await self.settle()
        await self._db.close()
        await self._keys.close()

    # -- sealed client data ---------------------------------------------------------------------

    async def _put_sealed(self, record_id: str, sealed: Sealed | None, *, new: bool = False) -> None:
        """Write (or, for ``None``, drop) a record's ciphertext, inside ``_write(record_id, sealed)``,
        which committed its key already; ``new`` records have none to replace."""
        if sealed is None:
            if not new:
                await self._drop_sealed(record_id)
            return
        # In place: with secure_delete, whatever the old ciphertext occupied is zeroed.
        await self._db.execute(
            "INSERT INTO sealed (record_id, ciphertext, key_ref) VALUES (?, ?, ?)"
            " ON CONFLICT (record_id) DO UPDATE SET ciphertext = excluded.ciphertext, key_ref = excluded.key_ref",
            (record_id, sealed.ciphertext, key_ref(sealed)),
        )
        if not new:
            self._superseded.append((record_id, key_ref(sealed)))

    async def _reseal(self, record_id: str, client: ClientData | None) -> tuple[Sealed | None, bool]:
        """The sealed data a save writes, and whether it is the stored one, kept as it is: a save
        whose client data did not change (most do not: a state, a reminder) under the current
        master key writes neither a key nor a ciphertext. (If the record changed meanwhile, the
        save's version check fails.)"""
        if client is not None:
            rows = await self._sealed_query(
                "SELECT s.record_id, k.key_id, k.wrapped_key, s.ciphertext FROM sealed s LEFT JOIN keys.record_keys k"
                " ON k.record_id = s.record_id AND k.key_ref = s.key_ref WHERE s.record_id = ?", (record_id,), one=True
            )
            if rows and rows[0][1] == self._sealer.key_id:
                stored = Sealed(rows[0][1], rows[0][2], rows[0][3])
                with contextlib.suppress(Exception):  # a damaged one is simply replaced
                    if self._sealer.open(record_id, stored) == client.model_dump_json().encode():
                        return stored, True
        return seal_client(self._sealer, record_id, client), False

    async def _drop_sealed(self, record_id: str, *, handed_over: bool = False) -> None:
        cursor = await self._db.execute("DELETE FROM sealed WHERE record_id = ?", (record_id,))
        if cursor.rowcount and handed_over:
            self._handed_over.append(record_id)  # not a purge: its data lives on (module docstring)
        elif cursor.rowcount:
            self._superseded.append((record_id, None))  # its keys go once this commits

    async def sweep_keys(self, now: datetime | None = None) -> int:
        """Delete the keys no ciphertext names (left by a crash between two steps, see the module
        docstring) once older than ``KEY_GRACE``; how many. A pending tidy-up runs first: the keys it
        deletes are not a crash's orphans."""
        await self.settle()
        cutoff = _utc((now or datetime.now(UTC)) - KEY_GRACE)
        async with self._turn():
            async with self._transaction(self._keys) as keys:
                cursor = await keys.execute(
                    "DELETE FROM record_keys WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM content.sealed s"
                    " WHERE s.record_id = record_keys.record_id AND s.key_ref = record_keys.key_ref)", (cutoff,)
                )
            self._unchecked = self._unchecked or cursor.rowcount > 0
            if self._unchecked:
                await self._checkpoint_keys()
        if cursor.rowcount:
            log.warning("orphan keys deleted", extra={"count": cursor.rowcount})
        return int(cursor.rowcount)

    async def sealed_key_ids(self) -> dict[str, int]:
        rows = await self._query(
            "SELECT k.key_id, count(*) FROM sealed s JOIN keys.record_keys k"
            " ON k.record_id = s.record_id AND k.key_ref = s.key_ref GROUP BY k.key_id"
        )
        return {str(key_id): int(count) for key_id, count in rows}

    # -- drafts ---------------------------------------------------------------------------------

    async def add_draft(self, draft: Draft, events: Events = ()) -> Draft:
        draft = draft.model_copy(update={"version": 1})
        sealed = seal_client(self._sealer, draft.id, draft.client)
        async with self._write(draft.id, sealed) as db:
            try:
                await db.execute(
                    "INSERT INTO drafts (id, version, expires_at, owner, doc) VALUES (?, ?, ?, ?, ?)",
                    (draft.id, draft.version, _utc(draft.expires_at), draft.owner, envelope(draft)),
                )
            except sqlite3.IntegrityError as error:
                raise Conflict(draft.id) from error
            await self._put_sealed(draft.id, sealed, new=True)
            await self._append(events)
        return draft

    async def _query(self, sql: str, params: tuple[object, ...] = (), *, one: bool = False) -> list[sqlite3.Row]:
        """One statement (one consistent snapshot), never inside another coroutine's transaction.
        ``one``: a record by its key, read on the event loop's thread (bot.adapters.sqlite_thread)."""
        async with self._turn():
            with _faults():
                try:
                    cursor = await self._db.execute(sql, params, here=one)
                except sqlite3.OperationalError as error:
                    if getattr(error, "sqlite_errorcode", 0) != READONLY_ROLLBACK:
                        raise
                    # A process died mid-commit in the key store: its journal is hot, which this
                    # read-only view cannot roll back; the key store's own connection does, by reading.
                    await (await self._keys.execute("SELECT count(*) FROM record_keys")).fetchall()
                    cursor = await self._db.execute(sql, params)
                return list(await cursor.fetchall())

    async def _sealed_query(self, sql: str, params: tuple[object, ...] = (), *, one: bool = False
                            ) -> list[sqlite3.Row]:
        """Records with their sealed data. A statement reads each file as of its own moment: a
        ciphertext whose key it did not see may be one another process re-sealed just then, so
        such a read is made once more; a key still missing after that is missing."""
        rows = await self._query(sql, params, one=one)
        if any(row[3] is not None and row[1] is None for row in rows):
            rows = await self._query(sql, params, one=one)
        return rows

    def _restore(self, model: type[Record], row: sqlite3.Row) -> Record:
        if row[3] is not None and row[1] is None:  # content whose key is gone: a restored copy, say
            raise Unreadable(_id_of(row[0]), "KeyMissing")
        try:
            return restore(model, self._sealer, row[0], Sealed(row[1], row[2], row[3]) if row[3] is not None else None)
        except Exception as error:  # noqa: BLE001 - a wrong key, a damaged row: content-free either way
            raise Unreadable(_id_of(row[0]), type(error).__name__) from None

    def _handoff_or_unreadable(self, row: sqlite3.Row) -> Handoff | UnreadableRecord:
        """Each record on its own: one that cannot be opened never hides the others."""
        try:
            return self._restore(Handoff, row)
        except Unreadable as error:
            return UnreadableRecord(error.record_id, error.why)

    def _with_sealed(self, model: type[Record], rows: list[sqlite3.Row]) -> list[Record]:
        return [self._restore(model, row) for row in rows]

    async def get_draft(self, draft_id: str) -> Draft | None:
        rows = await self._sealed_query(f"SELECT d.doc, {SEALED_COLUMNS} FROM drafts d {SEALED_JOIN} WHERE d.id = ?",
                                        (draft_id,), one=True)
        return next(iter(self._with_sealed(Draft, rows)), None)

    async def save_draft(self, draft: Draft, events: Events = ()) -> Draft:
        saved = draft.model_copy(update={"version": draft.version + 1})
        sealed, kept = await self._reseal(draft.id, draft.client)
        async with self._write(draft.id, None if kept else sealed) as db:
            cursor = await db.execute(
                "UPDATE drafts SET version = ?, expires_at = ?, doc = ? WHERE id = ? AND version = ?",
                (saved.version, _utc(saved.expires_at), envelope(saved), draft.id, draft.version),
            )
            if cursor.rowcount != 1:
                raise Conflict(draft.id)
            if not kept:
                await self._put_sealed(draft.id, sealed)
            await self._append(events)
        return saved

    async def delete_draft(self, draft_id: str, events: Events = ()) -> bool:
        async with self._write():
            deleted = await self._delete_draft(draft_id)
            if deleted:
                await self._append(events)
        return deleted

    async def _delete_draft(self, draft_id: str, *, handed_over: bool = False) -> bool:
        cursor = await self._db.execute("DELETE FROM drafts WHERE id = ?", (draft_id,))
        await self._drop_sealed(draft_id, handed_over=handed_over)
        return cursor.rowcount == 1

    async def draft_of(self, owner: str) -> str | None:
        rows = await self._query("SELECT id FROM drafts WHERE owner = ?", (owner,), one=True)
        return rows[0][0] if rows else None

    async def expired_drafts(self, now: datetime, limit: int) -> list[str]:
        rows = await self._query(
            "SELECT id FROM drafts WHERE expires_at <= ? ORDER BY expires_at LIMIT ?", (_utc(now), limit)
        )
        return [row[0] for row in rows]

    # -- handoffs -------------------------------------------------------------------------------

    async def add_handoff(self, handoff: Handoff, events: Events = ()) -> Handoff:
        handoff = handoff.model_copy(update={"version": 1})
        sealed = seal_client(self._sealer, handoff.id, handoff.client)
        async with self._write(handoff.id, sealed) as db:
            try:
                await db.execute(
                    "INSERT INTO handoffs (id, reference, draft_id, version, state, due_at, doc, pending_for, owner,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        handoff.id,
                        handoff.reference,
                        handoff.draft_id,
                        handoff.version,
                        handoff.state.value,
                        _utc(handoff.due_at),
                        envelope(handoff),
                        handoff.pending_key,
                        handoff.owner,
                        _utc(handoff.created_at),
                    ),
                )
            except sqlite3.IntegrityError as error:
                raise Conflict(handoff.reference) from error
            await self._put_sealed(handoff.id, sealed, new=True)
            await self._append(events)
        return handoff

    async def _handoff_where(self, column: str, value: str) -> Handoff | None:
        rows = await self._sealed_query(
            f"SELECT d.doc, {SEALED_COLUMNS} FROM handoffs d {SEALED_JOIN} WHERE d.{column} = ?", (value,), one=True)
        return next(iter(self._with_sealed(Handoff, rows)), None)

    async def get_handoff(self, handoff_id: str) -> Handoff | None:
        return await self._handoff_where("id", handoff_id)

    async def handoff_for_draft(self, draft_id: str) -> Handoff | None:
        return await self._handoff_where("draft_id", draft_id)

    async def handoff_by_reference(self, reference: str) -> Handoff | None:
        return await self._handoff_where("reference", reference)

    async def save_handoff(
        self, handoff: Handoff, events: Events = (), *, mark_sent: FingerprintMark | None = None,
        drop_draft: str | None = None,
    ) -> Handoff:
        saved = handoff.model_copy(update={"version": handoff.version + 1})
        sealed, kept = await self._reseal(handoff.id, handoff.client)
        async with self._write(handoff.id, None if kept else sealed) as db:
            cursor = await db.execute(
                "UPDATE handoffs SET version = ?, state = ?, due_at = ?, doc = ?, pending_for = ?"
                " WHERE id = ? AND version = ?",
                (saved.version, saved.state.value, _utc(saved.due_at), envelope(saved), saved.pending_key, handoff.id,
                 handoff.version),
            )
            if cursor.rowcount != 1:
                raise Conflict(handoff.reference)
            if not kept:
                await self._put_sealed(handoff.id, sealed)
            if mark_sent is not None:
                await self._mark_sent(mark_sent.fingerprint, mark_sent.at)
            if drop_draft is not None:  # into the handoff (delivered, deferred, corrected) or purged with it
                await self._delete_draft(drop_draft, handed_over=handoff.client is not None)
            await self._append(events)
        return saved

    # -- batched sweep writes (issue 16) ---------------------------------------------------------

    async def save_handoffs(self, changes: Sequence[tuple[Handoff, Events]]) -> list[Handoff | None]:
        """One transaction for all of them: the stored versions read once, the envelopes of those
        still at their version written in one statement, their events chained in order. The
        sealed data is not touched (the contract: it is as stored)."""
        if not changes:
            return []
        async with self._write() as db:
            ids = [handoff.id for handoff, _ in changes]
            stored: dict[str, int] = {}
            for start in range(0, len(ids), 500):  # SQLite's bound on parameters, with room to spare
                chunk = ids[start:start + 500]
                cursor = await db.execute(
                    f"SELECT id, version FROM handoffs WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
                stored.update((row[0], row[1]) for row in await cursor.fetchall())
            saved: list[Handoff | None] = []
            rows: list[tuple[object, ...]] = []
            events: list[AuditEvent] = []
            for handoff, its_events in changes:
                if stored.get(handoff.id) != handoff.version:
                    saved.append(None)
                    continue
                stored[handoff.id] = handoff.version + 1  # the same record twice: the second one conflicts
                written = handoff.model_copy(update={"version": handoff.version + 1})
                rows.append((written.version, written.state.value, _utc(written.due_at), envelope(written),
                             handoff.id, handoff.version))
                events.extend(its_events)
                saved.append(written)
            if rows:
                await db.executemany("UPDATE handoffs SET version = ?, state = ?, due_at = ?, doc = ?"
                                     " WHERE id = ? AND version = ?", rows)
            await self._append(events)
        return saved

    async def delete_handoff(self, handoff_id: str, events: Events = ()) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM handoffs WHERE id = ?", (handoff_id,))
            await self._drop_sealed(handoff_id)
            await self._append(events)

    async def due_handoffs(self, now: datetime, limit: int) -> list[Handoff | UnreadableRecord]:
        rows = await self._sealed_query(
            f"SELECT d.doc, {SEALED_COLUMNS} FROM handoffs d {SEALED_JOIN}"
            " WHERE d.due_at <= ? ORDER BY d.due_at LIMIT ?",
            (_utc(now), limit),
        )
        return [self._handoff_or_unreadable(row) for row in rows]

    async def count_open(self) -> int:
        (row,) = await self._query("SELECT count(*) FROM handoffs WHERE state IN ('delivering', 'delivered')")
        return int(row[0])

    async def open_handoffs(self, limit: int) -> list[Handoff | UnreadableRecord]:
        # A scan of the handoffs: only run once the protocol (or an agency's part) has ended.
        rows = await self._query(
            f"SELECT d.doc, {SEALED_COLUMNS} FROM handoffs d {SEALED_JOIN}"
            " WHERE d.state IN ('delivering', 'delivered') ORDER BY d.rowid LIMIT ?",
            (limit,),
        )
        return [self._handoff_or_unreadable(row) for row in rows]

    # -- the trajectbegeleider's side (issue 14: openstaand) ----------------------------------------

    async def pending_for(self, recipient: str, offset: int, limit: int) -> list[Handoff | UnreadableRecord]:
        rows = await self._sealed_query(
            f"SELECT d.doc, {SEALED_COLUMNS} FROM handoffs d {SEALED_JOIN}"
            " WHERE d.pending_for = ? ORDER BY d.rowid LIMIT ? OFFSET ?",
            (recipient, limit, offset),
        )
        return [self._handoff_or_unreadable(row) for row in rows]

    async def counsellor_handoffs(self, owner: str, limit: int, offset: int = 0) -> list[Handoff | UnreadableRecord]:
        rows = await self._sealed_query(
            f"SELECT d.doc, {SEALED_COLUMNS} FROM handoffs d {SEALED_JOIN}"
            " WHERE d.owner = ? ORDER BY d.created_at DESC, d.rowid DESC LIMIT ? OFFSET ?",
            (owner, limit, offset),
        )
        return [self._handoff_or_unreadable(row) for row in rows]

    async def next_due(self) -> datetime | None:
        (row,) = await self._query(
            "SELECT min(t) FROM (SELECT min(due_at) AS t FROM handoffs WHERE due_at IS NOT NULL"
            " UNION ALL SELECT min(expires_at) FROM drafts)"
        )
        return datetime.fromisoformat(row[0]) if row[0] else None

    # -- sent clients and audit -----------------------------------------------------------------

    async def last_sent(self, fingerprint: str) -> datetime | None:
        rows = await self._query("SELECT last_sent_at FROM sent_clients WHERE fingerprint = ?", (fingerprint,),
                                 one=True)
        return datetime.fromisoformat(rows[0][0]) if rows else None

    async def mark_sent(self, fingerprint: str, at: datetime) -> None:
        async with self._write():
            await self._mark_sent(fingerprint, at)

    async def _mark_sent(self, fingerprint: str, at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO sent_clients (fingerprint, last_sent_at) VALUES (?, ?)"
            " ON CONFLICT (fingerprint) DO UPDATE SET last_sent_at = excluded.last_sent_at",
            (fingerprint, _utc(at)),  # UTC: the retention sweep's index sorts it as time
        )

    async def append_audit(self, *events: AuditEvent) -> None:
        async with self._write():
            await self._append(events)

    async def _append(self, events: Events) -> None:
        """Chain ``events`` onto the trail, inside the caller's transaction."""
        if not events:
            return
        cursor = await self._db.execute(  # the last link and the highest number ever used, in one go
            "SELECT (SELECT mac FROM audit ORDER BY seq DESC LIMIT 1),"
            " max(coalesce((SELECT max(seq) FROM audit), 0),"
            " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0))"
        )
        previous, highest = await cursor.fetchone()  # type: ignore[misc]
        mac, rows = previous or GENESIS, []
        for seq, event in enumerate(events, start=int(highest) + 1):
            mac = link(self._sealer.audit_key, mac, event, seq)
            rows.append((seq, event.at.astimezone(UTC).isoformat(), event.event.value, event.subject, event.actor,
                         event.agency.value if event.agency else None, event.reason, mac))
        await self._db.executemany(
            "INSERT INTO audit (seq, at, event, subject, actor, agency, reason, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    async def _sequence(self) -> int:
        """AUTOINCREMENT's own record of the highest number ever used."""
        cursor = await self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'")
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def audit_head(self) -> int:
        async with self._turn():
            with _faults():
                return await self._sequence()

    async def ended_with_content(self) -> list[str]:
        rows = await self._query(
            "SELECT h.reference FROM handoffs h JOIN sealed s ON s.record_id = h.id WHERE h.state NOT IN (?, ?)",
            ("delivering", "delivered"),
        )
        return [row[0] for row in rows]

    async def audit_events(self, since: datetime | None = None, until: datetime | None = None) -> list[AuditEvent]:
        # ISO strings of UTC instants sort as time; stored events are always UTC.
        rows = await self._query(
            "SELECT seq, at, event, subject, actor, agency, reason, mac FROM audit"
            " WHERE at >= ? AND at < ? ORDER BY seq",
            (since.astimezone(UTC).isoformat() if since else "", until.astimezone(UTC).isoformat() if until else "~"),
        )
        return [
            AuditEvent(
                seq=r[0],
                at=datetime.fromisoformat(r[1]),
                event=r[2],
                subject=r[3],
                actor=r[4],
                agency=r[5],
                reason=r[6],
                mac=r[7],
            )
            for r in rows
        ]

    # -- the bot's own retention (issue 15) ------------------------------------------------------

    async def forget_fingerprints(self, before: datetime, limit: int, events: Callable[[int], Events]) -> int:
        async with self._write() as db:
            cursor = await db.execute(  # a range of the index sent_clients_sent (test_sqlite_plans.py)
                "SELECT fingerprint FROM sent_clients WHERE last_sent_at < ? ORDER BY last_sent_at LIMIT ?",
                (_utc(before), limit),
            )
            old = [(row[0],) for row in await cursor.fetchall()]
            if old:
                await db.executemany("DELETE FROM sent_clients WHERE fingerprint = ?", old)
                await self._append(events(len(old)))
        return len(old)

    async def audit_checkpoint(self) -> Checkpoint | None:
        rows = await self._query("SELECT doc FROM audit_checkpoint WHERE id = 1")
        return Checkpoint.model_validate_json(rows[0][0]) if rows else None

    async def audit_after(self, after: int, limit: int) -> list[AuditEvent]:
        rows = await self._query(  # a range of the primary key
            "SELECT seq, at, event, subject, actor, agency, reason, mac FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        )
        return [AuditEvent(seq=r[0], at=datetime.fromisoformat(r[1]), event=r[2], subject=r[3], actor=r[4],
                           agency=r[5], reason=r[6], mac=r[7]) for r in rows]

    async def prune_audit(self, checkpoint: Checkpoint, previous: Checkpoint | None, events: Events) -> int:
        async with self._write() as db:
            cursor = await db.execute("SELECT seq FROM audit_checkpoint WHERE id = 1")
            row = await cursor.fetchone()
            if (row[0] if row else None) != (previous.seq if previous else None):
                raise Conflict("audit checkpoint")
            await db.execute(
                "INSERT INTO audit_checkpoint (id, seq, doc) VALUES (1, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, doc = excluded.doc",
                (checkpoint.seq, checkpoint.model_dump_json()),
            )
            await self._append(events)  # first: the chain's last link stays a row of the table
            deleted = (await db.execute("DELETE FROM audit WHERE seq <= ?", (checkpoint.seq,))).rowcount
            # The DPO notifications of pruned incidents go with them, once done (ids begin with the incident's number).
            await db.execute("DELETE FROM notifications WHERE id < ? AND due_at IS NULL",
                             (f"{checkpoint.seq + 1:012d}",))
        return int(deleted)

    # -- DPO notifications (art. 9) -------------------------------------------------------------

    async def incident_events(self, after: int, limit: int) -> list[AuditEvent]:
        rows = await self._query(  # a range of the primary key: never the whole trail
            "SELECT seq, at, event, subject, actor, agency, reason, mac FROM audit"
            " WHERE seq > ? AND event = 'incident' ORDER BY seq LIMIT ?", (after, limit),
        )
        return [AuditEvent(seq=r[0], at=datetime.fromisoformat(r[1]), event=r[2], subject=r[3], actor=r[4],
                           agency=r[5], reason=r[6], mac=r[7]) for r in rows]

    async def incident_cursor(self) -> int:
        rows = await self._query("SELECT seq FROM incident_cursor WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    async def add_notifications(self, notifications: Sequence[Notification], cursor: int) -> int:
        async with self._write() as db:
            created = 0
            for n in notifications:
                result = await db.execute(
                    "INSERT INTO notifications (id, version, due_at, doc) VALUES (?, 1, ?, ?)"
                    " ON CONFLICT (id) DO NOTHING",
                    (n.id, _utc(n.due_at), n.model_copy(update={"version": 1}).model_dump_json()),
                )
                created += result.rowcount
            await db.execute(
                "INSERT INTO incident_cursor (id, seq) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET seq = max(seq, excluded.seq)", (cursor,),
            )
        return created

    async def get_notification(self, notification_id: str) -> Notification | None:
        rows = await self._query("SELECT doc FROM notifications WHERE id = ?", (notification_id,), one=True)
        return Notification.model_validate_json(rows[0][0]) if rows else None

    async def save_notification(self, notification: Notification, events: Events = ()) -> Notification:
        saved = notification.model_copy(update={"version": notification.version + 1})
        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE notifications SET version = ?, due_at = ?, doc = ? WHERE id = ? AND version = ?",
                (saved.version, _utc(saved.due_at), saved.model_dump_json(), notification.id, notification.version),
            )
            if cursor.rowcount != 1:
                raise Conflict(notification.id)
            await self._append(events)
        return saved

    async def due_notifications(self, now: datetime, limit: int) -> list[Notification]:
        rows = await self._query(
            "SELECT doc FROM notifications WHERE due_at <= ? ORDER BY due_at LIMIT ?", (_utc(now), limit)
        )
        return [Notification.model_validate_json(r[0]) for r in rows]

    async def notifications(self) -> list[Notification]:
        rows = await self._query("SELECT doc FROM notifications ORDER BY id")
        return [Notification.model_validate_json(r[0]) for r in rows]
