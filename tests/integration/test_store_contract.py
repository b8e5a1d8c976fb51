"""The contract every Store backend honours (see ``bot.app.ports.Store``)."""

from datetime import timedelta

import pytest

from bot.app.ports import Conflict
from bot.domain.handoff import HandoffState, Stage
from bot.domain.model import AuditEvent
from tests import factories as f


async def test_draft_round_trip_with_sealed_client_data(store):
    added = await store.add_draft(f.draft())
    assert added.version == 1
    loaded = await store.get_draft(added.id)
    assert loaded == added
    assert loaded.client.identity.naam == "Amina El Idrissi"


async def test_missing_records_are_none(store):
    assert await store.get_draft("nope") is None
    assert await store.get_handoff("nope") is None
    assert await store.handoff_for_draft("nope") is None


async def test_save_is_optimistic(store):
    added = await store.add_draft(f.draft(stage=Stage.COMPOSE))
    saved = await store.save_draft(added.model_copy(update={"stage": Stage.PREVIEW}))
    assert saved.version == 2 and (await store.get_draft(added.id)).stage is Stage.PREVIEW
    with pytest.raises(Conflict):
        await store.save_draft(added.model_copy(update={"stage": Stage.IDENTIFY}))  # stale version
    assert (await store.get_draft(added.id)).stage is Stage.PREVIEW


async def test_duplicate_draft_id_conflicts(store):
    draft = await store.add_draft(f.draft())
    with pytest.raises(Conflict):
        await store.add_draft(draft)


async def test_one_handoff_per_draft_and_unique_reference(store):
    first = await store.add_handoff(f.handoff(draft_id="draft-1"))
    with pytest.raises(Conflict):
        await store.add_handoff(f.handoff(draft_id="draft-1"))
    with pytest.raises(Conflict):
        await store.add_handoff(f.handoff(reference=first.reference))
    assert (await store.handoff_for_draft("draft-1")).id == first.id


async def test_handoff_purge_keeps_envelope_and_drops_content(store):
    added = await store.add_handoff(f.handoff())
    closed = await store.save_handoff(
        added.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None, "closed_at": f.NOW})
    )
    loaded = await store.get_handoff(added.id)
    assert loaded == closed and loaded.client is None and loaded.reference == added.reference
    with pytest.raises(Conflict):
        await store.save_handoff(added)  # the old version cannot resurrect the content


async def test_client_data_never_in_clear_and_gone_after_purge(store):
    secret = "Zyxwvut Sentinelnaam"
    draft = await store.add_draft(f.draft(client=f.client(secret)))
    handoff = await store.add_handoff(f.handoff(draft_id=draft.id, client=f.client(secret)))

    held = await store.raw()
    assert handoff.reference.encode() in held and secret.encode() not in held  # searched, and not there
    await store.delete_draft(draft.id)
    await store.save_handoff(handoff.model_copy(update={"client": None, "state": HandoffState.RETURNED}))
    assert await store.get_draft(draft.id) is None
    assert (await store.get_handoff(handoff.id)).client is None
    assert secret.encode() not in await store.raw()


async def test_sent_fingerprints(store):
    assert await store.last_sent("fp") is None
    await store.mark_sent("fp", f.NOW)
    await store.mark_sent("fp", f.NOW + timedelta(days=1))
    assert await store.last_sent("fp") == f.NOW + timedelta(days=1)


async def test_audit_is_ordered_and_filtered_by_time(store):
    for hours, event in [(0, "started"), (1, "sent"), (30, "transferred")]:
        await store.append_audit(AuditEvent(at=f.NOW + timedelta(hours=hours), event=event, subject="TK-1"))
    events = await store.audit_events()
    assert [e.event for e in events] == ["started", "sent", "transferred"]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    window = await store.audit_events(f.NOW + timedelta(minutes=30), f.NOW + timedelta(days=1))
    assert [e.event for e in window] == ["sent"]


async def test_due_handoffs_come_earliest_first_and_only_when_due(store):
    soon, later, never = f.NOW + timedelta(minutes=5), f.NOW + timedelta(days=2), None
    ids = {}
    for name, due in (("later", later), ("never", never), ("soon", soon)):
        ids[name] = (await store.add_handoff(f.handoff(due_at=due))).id
    assert await store.due_handoffs(f.NOW, 10) == []
    assert [h.id for h in await store.due_handoffs(soon, 10)] == [ids["soon"]]
    due = await store.due_handoffs(f.NOW + timedelta(days=3), 10)
    assert [h.id for h in due] == [ids["soon"], ids["later"]]
    assert due[0].client is not None  # the sweep needs the content to deliver it
    assert [h.id for h in await store.due_handoffs(f.NOW + timedelta(days=3), 1)] == [ids["soon"]]
    assert await store.next_due() == soon


async def test_rescheduling_and_clearing_due_time(store):
    added = await store.add_handoff(f.handoff(due_at=f.NOW))
    moved = await store.save_handoff(added.model_copy(update={"due_at": f.NOW + timedelta(hours=1)}))
    assert await store.due_handoffs(f.NOW, 10) == []
    assert [h.id for h in await store.due_handoffs(f.NOW + timedelta(hours=1), 10)] == [added.id]
    await store.save_handoff(moved.model_copy(update={"due_at": None}))
    assert await store.due_handoffs(f.NOW + timedelta(days=999), 10) == [] and await store.next_due() is None


async def test_due_times_compare_as_instants_whatever_their_offset(store):
    from zoneinfo import ZoneInfo

    tokyo = f.NOW.astimezone(ZoneInfo("Asia/Tokyo"))  # the same instant, written differently
    added = await store.add_handoff(f.handoff(due_at=tokyo + timedelta(seconds=1)))
    assert await store.due_handoffs(f.NOW, 10) == []
    assert [h.id for h in await store.due_handoffs(f.NOW + timedelta(seconds=1), 10)] == [added.id]


async def test_expired_drafts_and_delete_tells_who_deleted(store):
    old = await store.add_draft(f.draft(expires_at=f.NOW - timedelta(minutes=1)))
    await store.add_draft(f.draft(expires_at=f.NOW + timedelta(hours=1), counsellor=f.OTHER_COUNSELLOR))
    assert await store.expired_drafts(f.NOW, 10) == [old.id]
    assert await store.next_due() == old.expires_at
    assert await store.delete_draft(old.id) is True
    assert await store.delete_draft(old.id) is False  # a second sweeper learns it was not first
    assert await store.expired_drafts(f.NOW, 10) == []


async def test_of_two_concurrent_saves_one_wins(store):
    import asyncio

    added = await store.add_handoff(f.handoff())
    results = await asyncio.gather(
        store.save_handoff(added.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None})),
        store.save_handoff(added.model_copy(update={"reminders_sent": 1})),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Handoff"]
    winner = next(r for r in results if not isinstance(r, Exception))
    assert await store.get_handoff(added.id) == winner


async def test_concurrent_appends_and_deletes(store):
    import asyncio

    await asyncio.gather(*(store.append_audit(AuditEvent(at=f.NOW, event="refused", subject=f"TK-{i}"))
                           for i in range(8)))
    events = await store.audit_events()
    assert sorted(e.subject for e in events) == [f"TK-{i}" for i in range(8)]
    assert [e.seq for e in events] == sorted({e.seq for e in events})  # unique, in order
    draft = await store.add_draft(f.draft())
    assert sorted(await asyncio.gather(*(store.delete_draft(draft.id) for _ in range(3)))) == [False, False, True]


async def test_audit_events_are_chained_and_the_head_is_kept(store, sealer):
    from bot.app.evidence import verify

    for i in range(5):
        await store.append_audit(AuditEvent(at=f.NOW + timedelta(minutes=i), event="refused", subject=f"TK-{i}"))
    events = await store.audit_events()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5] and await store.audit_head() == 5
    assert all(e.mac and len(e.mac) == 64 for e in events)
    verdict = verify(events, await store.audit_head(), sealer.audit_key)
    assert verdict.intact and verdict.last_mac == events[-1].mac
    assert not verify(events, 5, b"another key" * 3).intact  # without the key, nobody can recompute it


async def test_ended_handoffs_with_content_are_found(store):
    leaky = await store.add_handoff(f.handoff())
    await store.save_handoff(leaky.model_copy(update={"state": HandoffState.TRANSFERRED}))  # a purge forgotten
    clean = await store.add_handoff(f.handoff())
    await store.save_handoff(clean.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}))
    await store.add_handoff(f.handoff())  # still open: holding content is right
    assert await store.ended_with_content() == [leaky.reference]


def _event(name: str, subject: str = "TK-1") -> AuditEvent:
    return AuditEvent(at=f.NOW, event=name, subject=subject)


async def test_a_change_and_its_events_are_one_write(store, sealer):
    from bot.app.evidence import verify
    from bot.domain.handoff import FingerprintMark

    draft = await store.add_draft(f.draft(), [_event("started", "d")])
    added = await store.add_handoff(f.handoff(draft_id=draft.id), [_event("recorded")])
    saved = await store.save_handoff(
        added.model_copy(update={"state": HandoffState.DELIVERED}), [_event("sent")],
        mark_sent=FingerprintMark("fp-1", f.NOW), drop_draft=draft.id,
    )
    assert await store.get_draft(draft.id) is None and await store.last_sent("fp-1") == f.NOW
    with pytest.raises(Conflict):  # a lost race writes nothing: not the state, not its events
        await store.save_handoff(added.model_copy(update={"state": HandoffState.RETURNED}),
                                 [_event("returned"), _event("incident")], mark_sent=FingerprintMark("fp-2", f.NOW))
    assert await store.last_sent("fp-2") is None
    await store.save_handoff(saved.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}),
                             [_event("transferred"), _event("purged")])
    events = await store.audit_events()
    assert [e.event for e in events] == ["started", "recorded", "sent", "transferred", "purged"]
    assert verify(events, await store.audit_head(), sealer.audit_key).intact


async def test_deletes_carry_their_events_only_when_they_delete(store):
    draft = await store.add_draft(f.draft())
    assert await store.delete_draft(draft.id, [_event("cancelled", draft.id)]) is True
    assert await store.delete_draft(draft.id, [_event("expired", draft.id)]) is False
    handoff = await store.add_handoff(f.handoff())
    await store.delete_handoff(handoff.id, [_event("delivery_failed")])
    assert await store.get_handoff(handoff.id) is None
    assert [e.event for e in await store.audit_events()] == ["cancelled", "delivery_failed"]


async def test_changes_to_different_records_at_once_all_land_with_their_events(store, sealer):
    """Every change moves the one audit chain: racing writers of different records must all win."""
    import asyncio

    from bot.app.evidence import verify

    added = [await store.add_handoff(f.handoff()) for _ in range(6)]
    await asyncio.gather(*(
        store.save_handoff(h.model_copy(update={"reminders_sent": 1}), [_event("reminded", h.reference)])
        for h in added
    ))
    events = await store.audit_events()
    assert sorted(e.subject for e in events) == sorted(h.reference for h in added)
    assert verify(events, await store.audit_head(), sealer.audit_key).intact


async def test_a_record_that_cannot_be_opened_is_reported_not_fatal(store_path_factory):
    """Records sealed under a key the store no longer has come back as ``UnreadableRecord`` in due
    work (the others still do), and ``get_*`` raise ``Unreadable`` — never a bare decryption error."""
    from bot.adapters.crypto import Sealer
    from bot.app.ports import Unreadable, UnreadableRecord

    old = Sealer(bytes(range(32)))
    store = await store_path_factory(old)
    lost = await store.add_handoff(f.handoff(due_at=f.NOW - timedelta(minutes=1)))
    await store.close()
    store = await store_path_factory(Sealer(bytes(range(1, 33))))  # restarted with another key, no previous
    healthy = await store.add_handoff(f.handoff(due_at=f.NOW))
    due = await store.due_handoffs(f.NOW, 10)
    assert [type(d).__name__ for d in due] == ["UnreadableRecord", "Handoff"]
    assert isinstance(due[0], UnreadableRecord) and due[0].record_id == lost.id and due[1].id == healthy.id
    with pytest.raises(Unreadable):
        await store.get_handoff(lost.id)
    await store.close()


async def test_one_unfinished_draft_per_counsellor(store):
    first = await store.add_draft(f.draft())
    assert await store.draft_of(first.owner) == first.id
    with pytest.raises(Conflict):
        await store.add_draft(f.draft())  # the same counsellor, another draft
    other = await store.add_draft(f.draft(counsellor=f.OTHER_COUNSELLOR))
    assert await store.draft_of(other.owner) == other.id
    await store.delete_draft(first.id)
    assert await store.draft_of(first.owner) is None
    again = await store.add_draft(f.draft())  # sent, cancelled or expired: a new one may start
    assert await store.draft_of(again.owner) == again.id


async def test_open_handoffs_are_counted_and_listed(store):
    open_one = await store.add_handoff(f.handoff())
    closed = await store.add_handoff(f.handoff())
    await store.save_handoff(closed.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}))
    assert await store.count_open() == 1
    assert [h.id for h in await store.open_handoffs(10)] == [open_one.id]


# -- the trajectbegeleider's side (issue 14: openstaand) ----------------------------------------


async def test_pending_cards_are_listed_per_recipient_oldest_first_and_paged(store):
    other = f.RECIPIENT.model_copy(update={"aad_object_id": "aad-jan", "naam": "Jan Janssens"})
    mine = []
    for hours in range(5):
        handoff = await store.add_handoff(f.handoff())
        delivered = handoff.model_copy(update={"state": HandoffState.DELIVERED,
                                               "sent_at": f.NOW + timedelta(hours=hours)})
        mine.append(await store.save_handoff(delivered))
    theirs = await store.add_handoff(f.handoff().model_copy(update={"recipient": other}))
    await store.save_handoff(theirs.model_copy(update={"state": HandoffState.DELIVERED, "sent_at": f.NOW}))
    await store.add_handoff(f.handoff())  # still in the outbox: not in anyone's chat yet
    key = mine[0].pending_key
    assert key is not None
    assert [h.id for h in await store.pending_for(key, 0, 3)] == [h.id for h in mine[:3]]
    assert [h.id for h in await store.pending_for(key, 3, 3)] == [h.id for h in mine[3:]]
    # closed: off the list, in the same write
    await store.save_handoff(mine[1].model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}))
    assert [h.id for h in await store.pending_for(key, 0, 10)] == [mine[0].id, *(h.id for h in mine[2:])]
    # handed to a colleague: on their list, off this one
    moved = await store.get_handoff(mine[0].id)
    await store.save_handoff(moved.model_copy(update={"recipient": other}))
    assert mine[0].id not in [h.id for h in await store.pending_for(key, 0, 10)]
    assert mine[0].id in [h.id for h in await store.pending_for(f"{other.tenant_id}|aad-jan", 0, 10)]
    await store.delete_handoff(mine[2].id)
    assert [h.id for h in await store.pending_for(key, 0, 10)] == [h.id for h in mine[3:]]


# -- the counsellor's overview (issue 14) ------------------------------------------------------


async def test_a_counsellors_handoffs_come_newest_first_paged_and_only_theirs(store):
    mine = [await store.add_handoff(f.handoff(created_at=f.NOW + timedelta(minutes=i))) for i in range(5)]
    theirs = await store.add_handoff(f.handoff(counsellor=f.OTHER_COUNSELLOR, created_at=f.NOW + timedelta(hours=1)))
    closed = await store.save_handoff(mine[1].model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}))
    owner = mine[0].owner
    first = await store.counsellor_handoffs(owner, 3)
    assert [h.id for h in first] == [mine[4].id, mine[3].id, mine[2].id]
    second = await store.counsellor_handoffs(owner, 3, offset=3)
    assert [h.id for h in second] == [closed.id, mine[0].id]
    assert second[0].client is None and second[1].client.identity.naam == "Amina El Idrissi"
    assert [h.id for h in await store.counsellor_handoffs(theirs.owner, 10)] == [theirs.id]
    await store.delete_handoff(mine[4].id)  # forgotten: gone from the overview with its index entry
    assert [h.id for h in await store.counsellor_handoffs(owner, 1)] == [mine[3].id]
    assert await store.counsellor_handoffs("tenant-vdab|nobody", 10) == []


async def test_handoffs_written_before_the_overview_are_found_after_a_restart(store_path_factory, sealer):
    """Stores from before issue 14: SQLite's migration fills the owner column from the envelope;
    Table Storage's ``open`` writes the missing ``k|`` entries."""
    store = await store_path_factory(sealer)
    added = await store.add_handoff(f.handoff())
    if hasattr(store, "_db"):
        await store._db.execute("UPDATE handoffs SET owner = NULL, created_at = NULL")
        await store._db.execute("DROP INDEX handoffs_owner")
        await store._db.execute("ALTER TABLE handoffs DROP COLUMN created_at")
        await store._db.execute("ALTER TABLE handoffs DROP COLUMN owner")
        await store._db.execute("PRAGMA user_version = 8")  # the version before the overview's migration (9)
    else:
        entity = await store._table.get_entity("tk", f"h|{added.id}")
        await store._table.delete_entity("tk", entity["Owner"])
        await store._table.upsert_entity({k: v for k, v in entity.items() if k != "Owner"}, mode="replace")
        assert await store.counsellor_handoffs(added.owner, 10) == []  # the old store's state
    await store.close()
    again = await store_path_factory(sealer)
    try:
        assert [h.id for h in await again.counsellor_handoffs(added.owner, 10)] == [added.id]
    finally:
        await again.close()
# -- batched sweep writes (issue 16) ---------------------------------------------------------------


def _reminder(at_minute: int) -> AuditEvent:
    return AuditEvent(at=f.NOW + timedelta(minutes=at_minute), event="reminded", subject=f"TK-{at_minute:06X}",
                      reason="1")


async def test_save_handoffs_writes_many_envelopes_with_their_events_and_leaves_the_content(store):
    added = [await store.add_handoff(f.handoff(state=HandoffState.DELIVERED, due_at=f.NOW)) for _ in range(40)]
    assert len(await store.due_handoffs(f.NOW, 100)) == 40
    later = f.NOW + timedelta(days=2)
    changes = [(h.model_copy(update={"due_at": later, "reminders_sent": 1}), [_reminder(n)])
               for n, h in enumerate(added)]
    saved = await store.save_handoffs(changes)  # 40 records, 3 operations and an event each: several transactions
    assert [s.version if s else None for s in saved] == [2] * 40
    for handoff, written in zip(added, saved, strict=True):
        loaded = await store.get_handoff(handoff.id)
        assert loaded == written and loaded.client == handoff.client and loaded.reminders_sent == 1
    assert await store.due_handoffs(f.NOW, 100) == []
    assert len(await store.due_handoffs(later, 100)) == 40
    trail = await store.audit_events()
    assert [e.subject for e in trail] == [f"TK-{n:06X}" for n in range(40)]  # in order, numbered on
    assert [e.seq for e in trail] == list(range(1, 41))

    again = await store.save_handoffs([(s.model_copy(update={"due_at": None}), []) for s in saved if s])
    assert [s.version if s else None for s in again] == [3] * 40  # on what the last batch wrote
    assert await store.due_handoffs(later, 100) == []


async def test_save_handoffs_refuses_only_the_record_that_moved_on(store):
    first, second, third = [await store.add_handoff(f.handoff(state=HandoffState.DELIVERED, due_at=f.NOW))
                            for _ in range(3)]
    await store.due_handoffs(f.NOW, 10)
    moved = await store.save_handoff(second.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None}))
    later = f.NOW + timedelta(hours=1)
    saved = await store.save_handoffs([(h.model_copy(update={"due_at": later}), [_reminder(n)])
                                       for n, h in enumerate((first, second, third))])
    assert saved[1] is None and saved[0] is not None and saved[2] is not None
    assert await store.get_handoff(second.id) == moved  # not resurrected, its content not back
    assert [e.subject for e in await store.audit_events()] == ["TK-000000", "TK-000002"]
    assert saved[0].version == 2 and (await store.get_handoff(first.id)).due_at == later
    assert await store.ended_with_content() == []
