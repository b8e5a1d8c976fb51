"""Issue 14: "Overgezet" stays one click but can be undone for a short window (BOT_UNDO_MINUTES).
Within it the card says so with "Ongedaan maken" until HH:MM and holds no client data; undo brings
the pending card back for the recipient alone; once the window has passed the sweep purges through
the due index, removes the card and only then tells the counsellor."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.e2e.flows import receive, send
from tests.e2e.test_recipient_side import NAME, events, listed, live_copies
from tests.support.cards import action_data, texts


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"BOT_UNDO_MINUTES": "10"}


def told(counsellor) -> list[str]:
    return [t for t in counsellor.texts() if t.startswith("TK-")]


async def test_overgezet_can_be_undone_within_the_window(harness, connector, counsellor, els, pieter):
    await send(counsellor)  # 30/11/2026 09:00 Brussels
    card = receive(els)
    handoff = action_data(card, "overgezet")["handoff"]
    offered = await els.click("overgezet")
    words = " ".join(texts(offered))
    assert "Tot 09:10 kun je dat ongedaan maken" in words and NAME not in json.dumps(offered)
    assert [a["title"] for a in offered["actions"]] == ["Ongedaan maken"]
    assert ("transfer_undoable", "10") in await events(harness)
    assert told(counsellor) == []  # not yet: only once the window has passed
    stored = await harness.runtime.store.get_handoff(handoff)
    assert stored.client is not None  # still sealed, so it can come back
    # a refresh of the card within the window shows the same offer, never the content
    assert NAME not in json.dumps(await els.look())
    # Pieter cannot undo it for Els
    refused = await pieter.click("ongedaan_maken", card=offered, data={"handoff": handoff})
    assert "Niet voor jou bestemd" in texts(refused)
    harness.clock.advance(timedelta(minutes=9))
    back = await els.click("ongedaan_maken")
    assert NAME in " ".join(texts(back)) and "overgezet" in [a["verb"] for a in back["actions"]]
    assert ("transfer_undone", None) in await events(harness)
    await els.say("openstaand")
    assert len(listed(els.card)) == 1
    # the window's due time is gone: nothing is purged at 09:10
    assert "transfer" not in await harness.sweep(harness.clock.now() + timedelta(minutes=5))
    assert (await harness.runtime.store.get_handoff(handoff)).client is not None
    assert told(counsellor) == [] and live_copies(connector) == 1


async def test_after_the_window_the_sweep_purges_and_only_then_tells_the_counsellor(harness, connector, counsellor,
                                                                                     els):
    await send(counsellor)
    card = receive(els)
    handoff = action_data(card, "overgezet")["handoff"]
    await els.click("overgezet")
    assert await harness.sweep(harness.clock.now() + timedelta(minutes=9)) == {}
    assert (await harness.runtime.store.get_handoff(handoff)).client is not None
    assert await harness.sweep(harness.clock.now() + timedelta(minutes=2)) == {"transfer": 1}
    stored = await harness.runtime.store.get_handoff(handoff)
    assert stored.state.value == "transferred" and stored.client is None
    assert [e for e in await events(harness) if e[0] in ("transferred", "purged", "card_deleted")] == [
        ("transferred", None), ("purged", None), ("card_deleted", None)]
    assert len(told(counsellor)) == 1
    assert live_copies(connector) == 0
    # too late: "Ongedaan maken" after the window says it is done; nothing comes back
    late = await els.click("ongedaan_maken", card=card, data={"handoff": handoff})
    assert NAME not in json.dumps(late)
    # sentinel: the client's name in no log line and not in the database after the purge
    assert NAME not in harness.all_logs()
    assert NAME.encode() not in harness.db_bytes()


async def test_undo_clicked_after_the_window_but_before_the_sweep_completes_the_transfer(harness, counsellor, els):
    await send(counsellor)
    receive(els)
    handoff = action_data(els.card, "overgezet")["handoff"]
    await els.click("overgezet")
    harness.clock.advance(timedelta(minutes=11))
    late = await els.click("ongedaan_maken")
    assert NAME not in json.dumps(late)
    stored = await harness.runtime.store.get_handoff(handoff)
    assert stored.state.value == "transferred" and stored.client is None
    assert len(told(counsellor)) == 1
    assert await harness.sweep() == {}  # nothing left to do, nothing twice
