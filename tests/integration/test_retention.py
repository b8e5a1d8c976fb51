"""The bot's own retention (issue 15), on SQLite and on Azurite: fill the store with records of
known ages, sweep, and assert what remains; the audit trail verifies from its checkpoint after
pruning, and tampering with the checkpoint is found."""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.adapters.clock import FixedClock
from bot.adapters.sqlite_store import SqliteStore
from bot.adapters.table_store import AUDIT, TableStore
from bot.app.evidence import verify
from bot.app.retention import RetentionSweep
from bot.app.services import Terugkoppeling
from bot.domain.handoff import HandoffState
from bot.domain.model import AuditEvent
from bot.domain.policy import Policy
from bot.domain.retention import BRUSSELS, Retention
from bot.domain.schedule import Schedule
from tests import factories as f
from tests.support.audit import edit_event

NOW = f.NOW  # 30/11/2026
DAY = timedelta(days=1)
YEAR = timedelta(days=365)
EDGE = datetime(2021, 11, 30, tzinfo=BRUSSELS)  # five years before NOW, at midnight in Brussels
OLD = EDGE - 2 * YEAR  # well past it


class NothingToSay:
    """The retention sweep tells nobody anything: any call to Teams fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the retention sweep called the messenger ({name})")


def service(store, sealer, clock, rules: Retention | None = None, signer=None) -> Terugkoppeling:
    return Terugkoppeling(
        store=store, directory=None, messenger=NothingToSay(), clock=clock, policy=Policy(),
        fingerprint_key=sealer.fingerprint_key, schedule=Schedule(),
        retention=RetentionSweep(store=store, clock=clock, rules=rules or Retention(), audit_key=sealer.audit_key,
                                 signer=signer),
    )


async def append(store, *moments: datetime, name: str = "sent") -> None:
    for moment in moments:
        await store.append_audit(AuditEvent(at=moment, event=name, subject="TK-ABC123", actor="aad-bram"))


async def whole(store, sealer, public=None):
    verdict = verify(await store.audit_events(), await store.audit_head(), sealer.audit_key,
                     await store.audit_checkpoint(), public)
    assert verdict.intact, verdict
    return verdict


async def test_records_of_known_ages_after_one_sweep(store, sealer):
    # Fingerprints: last sent 25 months, 23 months and a day ago; one sent 30 months ago and again last month.
    for fingerprint, age in (("fp-25m", 761 * DAY), ("fp-23m", 700 * DAY), ("fp-1d", DAY), ("fp-again", 913 * DAY)):
        await store.mark_sent(fingerprint, NOW - age)
    await store.mark_sent("fp-again", NOW - 30 * DAY)
    # Audit: six events older than five years (the last one out of time order, as a replica with a
    # skewed clock would write it, and one a minute before the edge), then three younger ones.
    await append(store, EDGE - 400 * DAY, EDGE - 300 * DAY, EDGE - 3 * DAY, EDGE - DAY, EDGE - timedelta(minutes=1),
                 EDGE - 2 * DAY)
    await append(store, EDGE, NOW - 400 * DAY, NOW - DAY)
    # Envelopes: closed 400 days ago (kept 365), closed 100 days ago; a draft past its time, a fresh one.
    old = await store.add_handoff(f.handoff(state=HandoffState.TRANSFERRED, client=None, closed_at=NOW - 400 * DAY,
                                            due_at=NOW - 35 * DAY))
    recent = await store.add_handoff(f.handoff(state=HandoffState.TRANSFERRED, client=None,
                                               closed_at=NOW - 100 * DAY, due_at=NOW + 265 * DAY))
    stale = await store.add_draft(f.draft(expires_at=NOW - DAY, counsellor=f.OTHER_COUNSELLOR))
    fresh = await store.add_draft(f.draft(expires_at=NOW + DAY))

    done = await service(store, sealer, FixedClock(NOW)).sweep()

    assert done["fingerprints_deleted"] == 1 and done["audit_events_pruned"] == 6, done
    assert done["forget"] == 1 and done["draft_expired"] == 1 and not done["failed"], done
    assert await store.last_sent("fp-25m") is None
    assert await store.last_sent("fp-23m") == NOW - 700 * DAY and await store.last_sent("fp-1d") == NOW - DAY
    assert await store.last_sent("fp-again") == NOW - 30 * DAY  # the older sending's index entry is not it
    assert await store.get_handoff(old.id) is None and await store.get_handoff(recent.id) is not None
    assert await store.get_draft(stale.id) is None and await store.get_draft(fresh.id) is not None

    events = await store.audit_events()
    assert [e.seq for e in events][:3] == [7, 8, 9]  # #1-#6 pruned; #7 (just under five years) is the first kept
    assert [e.at for e in events[:3]] == [EDGE, NOW - 400 * DAY, NOW - DAY]  # (#7 exactly at the edge: kept)
    said = {e.event.value: e.reason for e in events if e.subject in ("fingerprints", "audit")}
    assert said == {"fingerprints_deleted": "1 (last sent before 2024-11-30)",
                    "audit_pruned": "6 events #1-#6 (2020-10-25 to 2021-11-29)"}, said
    checkpoint = await store.audit_checkpoint()
    assert (checkpoint.seq, checkpoint.count, checkpoint.first_at) == (6, 6, EDGE - 400 * DAY)
    assert checkpoint.last_at == EDGE - timedelta(minutes=1)
    verdict = await whole(store, sealer)
    assert "from the checkpoint of 30/11/2026 (sealed (not signed)): 6 older events, #1 to #6" in verdict.starts()

    # The same sweep again does nothing; a year later the next checkpoint carries the count on.
    again = await service(store, sealer, FixedClock(NOW)).sweep()
    assert not again["audit_events_pruned"] and not again["fingerprints_deleted"], again
    await service(store, sealer, FixedClock(NOW + YEAR)).sweep()
    later = await store.audit_checkpoint()
    assert (later.count, later.first_at, later.seq) == (7, EDGE - 400 * DAY, 7)  # #7 too, now past five years
    assert await store.last_sent("fp-23m") is None and await store.last_sent("fp-1d") is not None
    await whole(store, sealer)


async def test_past_the_protocols_end_every_fingerprint_goes(store, sealer):
    for fingerprint in ("fp-a", "fp-b", "fp-c"):
        await store.mark_sent(fingerprint, NOW - 10 * DAY)
    rules = Retention(protocol_end=date(2026, 11, 29))
    done = await service(store, sealer, FixedClock(NOW), rules).sweep()
    assert done["fingerprints_deleted"] == 3
    assert [await store.last_sent(fp) for fp in ("fp-a", "fp-b", "fp-c")] == [None, None, None]
    assert [e.reason for e in await store.audit_events()] == ["3 (protocol ended)"]
    await whole(store, sealer)


async def test_many_fingerprints_are_deleted_in_batches(store, sealer):
    for i in range(130):
        await store.mark_sent(f"fp-{i:03d}", NOW - 800 * DAY + i * timedelta(minutes=1))
    await store.mark_sent("fp-keep", NOW - DAY)
    sweep = RetentionSweep(store=store, clock=FixedClock(NOW), rules=Retention(), audit_key=sealer.audit_key)
    assert await sweep.fingerprints(batch=50) == 130
    assert await store.last_sent("fp-129") is None and await store.last_sent("fp-keep") == NOW - DAY
    counted = [int(e.reason.split()[0]) for e in await store.audit_events()]
    assert sum(counted) == 130 and len(counted) >= 3  # one count event per write
    await whole(store, sealer)


async def test_a_signed_checkpoint_verifies_with_the_public_key_only(store, sealer):
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()

    async def signer():
        return key

    await append(store, OLD, OLD + DAY, NOW - DAY)
    await service(store, sealer, FixedClock(NOW), signer=signer).sweep()
    checkpoint = await store.audit_checkpoint()
    assert checkpoint.signature and checkpoint.signed_by
    assert (await whole(store, sealer, key.public_key())).checkpoint_signed is True
    assert (await whole(store, sealer)).checkpoint_signed is None  # no key at hand: said, not claimed
    wrong = verify(await store.audit_events(), await store.audit_head(), sealer.audit_key, checkpoint,
                   other.public_key())
    assert not wrong.intact and wrong.kind == "checkpoint" and "signature" in wrong.problem


async def test_a_chain_that_does_not_verify_is_not_pruned(store, sealer):
    await append(store, OLD, OLD + DAY, NOW - DAY)
    await edit_event(store, 2, actor="aad-someone-else")
    done = await service(store, sealer, FixedClock(NOW)).sweep()
    assert done["failed"] == 1 and not done["audit_events_pruned"]
    assert await store.audit_checkpoint() is None and len(await store.audit_events()) == 3


async def test_the_dpo_notifications_of_pruned_incidents_go_with_them_once_done(store, sealer):
    from bot.app.incidents import notification_id
    from bot.domain.model import DpoContact, Notification

    await append(store, OLD, name="incident")
    await append(store, NOW - DAY, name="incident")
    vdab, atlas = DpoContact(organisation="vdab", mailbox="dpo@vdab.example"), DpoContact(organisation="atlas",
                                                                                          mailbox="dpo@atlas.example")

    def notification(incident: int, contact: DpoContact, *, pending: bool) -> Notification:
        return Notification(id=notification_id(incident, contact), incident=incident, subject="TK-ABC123",
                            category="misdelivery", detected_at=NOW - DAY, contact=contact,
                            due_at=NOW if pending else None, sent_at=None if pending else NOW - DAY)

    await store.add_notifications([notification(1, vdab, pending=False), notification(1, atlas, pending=True),
                                   notification(2, vdab, pending=False)], cursor=2)
    await service(store, sealer, FixedClock(NOW)).sweep()
    assert (await store.audit_checkpoint()).seq == 1
    left = {(n.incident, n.contact.organisation) for n in await store.notifications()}
    assert left == {(1, "atlas"), (2, "vdab")}  # the pending one is still to be done; #2's incident is kept
    assert [n.id for n in await store.due_notifications(NOW, 10)] == [notification_id(1, atlas)]
    await whole(store, sealer)


async def test_sweepers_at_once_prune_and_forget_once(store, sealer):
    import asyncio

    await append(store, OLD, OLD + DAY, OLD + 2 * DAY, NOW - DAY)
    for i in range(60):
        await store.mark_sent(f"fp-{i:02d}", NOW - 800 * DAY)
    sweepers = [service(store, sealer, FixedClock(NOW)) for _ in range(3)]
    done = await asyncio.gather(*(s.sweep() for s in sweepers))
    assert sum(d["audit_events_pruned"] for d in done) == 3 and sum(d["fingerprints_deleted"] for d in done) == 60
    events = await store.audit_events()
    assert [e.event.value for e in events].count("audit_pruned") == 1
    assert sum(int(e.reason.split()[0]) for e in events if e.event.value == "fingerprints_deleted") == 60
    await whole(store, sealer)


# -- tampering with the checkpoint ------------------------------------------------------------


async def rewrite_checkpoint(store, change) -> None:
    checkpoint = change(await store.audit_checkpoint())
    if isinstance(store, SqliteStore):
        if checkpoint is None:
            await store._db.execute("DELETE FROM audit_checkpoint")
        else:
            await store._db.execute("UPDATE audit_checkpoint SET seq = ?, doc = ?",
                                    (checkpoint.seq, checkpoint.model_dump_json()))
    elif checkpoint is None:
        await store._table.delete_entity(AUDIT, "c|audit-checkpoint")
    else:
        entity = await store._table.get_entity(AUDIT, "c|audit-checkpoint")
        entity.update({"Seq": checkpoint.seq, "Doc": checkpoint.model_dump_json()})
        await store._table.update_entity(entity)


async def delete_event(store, seq: int) -> None:
    if isinstance(store, SqliteStore):
        await store._db.execute("DELETE FROM audit WHERE seq = ?", (seq,))
    else:
        await store._table.delete_entity(AUDIT, f"a|{seq:012d}")


async def hide_more(store) -> None:
    """Delete the first event after the checkpoint and move the checkpoint over it, with that
    event's link: what someone covering a deletion would do, without the audit key."""
    kept = await store.audit_events()
    await delete_event(store, kept[0].seq)
    await rewrite_checkpoint(store, lambda c: c.model_copy(update={"seq": kept[0].seq, "mac": kept[0].mac,
                                                                  "count": c.count + 1}))


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        (lambda s: rewrite_checkpoint(s, lambda c: c.model_copy(update={"count": 1})), "checkpoint"),
        (lambda s: rewrite_checkpoint(s, lambda c: c.model_copy(update={"first_at": NOW - YEAR})), "checkpoint"),
        (lambda s: rewrite_checkpoint(s, lambda c: c.model_copy(update={"seal": "0" * 64})), "checkpoint"),
        (lambda s: rewrite_checkpoint(s, lambda c: None), "missing"),
        (hide_more, "checkpoint"),
        (lambda s: delete_event(s, 4), "missing"),
    ],
    ids=["count", "period", "seal", "deleted", "moved-over-a-deletion", "event-after-it-deleted"],
)
async def test_tampering_with_the_checkpoint_is_found(store, sealer, tamper, kind):
    await append(store, OLD, OLD + DAY, OLD + 2 * DAY, NOW - DAY, NOW - DAY)
    await service(store, sealer, FixedClock(NOW)).sweep()
    assert (await store.audit_checkpoint()).seq == 3
    await whole(store, sealer)
    await tamper(store)
    verdict = verify(await store.audit_events(), await store.audit_head(), sealer.audit_key,
                     await store.audit_checkpoint())
    assert not verdict.intact and verdict.kind == kind, verdict


async def test_a_forged_signature_is_found(store, sealer):
    key = Ed25519PrivateKey.generate()

    async def signer():
        return key

    await append(store, OLD, NOW - DAY)
    await service(store, sealer, FixedClock(NOW), signer=signer).sweep()
    forged = base64.b64encode(Ed25519PrivateKey.generate().sign(b"x")).decode()
    await rewrite_checkpoint(store, lambda c: c.model_copy(update={"signature": forged}))
    verdict = verify(await store.audit_events(), await store.audit_head(), sealer.audit_key,
                     await store.audit_checkpoint(), key.public_key())
    assert not verdict.intact and verdict.kind == "checkpoint"


def test_both_backends_are_covered(store):
    assert isinstance(store, SqliteStore | TableStore)


# -- stores written before the time index ---------------------------------------------------------


async def test_an_older_sqlite_store_gets_its_fingerprints_indexed(tmp_path, sealer):
    """Version 6 kept the sender's offset in ``last_sent_at`` (strings that do not sort as time):
    the upgrade rewrites them in UTC, and the retention sweep then finds them by the index."""
    import sqlite3

    from bot.adapters.sqlite_store import MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:6], start=1):
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {number}")
    # An hour before the cut-off (midnight in Brussels, 24 months back), written in Tokyo's time: as a
    # string it sorts after the cut-off, as an instant it is before it.
    old = datetime(2024, 11, 30, tzinfo=BRUSSELS) - timedelta(hours=1)
    tokyo = old.astimezone(ZoneInfo("Asia/Tokyo"))
    db.executemany("INSERT INTO sent_clients VALUES (?, ?)", [("fp-old", tokyo.isoformat()),
                                                               ("fp-new", (NOW - DAY).isoformat())])
    db.close()
    store = await SqliteStore.open(path, sealer)
    try:
        assert await store.last_sent("fp-old") == old
        sweep = RetentionSweep(store=store, clock=FixedClock(NOW), rules=Retention(), audit_key=sealer.audit_key)
        assert await sweep.fingerprints() == 1
        assert await store.last_sent("fp-old") is None and await store.last_sent("fp-new") == NOW - DAY
    finally:
        await store.close()


async def test_an_older_table_store_gets_its_fingerprints_indexed(azurite, table_name, sealer):
    from azure.data.tables.aio import TableClient

    from bot.adapters.table_store import CLIENT_OPTIONS, PARTITION

    def clients():
        return (TableClient.from_connection_string(azurite.connection_string, table_name, **CLIENT_OPTIONS),
                TableClient.from_connection_string(azurite.connection_string, f"{table_name}keys", **CLIENT_OPTIONS))

    table, keys = clients()
    store = await TableStore.open(table, sealer, keys=keys)
    for fingerprint, at in (("fp-old", NOW - 800 * DAY), ("fp-new", NOW - DAY)):  # as the version before wrote them
        await store._table.upsert_entity({"PartitionKey": PARTITION, "RowKey": f"s|{fingerprint}",
                                          "At": at.isoformat()})
    await store._table.delete_entity(PARTITION, "c|fingerprints")
    await store.close()
    table, keys = clients()
    store = await TableStore.open(table, sealer, keys=keys)
    try:
        sweep = RetentionSweep(store=store, clock=FixedClock(NOW), rules=Retention(), audit_key=sealer.audit_key)
        assert await sweep.fingerprints() == 1
        assert await store.last_sent("fp-old") is None and await store.last_sent("fp-new") == NOW - DAY
    finally:
        await store.close()
