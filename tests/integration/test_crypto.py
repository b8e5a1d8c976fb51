"""Envelope encryption: per-record keys, bound to the record, under one master key."""

import pytest
from cryptography.exceptions import InvalidTag

from bot.adapters.crypto import Sealed, Sealer


def test_seal_and_open(sealer):
    sealed = sealer.seal("rec-1", b"Amina")
    assert b"Amina" not in sealed.ciphertext + sealed.wrapped_key
    assert sealer.open("rec-1", sealed) == b"Amina"


def test_each_record_has_its_own_key(sealer):
    assert sealer.seal("rec-1", b"x").wrapped_key != sealer.seal("rec-1", b"x").wrapped_key


def test_ciphertext_is_bound_to_its_record(sealer):
    sealed = sealer.seal("rec-1", b"Amina")
    with pytest.raises(InvalidTag):
        sealer.open("rec-2", sealed)


def test_another_master_key_cannot_open(sealer):
    with pytest.raises(ValueError):
        Sealer(bytes(32)).open("rec-1", sealer.seal("rec-1", b"x"))


async def test_key_rotation_keeps_pending_records_readable_and_purge_still_shreds(tmp_path):
    """Records written under key 1 stay readable after rotating to key 2; new records use key 2;
    keyed hashes do not change; after a purge the record's key is gone."""
    from bot.adapters.sqlite_store import SqliteStore
    from tests import factories as f

    key1, key2 = bytes(range(32)), bytes(range(1, 33))
    before = Sealer(key1)
    store = await SqliteStore.open(tmp_path / "r.db", before)
    old = await store.add_handoff(f.handoff(client=f.client("Rotatie Sentinel")))
    await store.close()

    after = Sealer(key2, previous=(key1,))
    assert after.fingerprint_key == before.fingerprint_key and after.audit_key == before.audit_key
    store = await SqliteStore.open(tmp_path / "r.db", after)
    loaded = await store.get_handoff(old.id)
    assert loaded.client.identity.naam == "Rotatie Sentinel"
    saved = await store.save_handoff(loaded)  # any write re-seals under the current key
    new = await store.add_handoff(f.handoff(client=f.client("Nieuw")))
    key_ids = {row[0] for row in await store._query("SELECT key_id FROM record_keys")}
    assert key_ids == {after.key_id}
    with pytest.raises(ValueError, match="unknown master key"):
        Sealer(key1).open(new.id, Sealed(after.key_id, b"x" * 60, b"y" * 40))
    await store.save_handoff(saved.model_copy(update={"client": None}))
    assert await store._query("SELECT 1 FROM record_keys WHERE record_id = ?", (old.id,)) == []
    await store.close()


def test_a_key_that_was_dropped_too_early_is_named():
    key1, key2 = bytes(range(32)), bytes(range(1, 33))
    sealed = Sealer(key1).seal("rec", b"x")
    with pytest.raises(ValueError, match="BOT_DATA_KEYS_PREVIOUS"):
        Sealer(key2).open("rec", sealed)
