"""Backups hold no readable client data after a purge (issue 13, art. 6).

The content store (the SQLite file with its WAL; the content table's entities) is copied at a
moment T, as a backup would; then records are purged. Afterwards everything the bot still holds —
the master key and the key store as it is now — is tried on every ciphertext in the copy: the
purged records open with none of it, while a record that was not purged still opens (so the
attempt is a real one). Also: the order of the two stores' writes under a real fault, the orphan
key sweep, the move of keys out of a store from before the key store, and the start-up refusal of
a key store that is not where the keys are.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.data.tables.aio import TableClient

from bot.adapters.crypto import Sealed, Sealer
from bot.adapters.sealing import envelope, key_ref, seal_client
from bot.adapters.sqlite_checks import StoreFileRefused, check_key_file
from bot.adapters.sqlite_store import KEY_GRACE, KEY_STORE_VERSION, MIGRATIONS, SqliteStore
from bot.adapters.table_store import CLIENT_OPTIONS, TableStore
from bot.app.ports import Unreadable
from bot.domain.handoff import HandoffState
from tests import factories as f

MASTER = bytes(range(32))
SECRET = "Zyxwvut Backupnaam"
def later() -> datetime:
    """When the key sweep counts any key left now as old (computed when asked: the suite may run
    for longer than the grace before it gets here)."""
    return datetime.now(UTC) + KEY_GRACE * 2


def opens(sealer: Sealer, ciphertexts: list[tuple[str, bytes]], keys: list[tuple[str, str, bytes]]) -> set[str]:
    """The records in ``ciphertexts`` (id, ciphertext) that any key in ``keys`` (record id, master
    key id, wrapped key) opens with the master key: every key tried on every ciphertext."""
    opened = set()
    for record_id, ciphertext in ciphertexts:
        for _, key_id, wrapped in keys:
            try:
                plaintext = sealer.open(record_id, Sealed(key_id, wrapped, ciphertext))
            except Exception:  # noqa: BLE001, S112 - a key that does not fit: try the next
                continue
            assert SECRET.encode() in plaintext or b"Gebleven" in plaintext
            opened.add(record_id)
    return opened


class Sqlite:
    """The SQLite store, its content copied as files, its key store read as it is on disk."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.path = tmp, tmp / "store.db"
        self.keys = SqliteStore.key_store_of(self.path)

    async def open(self, sealer: Sealer) -> SqliteStore:
        return await SqliteStore.open(self.path, sealer)

    async def copy_content(self) -> Path:
        backup = self.tmp / "backup"
        backup.mkdir(exist_ok=True)
        for suffix in ("", "-wal"):  # the file and its WAL, as a file-level backup copies them
            source = self.path.with_name(self.path.name + suffix)
            if source.exists():
                shutil.copyfile(source, backup / f"store.db{suffix}")
        assert not list(backup.glob("*.keys*"))
        return backup / "store.db"

    @staticmethod
    def ciphertexts(copy: Path) -> list[tuple[str, bytes]]:
        db = sqlite3.connect(copy)
        try:
            return [(r, bytes(c)) for r, c in db.execute("SELECT record_id, ciphertext FROM sealed")]
        finally:
            db.close()

    async def keys_now(self) -> list[tuple[str, str, bytes]]:
        db = sqlite3.connect(f"{self.keys.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT record_id, key_id, wrapped_key FROM record_keys")
            return [(record, key_id, bytes(wrapped)) for record, key_id, wrapped in rows]
        finally:
            db.close()

    async def key_bytes(self) -> bytes:
        """Every byte of the key store's files (the database and any journal), deleted pages included."""
        return b"".join(p.read_bytes() for p in self.tmp.glob("store.db.keys*"))


class Tables:
    """The Table Storage store, its content table's entities copied, its key table read as it is."""

    def __init__(self, azurite, name: str) -> None:
        self.azurite, self.name, self.key_table = azurite, name, f"{name}keys"

    def client(self, name: str) -> TableClient:
        return TableClient.from_connection_string(self.azurite.connection_string, name, **CLIENT_OPTIONS)

    async def open(self, sealer: Sealer) -> TableStore:
        return await TableStore.open(self.client(self.name), sealer, keys=self.client(self.key_table))

    async def copy_content(self) -> list[dict]:
        async with self.client(self.name) as table:
            return [dict(entity) async for entity in table.list_entities()]

    @staticmethod
    def ciphertexts(copy: list[dict]) -> list[tuple[str, bytes]]:
        return [(e["RowKey"][2:], bytes(e["Ciphertext"])) for e in copy if "Ciphertext" in e]

    async def keys_now(self) -> list[tuple[str, str, bytes]]:
        async with self.client(self.key_table) as keys:
            return [(e["PartitionKey"], e["KeyId"], bytes(e["WrappedKey"])) async for e in keys.list_entities()]

    async def key_bytes(self) -> bytes:
        return b"".join(wrapped for _, _, wrapped in await self.keys_now())


@pytest.fixture(params=["sqlite", "azure-tables"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        return Sqlite(tmp_path)
    return Tables(request.getfixturevalue("azurite"), request.getfixturevalue("table_name"))


async def test_a_copy_of_the_content_taken_before_a_purge_opens_nothing_after_it(backend):
    sealer = Sealer(MASTER)
    store = await backend.open(sealer)
    draft = await store.add_draft(f.draft(client=f.client(SECRET)))
    draft = await store.save_draft(draft.model_copy(update={"client": f.client(f"{SECRET} Twee")}))  # a new key
    sent = await store.add_handoff(f.handoff(draft_id=draft.id, client=f.client(SECRET)))
    gone = await store.add_handoff(f.handoff(client=f.client(SECRET)))
    kept = await store.add_handoff(f.handoff(client=f.client("Gebleven Klant")))

    copy = await backend.copy_content()  # the backup, at T
    before = await backend.keys_now()
    purged = {draft.id, sent.id, gone.id}
    assert opens(sealer, backend.ciphertexts(copy), before) == purged | {kept.id}  # at T, the copy opens

    await store.save_handoff(sent.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}),
                             drop_draft=draft.id)
    await store.delete_handoff(gone.id)
    await store.close()

    after = await backend.keys_now()  # everything the bot has now: the master key and the key store
    assert opens(Sealer(MASTER), backend.ciphertexts(copy), after) == {kept.id}
    assert {record for record, _, _ in after} == {kept.id}
    held = await backend.key_bytes()  # and no deleted page, no journal keeps a purged key
    for record, _, wrapped in before:
        assert (wrapped in held) == (record == kept.id)


async def test_a_draft_handed_over_to_its_handoff_loses_its_key_after_the_write(backend):
    """``verstuur``: the handoff takes the draft's data over, in the write that drops the draft. The
    draft's key is not needed after it; on SQLite it goes right after the write instead of inside it
    (no fsync on the reply's path, issue 16), by ``settle`` (and ``close``) at the latest. The handoff
    still opens, and so does nothing of the draft: not live, nor from a copy taken before."""
    sealer = Sealer(MASTER)
    store = await backend.open(sealer)
    draft = await store.add_draft(f.draft(client=f.client(SECRET)))
    handoff = await store.add_handoff(f.handoff(draft_id=draft.id, client=f.client(SECRET)))
    copy = await backend.copy_content()
    delivered = await store.save_handoff(handoff.model_copy(update={"state": HandoffState.DELIVERED}),
                                         drop_draft=draft.id)
    if isinstance(store, SqliteStore):
        await store.settle()
    assert await store.get_draft(draft.id) is None
    assert delivered.client is not None and (await store.get_handoff(handoff.id)).client.identity.naam == SECRET
    after = await backend.keys_now()
    assert {record for record, _, _ in after} == {handoff.id}
    assert opens(sealer, backend.ciphertexts(copy), after) == {handoff.id}
    await store.close()


async def test_a_restored_copy_reads_its_purged_records_as_unreadable(tmp_path):
    """Restoring the content from a backup (with the key store as it is) brings nothing purged
    back: those records come back as ``Unreadable`` (their key is missing), the others read whole."""
    live = Sqlite(tmp_path)
    store = await live.open(Sealer(MASTER))
    gone = await store.add_handoff(f.handoff(client=f.client(SECRET)))
    kept = await store.add_handoff(f.handoff(client=f.client("Gebleven Klant")))
    copy = await live.copy_content()
    await store.save_handoff(gone.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}))
    await store.close()

    restored = tmp_path / "restored"
    restored.mkdir()
    for file in copy.parent.iterdir():
        shutil.copyfile(file, restored / file.name)
    shutil.copyfile(live.keys, restored / live.keys.name)
    store = await SqliteStore.open(restored / "store.db", Sealer(MASTER))
    with pytest.raises(Unreadable, match="KeyMissing"):
        await store.get_handoff(gone.id)
    assert (await store.get_handoff(kept.id)).client.identity.naam == "Gebleven Klant"
    await store.close()


async def test_a_key_that_cannot_be_deleted_yet_is_swept_and_the_purge_stands(tmp_path, caplog):
    """A real fault between the two files' writes: another process holds the key store's write
    lock, so the key deletion after a purge cannot commit. The purge (content, audit) stands all the
    same; the key is left as an orphan, which the key sweep deletes once the store is free and the
    key old."""
    live = Sqlite(tmp_path)
    store = await live.open(Sealer(MASTER))
    handoff = await store.add_handoff(f.handoff(client=f.client(SECRET)))
    copy = await live.copy_content()

    writer = sqlite3.connect(live.keys, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the write lock, held
    closed = await store.save_handoff(handoff.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}))
    assert closed.client is None and (await store.get_handoff(handoff.id)).client is None
    assert "a key left for the key sweep" in caplog.text and SECRET not in caplog.text
    writer.execute("COMMIT")
    writer.close()

    assert [r for r, _, _ in await live.keys_now()] == [handoff.id]  # the orphan, still there
    assert await store.sweep_keys() == 0  # too young: it might be a write in progress
    assert await store.sweep_keys(later()) == 1
    assert await live.keys_now() == [] and opens(Sealer(MASTER), live.ciphertexts(copy), []) == set()
    await store.close()


async def test_a_reader_holds_the_checkpoint_back_until_it_goes(tmp_path, caplog):
    """In WAL mode a reader never blocks the key's deletion, but while it reads it keeps the old
    page, so the checkpoint that zeroes the key on disk waits: the purge says so in the log, and the
    tidy-up after it makes the checkpoint once the reader has gone. Then no byte of the key is left
    in any of the key store's files."""
    live = Sqlite(tmp_path)
    store = await live.open(Sealer(MASTER))
    handoff = await store.add_handoff(f.handoff(client=f.client(SECRET)))
    before = await live.keys_now()

    reader = sqlite3.connect(live.keys, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM record_keys").fetchone()  # a read snapshot, held
    await store.save_handoff(handoff.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}))
    assert await live.keys_now() == []  # deleted at once
    assert "key store not checkpointed" in caplog.text and SECRET not in caplog.text
    reader.execute("COMMIT")
    reader.close()

    await store.settle()
    held = await live.key_bytes()
    assert not any(wrapped in held for _, _, wrapped in before)
    await store.close()


async def test_orphan_keys_are_swept_on_both_backends(backend):
    """A key no record names (a crash after the key, before the record) is deleted by the sweep
    once it is older than the grace period; the keys records name are never touched."""
    sealer = Sealer(MASTER)
    store = await backend.open(sealer)
    kept = await store.add_handoff(f.handoff(client=f.client("Gebleven Klant")))
    orphan = sealer.seal("never-written", b"{}")
    await store._put_key("never-written", orphan) if isinstance(store, TableStore) else await _sqlite_key(
        store, "never-written", orphan)
    assert await store.sweep_keys() == 0
    assert await store.sweep_keys(later()) == 1
    assert {record for record, _, _ in await backend.keys_now()} == {kept.id}
    assert (await store.get_handoff(kept.id)).client is not None
    await store.close()


async def _sqlite_key(store: SqliteStore, record_id: str, sealed: Sealed) -> None:
    async with store._transaction(store._keys) as keys:  # the key store's own connection
        await keys.execute("INSERT INTO record_keys (record_id, key_ref, key_id, wrapped_key, created_at)"
                         " VALUES (?, ?, ?, ?, ?)", (record_id, key_ref(sealed), sealed.key_id, sealed.wrapped_key,
                                                     datetime.now(UTC).isoformat()))


async def test_keys_move_out_of_a_store_from_before_the_key_store(tmp_path):
    """A store whose content file still holds ``record_keys``: ``open`` moves them to the key store,
    the records read as before, and the content file (with its WAL) keeps no wrapped key."""
    sealer, path = Sealer(MASTER), tmp_path / "store.db"
    handoff = f.handoff(client=f.client(SECRET)).model_copy(update={"version": 1})
    sealed = seal_client(sealer, handoff.id, handoff.client)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for number, script in enumerate(MIGRATIONS[:KEY_STORE_VERSION - 1], start=1):
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute("INSERT INTO handoffs (id, reference, draft_id, version, state, doc) VALUES (?, ?, ?, 1, ?, ?)",
               (handoff.id, handoff.reference, handoff.draft_id, handoff.state.value, envelope(handoff)))
    db.execute("INSERT INTO record_keys VALUES (?, ?, ?)", (handoff.id, sealed.key_id, sealed.wrapped_key))
    db.execute("INSERT INTO sealed VALUES (?, ?)", (handoff.id, sealed.ciphertext))
    db.close()

    store = await SqliteStore.open(path, sealer)
    assert (await store.get_handoff(handoff.id)).client.identity.naam == SECRET
    assert await store.sealed_key_ids() == {sealer.key_id: 1}
    content = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*") if ".keys" not in p.name)
    keys = b"".join(p.read_bytes() for p in tmp_path.glob("store.db.keys*"))  # the key store and its WAL
    assert sealed.wrapped_key not in content and sealed.wrapped_key in keys
    await store.save_handoff(await store.get_handoff(handoff.id))  # re-sealed: the moved key is superseded
    await store.close()
    assert [r for r, _, _ in await Sqlite(tmp_path).keys_now()] == [handoff.id]


async def test_table_records_from_before_the_key_table_are_moved(azurite, table_name):
    """An entity that still carries its wrapped key reads as it is, and ``open`` moves the key out."""
    tables, sealer = Tables(azurite, table_name), Sealer(MASTER)
    store = await tables.open(sealer)
    handoff = await store.add_handoff(f.handoff(client=f.client(SECRET)))
    async with tables.client(table_name) as table, tables.client(tables.key_table) as keys:
        entity = await table.get_entity("tk", f"h|{handoff.id}")
        key = await keys.get_entity(handoff.id, entity["KeyRef"])
        legacy = {k: v for k, v in entity.items() if k != "KeyRef"} | {"WrappedKey": key["WrappedKey"]}
        await table.upsert_entity(legacy, mode="replace")
        await keys.delete_entity(handoff.id, entity["KeyRef"])
    assert (await store.get_handoff(handoff.id)).client.identity.naam == SECRET  # read as it is
    await store.close()

    store = await tables.open(sealer)
    async with tables.client(table_name) as table:
        moved = await table.get_entity("tk", f"h|{handoff.id}")
    assert "WrappedKey" not in moved and [r for r, _, _ in await tables.keys_now()] == [handoff.id]
    assert (await store.get_handoff(handoff.id)).client.identity.naam == SECRET
    await store.close()


async def test_start_up_refuses_a_key_store_that_is_not_where_the_keys_are(tmp_path):
    live = Sqlite(tmp_path)
    store = await live.open(Sealer(MASTER))
    await store.add_handoff(f.handoff(client=f.client(SECRET)))
    await store.close()
    check_key_file(live.keys, live.path)  # where it is: fine
    elsewhere = tmp_path / "elsewhere.keys"
    with pytest.raises(StoreFileRefused, match="holds 1 records sealed with keys kept there") as refused:
        check_key_file(elsewhere, live.path)
    assert str(elsewhere) in str(refused.value) and SECRET not in str(refused.value)
    sqlite3.connect(elsewhere).execute("PRAGMA user_version = 1").connection.close()  # on purpose: an empty one
    check_key_file(elsewhere, live.path)
    with pytest.raises(StoreFileRefused, match="another database"):
        check_key_file(live.path, live.path)


async def test_a_process_that_died_writing_the_key_store_does_not_stop_the_reads(tmp_path):
    """Another process is killed in the middle of a key store commit (its pages left in the WAL,
    never committed): the read goes on with the keys as they were."""
    import os
    import subprocess
    import sys

    live = Sqlite(tmp_path)
    store = await live.open(Sealer(MASTER))
    handoff = await store.add_handoff(f.handoff(client=f.client(SECRET)))
    killed = subprocess.run([sys.executable, "-c", (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA cache_size = 1')\n"
        "db.execute('BEGIN IMMEDIATE')\n"
        "db.execute(\"UPDATE record_keys SET wrapped_key = randomblob(60)\")\n"
        "db.execute(\"WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 200)"
        " INSERT INTO record_keys (record_id, key_ref, key_id, wrapped_key)"
        " SELECT 'x' || v, '', 'k', randomblob(4000) FROM n\")\n"
        "os._exit(9)\n"), str(live.keys)], timeout=30)
    assert killed.returncode == 9 and os.path.getsize(f"{live.keys}-wal") > 200 * 4000  # its pages, uncommitted
    assert (await store.get_handoff(handoff.id)).client.identity.naam == SECRET
    await store.close()


async def test_a_purge_is_synced_to_disk_before_and_after_its_keys_go(tmp_path, monkeypatch):
    """The content file runs ``synchronous = NORMAL``, so a power loss may roll back its last
    commits. A purge must not be one of them: the content's WAL is synced while the key still exists
    (so the purge cannot roll back under a deleted key), and the key store is checkpointed after the
    key is gone (SQLite syncs it then; so the key cannot come back, and its WAL is empty). Power loss
    itself cannot be staged here; the order of the syncs against the files as they are on disk can,
    with the real ``os.fsync`` doing the syncing."""
    from bot.adapters import sqlite_store

    live = Sqlite(tmp_path)
    store = await live.open(Sealer(MASTER))
    handoff = await store.add_handoff(f.handoff(client=f.client(SECRET)))
    synced: list[tuple[str, list[str]]] = []
    real = sqlite_store.os.fsync

    def fsync(fd: int) -> None:
        real(fd)
        name = Path(f"/proc/self/fd/{fd}").readlink().name
        keys = [r for (r,) in sqlite3.connect(live.keys).execute("SELECT record_id FROM record_keys")]
        synced.append((name, keys))

    monkeypatch.setattr(sqlite_store.os, "fsync", fsync)
    await store.save_handoff(handoff.model_copy(update={"reminders_sent": 1}))
    assert synced == []  # an ordinary save (the seal kept) is not synced: commits stay ~0.1 ms
    await store.save_handoff((await store.get_handoff(handoff.id)).model_copy(
        update={"state": HandoffState.TRANSFERRED, "client": None}))
    assert synced == [("store.db-wal", [handoff.id])]
    assert await live.keys_now() == [] and Path(f"{live.keys}-wal").stat().st_size == 0  # checkpointed
    await store.close()


async def test_the_key_stores_checkpoints_succeed_with_the_content_file_attached(tmp_path, caplog):
    """The key store's connection has the content file attached read-only. A checkpoint without a
    schema name would try that file too and fail (SQLITE_IOERR_WRITE) after the key store's own
    part: the keys were gone, but every tidy-up and purge logged "not checkpointed" and kept
    asking again. Only the key store is checkpointed, and with no reader about it succeeds quietly."""
    live = Sqlite(tmp_path)
    store = await live.open(Sealer(MASTER))
    handoff = await store.add_handoff(f.handoff(client=f.client(SECRET)))
    await store.settle()  # the tidy-up after a key-store write
    assert Path(f"{live.keys}-wal").stat().st_size == 0
    await store.save_handoff(handoff.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}))
    assert await live.keys_now() == [] and Path(f"{live.keys}-wal").stat().st_size == 0  # the purge's
    assert Path(f"{live.path}-wal").stat().st_size > 0  # the content's WAL had frames all along
    await store.settle()
    assert "not checkpointed" not in caplog.text
    await store.close()


async def test_the_tidy_up_checkpoints_the_content_file_which_never_does_it_in_a_commit(tmp_path):
    """The content connection commits on the event loop's thread and so never checkpoints by itself
    (a checkpoint syncs); the tidy-up after a write copies its WAL into the file, on the thread."""
    live = Sqlite(tmp_path)
    store = await live.open(Sealer(MASTER))
    await store.settle()
    before = live.path.stat().st_size
    for _ in range(20):
        await store.add_handoff(f.handoff(client=f.client(SECRET)))
    assert live.path.stat().st_size == before  # all of it in the WAL still
    await store.settle()
    assert live.path.stat().st_size > before
    await store.close()


async def test_a_key_store_from_before_wal_is_converted_at_open(tmp_path):
    """A key store written by a version that kept a rollback journal opens in WAL mode, its keys
    intact (issue 16)."""
    live = Sqlite(tmp_path)
    store = await live.open(Sealer(MASTER))
    handoff = await store.add_handoff(f.handoff(client=f.client(SECRET)))
    await store.close()
    old = sqlite3.connect(live.keys, isolation_level=None)
    assert old.execute("PRAGMA journal_mode = TRUNCATE").fetchone() == ("truncate",)
    old.close()

    store = await live.open(Sealer(MASTER))
    assert (await store.get_handoff(handoff.id)).client.identity.naam == SECRET
    await store.close()
    reader = sqlite3.connect(live.keys, isolation_level=None)
    assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # WAL is kept in the file's header
    reader.close()
