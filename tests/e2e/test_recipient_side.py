"""Issue 14, the trajectbegeleider's side, over HTTP with the loopback connector: ``toon`` re-shows a
pending card to its recipient alone; ``openstaand`` lists what waits; "Doorsturen" hands a card to a
colleague of the same agency; a backup receives what nobody reacted to; "Overgezet" can be undone
for a short window."""

from __future__ import annotations

from tests.e2e.flows import receive, send
from tests.support.cards import action_data, texts

NAME = "Amina El Idrissi"


async def events(harness) -> list[tuple[str, str | None]]:
    return [(e.event.value, e.reason) for e in await harness.runtime.store.audit_events()]


# -- toon ---------------------------------------------------------------------------------------


async def test_toon_shows_the_pending_card_to_its_recipient(harness, counsellor, els):
    await send(counsellor)
    card = receive(els)
    handoff = action_data(card, "overgezet")["handoff"]
    shown = await els.click("toon", card=card, data={"handoff": handoff})
    assert NAME in " ".join(texts(shown))
    assert "overgezet" in [a["verb"] for a in shown["actions"]]
    # the copy is bound to the live attempt: its refresh shows the content while the card is open
    assert shown["refresh"]["action"]["data"] == card["refresh"]["action"]["data"]


async def test_toon_refuses_anyone_else_and_changes_nothing(harness, counsellor, els, pieter):
    await send(counsellor)
    card = receive(els)
    handoff = action_data(card, "overgezet")["handoff"]
    before = await harness.runtime.store.get_handoff(handoff)
    for other in (pieter, counsellor):
        refused = await other.click("toon", card=card, data={"handoff": handoff})
        assert "Niet voor jou bestemd" in texts(refused)
        assert NAME not in " ".join(texts(refused))
    assert await harness.runtime.store.get_handoff(handoff) == before
    assert (await events(harness)).count(("refused", "not_recipient")) == 2


async def test_toon_after_overgezet_shows_no_content(harness, counsellor, els):
    await send(counsellor)
    card = receive(els)
    handoff = action_data(card, "overgezet")["handoff"]
    await els.click("overgezet")
    shown = await els.click("toon", card=card, data={"handoff": handoff})
    assert NAME not in " ".join(texts(shown))
    assert any("al afgehandeld" in t for t in texts(shown))
