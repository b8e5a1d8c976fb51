"""Issue 14, the trajectbegeleider's side, over HTTP with the loopback connector: ``toon`` re-shows a
pending card to its recipient alone; ``openstaand`` lists what waits; "Doorsturen" hands a card to a
colleague of the same agency; a backup receives what nobody reacted to; "Overgezet" can be undone
for a short window."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.flows import CONTENT, receive, send
from tests.support.cards import action_data, nodes, texts, verbs

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


# -- openstaand ---------------------------------------------------------------------------------


async def send_again(counsellor, naam: str = NAME, geboortedatum: str = "1990-04-12") -> None:
    """Another terugkoppeling for a client who had one (art. 5: confirmed as a repeat)."""
    await counsellor.say("terugkoppeling")
    card = await counsellor.click("identificeer", {"naam": naam, "geboortedatum": geboortedatum})
    if "bevestig_herhaling" in [a.get("verb") for a in card.get("actions", [])]:
        await counsellor.click("bevestig_herhaling")
    await counsellor.click("bekijk", CONTENT)
    await counsellor.click("verstuur")


def listed(card) -> list[str]:
    return [n["text"] for n in nodes(card) if n.get("type") == "TextBlock" and str(n.get("text")).startswith("TK-")]


async def test_openstaand_lists_the_recipients_waiting_cards_with_a_toon_button(harness, counsellor, els, pieter):
    receipt = await send(counsellor)
    reference = next(t for t in texts(receipt) if t.startswith("TK-"))
    card = receive(els)
    await els.say("openstaand")
    overview = els.card
    assert listed(overview) == [reference]
    words = " ".join(texts(overview))
    assert "Bram Bemiddelaar" in words and "30/11/2026 om 09:00" in words
    assert "30/12/2026" in words  # the purge date: 30 days after it was sent
    assert NAME not in words  # no client data on the list
    shown = await els.click("toon", card=overview, data=action_data_in(overview, "toon"))
    assert NAME in " ".join(texts(shown))
    # Pieter (another agency) sees none of Els's; nothing waits for him
    await pieter.say("openstaand")
    assert listed(pieter.card) == [] and "Er wachten geen terugkoppelingen op jou" in " ".join(texts(pieter.card))
    # once overgezet it is off the list
    els.adopt(els.conversation_id, els.card_activity_id, card)
    await els.click("overgezet", card=card)
    await els.say("openstaand")
    assert listed(els.card) == []


async def test_openstaand_pages_by_ten_oldest_first(harness, counsellor, els):
    await send(counsellor)
    for _ in range(11):
        harness.clock.advance(timedelta(minutes=1))
        await send_again(counsellor)
    handoffs = [h for h in await harness.runtime.store.pending_for(f"{els.tenant}|{els.aad}", 0, 100)]
    assert len(handoffs) == 12
    await els.say("openstaand")
    first = els.card
    assert listed(first) == [h.reference for h in handoffs[:10]]
    assert verbs(first) == ["openstaand"] and "Pagina 1" in texts(first)
    second = await els.click("openstaand", card=first)
    assert listed(second) == [h.reference for h in handoffs[10:]]
    assert verbs(second) == ["openstaand"] and "Pagina 2" in texts(second)
    back = await els.click("openstaand", card=second)
    assert listed(back) == listed(first)


def action_data_in(card, verb: str) -> dict:
    """The data of the first ``verb`` button anywhere on the card (also inside an ActionSet)."""
    return next(n["data"] for n in nodes(card) if n.get("type") == "Action.Execute" and n.get("verb") == verb)
