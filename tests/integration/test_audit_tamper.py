"""Editing, deleting or reordering one audit event in either store makes ``verify`` fail at that
event; so does cutting off the end of the trail."""

from datetime import timedelta

import pytest

from bot.adapters.sqlite_store import SqliteStore
from bot.adapters.table_store import AUDIT, TableStore
from bot.app.evidence import verify
from bot.domain.model import AuditEvent
from tests import factories as f
from tests.support.audit import edit_event as edit

EVENTS = ["started", "identified", "recorded", "sent", "transferred", "purged"]


async def fill(store) -> None:
    for i, name in enumerate(EVENTS):
        await store.append_audit(AuditEvent(at=f.NOW + timedelta(minutes=i), event=name, subject="TK-ABC123",
                                            actor="aad-bram"))


async def delete(store, seq: int) -> None:
    if isinstance(store, SqliteStore):
        await store._db.execute("DELETE FROM audit WHERE seq = ?", (seq,))
    else:
        await store._table.delete_entity(AUDIT, f"a|{seq:012d}")


async def swap(store, a: int, b: int) -> None:
    """Exchange two events' contents, each keeping its number and link: a reordering."""
    first, second = (await store.audit_events())[a - 1], (await store.audit_events())[b - 1]
    fields = ("event", "subject", "actor", "mac")
    await edit(store, a, **{k: getattr(second, k) for k in fields})
    await edit(store, b, **{k: getattr(first, k) for k in fields})


async def verdict_of(store, sealer):
    return verify(await store.audit_events(), await store.audit_head(), sealer.audit_key)


async def test_an_untouched_trail_verifies(store, sealer):
    await fill(store)
    assert (await verdict_of(store, sealer)).intact


@pytest.mark.parametrize(
    ("tamper", "broken_at", "words"),
    [
        (lambda s: edit(s, 4, event="cancelled"), 4, "altered"),
        (lambda s: edit(s, 2, actor="aad-someone-else"), 2, "altered"),
        (lambda s: delete(s, 3), 3, "missing"),
        (lambda s: swap(s, 4, 5), 4, "altered"),
        (lambda s: delete(s, 6), 6, "truncated"),
    ],
    ids=["edit-event", "edit-actor", "delete", "reorder", "truncate"],
)
async def test_tampering_is_found_at_the_event(store, sealer, tamper, broken_at, words):
    await fill(store)
    await tamper(store)
    verdict = await verdict_of(store, sealer)
    assert not verdict.intact and verdict.broken_at == broken_at and words in verdict.problem, verdict


def test_both_backends_are_covered(store):
    assert isinstance(store, SqliteStore | TableStore)
