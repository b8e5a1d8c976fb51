"""Reminders in working days and office hours, escalation, and the retention cap — on a fixed clock.

The handoff is sent on Wednesday 23 December 2026 at 10:00. Two working days later is Monday
28 December (Christmas and the weekend skipped); then Wednesday 30 December; then Monday 4 January
(New Year skipped); one more interval later, Wednesday 6 January, the counsellor is told; the
retention cap (30 days) purges it on Friday 22 January 2027 at 10:00.
"""

import asyncio
from datetime import datetime, timedelta

from bot.bootstrap import build
from bot.domain.calendar import BRUSSELS
from bot.domain.handoff import HandoffState
from bot.teams import texts as texts_module
from tests.e2e.conftest import ELS
from tests.e2e.flows import CONTENT, identify, receive, send
from tests.support.cards import texts

NAME = "Amina El Idrissi"
LATER = {**CONTENT, "eerstvolgende_contact": "2027-04-15"}  # still ahead on every date used here


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BRUSSELS)


async def sent_on_23_december(harness, counsellor, els):
    harness.clock.set(at(2026, 12, 23))
    receipt = await send(counsellor, content=LATER)
    receive(els)
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    return await only_handoff(harness)


async def only_handoff(harness):
    cursor = await harness.runtime.store._db.execute("SELECT id FROM handoffs")
    (row,) = await cursor.fetchall()
    return await harness.runtime.store.get_handoff(row[0])


def reminders(els) -> list[dict]:
    """The digest reminders in Els's chat (issue 14): one message with a card, oldest first."""
    return [c.body for c in els.h.connector.sent_to(els.conversation_id)
            if (c.body.get("summary") or "").startswith("Herinnering")]


async def test_reminders_skip_weekends_and_holidays_then_escalate_then_purge(harness, counsellor, els):
    handoff = await sent_on_23_december(harness, counsellor, els)
    ref = handoff.reference

    for moment in (at(2026, 12, 24), at(2026, 12, 25), at(2026, 12, 27), at(2026, 12, 28, 9, 59)):
        assert await harness.sweep(moment) == {}, moment
    assert await harness.sweep(at(2026, 12, 28)) == {"remind": 1}
    (first,) = reminders(els)
    assert first["summary"] == "Herinnering: 1 terugkoppeling wacht op jou"
    lines = texts(first["attachments"][0]["content"])
    assert lines[:2] == ["Herinnering: 1 terugkoppeling wacht op jou", texts_module.REMINDER_DIGEST_INTRO]
    assert ref in lines and "23/12/2026" in lines and "22/01/2027" in lines  # received, purged
    assert NAME not in str(first) and "Amina" not in str(first) and "1990" not in str(first)

    assert await harness.sweep(at(2026, 12, 29, 16)) == {}
    assert await harness.sweep(at(2026, 12, 30)) == {"remind": 1}
    assert await harness.sweep(at(2027, 1, 1, 12)) == {}  # New Year
    assert await harness.sweep(at(2027, 1, 4, 8, 59)) == {}
    assert await harness.sweep(at(2027, 1, 4)) == {"remind": 1}
    assert len(reminders(els)) == 3

    before = len(counsellor.texts())
    assert await harness.sweep(at(2027, 1, 6)) == {"escalate": 1}
    told = counsellor.texts()[before:]
    assert len(told) == 1 and told[0].startswith(f"{ref} ({NAME}) is na 3 herinneringen nog niet als overgezet")
    assert "'overzicht'" in told[0]  # (issue 14: named for the counsellor, with what to do next)
    assert await harness.sweep(at(2027, 1, 15)) == {}
    assert len(reminders(els)) == 3  # at most three

    assert await harness.sweep(at(2027, 1, 22, 9, 59)) == {}
    assert await harness.sweep(at(2027, 1, 22)) == {"expire": 1}
    # the card is gone; the digest reminders stay in the chat: references and dates only
    assert [c for c in els.h.connector.live_activities(els.conversation_id) if c.get("attachments")
            and not (c.get("summary") or "").startswith("Herinnering")] == []
    assert els.last_text().startswith(f"{ref} werd niet binnen 30 dagen als overgezet bevestigd")
    assert counsellor.last_text().startswith(f"{ref} ({NAME}) werd niet binnen 30 dagen als overgezet bevestigd")
    stored = await harness.runtime.store.get_handoff(handoff.id)
    assert stored.state is HandoffState.EXPIRED and stored.client is None
    assert stored.due_at == stored.closed_at + timedelta(days=365)  # only its envelope's own retention is left
    for private in (NAME, "Amina", "1990-04-12", CONTENT["jobdoelwit"]):
        assert private.encode() not in harness.db_bytes() and private not in harness.all_logs()

    trail = [e for e in await harness.runtime.store.audit_events() if e.subject == ref]
    assert [e.event for e in trail] == [
        "recorded", "sent", "reminded", "reminded", "reminded", "escalated", "expired", "purged",
        "card_overwritten", "card_deleted",
    ]
    assert [e.at.astimezone(BRUSSELS) for e in trail if e.event == "reminded"] == [
        at(2026, 12, 28), at(2026, 12, 30), at(2027, 1, 4),
    ]
    assert await harness.sweep(at(2027, 6, 1)) == {}  # finished: nothing is ever due again


async def test_easter_monday_is_skipped_and_reminders_wait_for_office_hours(harness, counsellor, els):
    harness.clock.set(at(2027, 3, 25, 16, 50))  # Thursday before Easter, ten to five
    await send(counsellor, content=LATER)
    receive(els)
    assert await harness.sweep(at(2027, 3, 29, 16, 50)) == {}  # Easter Monday
    assert await harness.sweep(at(2027, 3, 30, 16, 49)) == {}
    assert await harness.sweep(at(2027, 3, 30, 16, 50)) == {"remind": 1}  # Fri 26, Tue 30
    # the next one is due on Thursday 1 April at 16:50; a sweep that only runs after closing waits
    assert await harness.sweep(at(2027, 4, 1, 17, 30)) == {}
    assert await harness.sweep(at(2027, 4, 2, 9, 0)) == {"remind": 1}


async def test_overgezet_stops_the_reminders(harness, counsellor, els):
    await sent_on_23_december(harness, counsellor, els)
    assert await harness.sweep(at(2026, 12, 28)) == {"remind": 1}
    await els.click("overgezet")
    for moment in (at(2026, 12, 30), at(2027, 1, 6), at(2027, 1, 22), at(2027, 3, 1)):
        assert await harness.sweep(moment) == {}
    assert len(reminders(els)) == 1


async def test_two_sweeps_at_the_same_moment_send_each_reminder_once(harness, counsellor, els):
    await sent_on_23_december(harness, counsellor, els)
    harness.clock.set(at(2026, 12, 28))
    others = [await build(harness.settings(), clock=harness.clock) for _ in range(3)]  # other replicas
    try:
        results = await asyncio.gather(harness.runtime.service.sweep(), *(o.service.sweep() for o in others))
    finally:
        for other in others:
            await other.close()
    assert sum(r["remind"] for r in results) == 1
    assert len(reminders(els)) == 1


async def test_unfinished_drafts_expire_and_are_purged_by_the_sweep(harness, counsellor):
    await identify(counsellor, NAME, "1990-04-12")
    assert await harness.sweep(harness.clock.now() + timedelta(hours=23)) == {}
    assert await harness.sweep(harness.clock.now() + timedelta(hours=2)) == {"draft_expired": 1}
    trail = await harness.runtime.store.audit_events()
    assert [e.event for e in trail][-2:] == ["expired", "purged"]
    assert b"Amina" not in harness.db_bytes() and b"Idrissi" not in harness.db_bytes()
    card = await counsellor.click("bekijk", CONTENT)
    assert texts(card)[0] == "Deze terugkoppeling is niet meer open"
    assert len(harness.connector.cards_to(ELS)) == 0
