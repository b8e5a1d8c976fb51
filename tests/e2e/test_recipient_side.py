"""Issue 14, the trajectbegeleider's side, over HTTP with the loopback connector: ``toon`` re-shows a
pending card to its recipient alone; ``openstaand`` lists what waits; "Doorsturen" hands a card to a
colleague of the same agency; a backup receives what nobody reacted to; "Overgezet" can be undone
for a short window."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import ATLAS, PIETER
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
    # clicked on the live copy itself: it stays the live copy (its refresh shows the content)
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
    receive(els)
    els_card_id = els.card_activity_id
    await els.say("openstaand")
    overview = els.card
    assert listed(overview) == [reference]
    words = " ".join(texts(overview))
    assert "Bram Bemiddelaar" in words and "30/11/2026 om 09:00" in words
    assert "30/12/2026" in words  # the purge date: 30 days after it was sent
    assert NAME not in words  # no client data on the list
    old_copy = els_card_id
    shown = await els.click("toon", card=overview, data=action_data_in(overview, "toon"))
    assert NAME in " ".join(texts(shown))
    # the list's message became the live copy; the old one was overwritten and deleted: one copy
    harness.connector.show(els.conversation_id, els.card_activity_id, shown)
    assert old_copy in {c.activity_id for c in harness.connector.deleted()}
    assert live_copies(harness.connector) == 1
    assert ("card_deleted", "moved") in await events(harness)
    # Pieter (another agency) sees none of Els's; nothing waits for him
    await pieter.say("openstaand")
    assert listed(pieter.card) == [] and "Er wachten geen terugkoppelingen op jou" in " ".join(texts(pieter.card))
    # once overgezet (on the moved copy) it is off the list, and no copy is left
    els.adopt(els.conversation_id, els.card_activity_id, shown)
    await els.click("overgezet")
    assert live_copies(harness.connector) == 0
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


# -- Doorsturen naar een collega ----------------------------------------------------------------

JAN = "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e09"


@pytest.fixture
def bot_env(tmp_path) -> dict[str, str]:
    return directory_with_jan(tmp_path)


def directory_with_jan(tmp_path: Path) -> dict[str, str]:
    """The demo directory plus a second trajectbegeleider at Atlas (Jan), for "Doorsturen"."""
    demo = json.loads((Path(__file__).resolve().parents[2] / "examples" / "clients.json").read_text())
    demo["clients"].append({
        "klant_id": "K-2001", "naam": "Noor Vermeulen", "geboortedatum": "1994-08-08",
        "actief_inburgeringstraject": True,
        "trajectbegeleider": {"naam": "Jan Janssens", "email": "jan.janssens@atlas.example", "aad_object_id": JAN,
                              "tenant_id": ATLAS, "agentschap": "atlas"}})
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(demo))
    return {"BOT_DIRECTORY_FILE": str(path)}


@pytest.fixture
def jan(harness):
    return harness.user(JAN, ATLAS, "Jan Janssens")


def live_copies(connector, needle: str = NAME) -> int:
    """Cards in any chat that show the client's data, as Teams holds them now. (Text notices are not
    copies: the counsellor's own notices name the client on purpose, issue 14.)"""
    conversations = {c.conversation_id for c in connector.ok() if c.conversation_id}
    return sum(needle in json.dumps(a.get("attachments", [])) for conv in conversations
               for a in connector.live_activities(conv))


async def test_doorsturen_offers_only_colleagues_of_the_same_agency(harness, counsellor, els):
    await send(counsellor)
    receive(els)
    choice = await els.click("doorsturen")
    options = [c["value"] for n in nodes(choice) if n.get("type") == "Input.ChoiceSet" for c in n["choices"]]
    assert options == [JAN]  # not Els herself, not Pieter (Amal), not Sofie (AgII)
    assert NAME not in json.dumps(choice)


async def test_doorsturen_hands_the_card_to_the_colleague_with_one_live_copy(harness, connector, counsellor, els,
                                                                          jan):
    await send(counsellor)
    card = receive(els)
    old_copy = els.card_activity_id
    handoff = action_data(card, "overgezet")["handoff"]
    await els.click("doorsturen")
    done = await els.click("bevestig_doorsturen", {"collega": JAN})
    assert any("doorgestuurd naar Jan Janssens" in t for t in texts(done))
    assert NAME not in json.dumps(done)
    assert old_copy in {c.activity_id for c in connector.deleted()}
    assert live_copies(connector) == 1
    new_card = receive(jan)
    assert NAME in json.dumps(new_card)
    assert action_data(new_card, "overgezet")["handoff"] == handoff
    assert ("reassigned", "colleague") in await events(harness)
    assert ("card_overwritten", "reassigned") in await events(harness)
    assert ("card_deleted", "reassigned") in await events(harness)
    assert any("doorgestuurd naar een collega: Jan Janssens" in t for t in counsellor.texts())
    # Jan has it on his list, Els no longer; Els cannot open it any more
    await jan.say("openstaand")
    assert len(listed(jan.card)) == 1
    await els.say("openstaand")
    assert listed(els.card) == []
    refused = await els.click("toon", card=card, data={"handoff": handoff})
    assert "Niet voor jou bestemd" in texts(refused)
    # Jan closes it: purged, the counsellor told
    jan.adopt(jan.conversation_id, connector.last_card(jan.conversation_id)[0], new_card)
    await jan.click("overgezet")
    assert live_copies(connector) == 0
    stored = await harness.runtime.store.get_handoff(handoff)
    assert stored.client is None and stored.state.value == "transferred"
    assert NAME.encode() not in harness.db_bytes()
    assert NAME not in harness.all_logs()


async def test_doorsturen_refuses_someone_the_directory_does_not_list(harness, counsellor, els):
    await send(counsellor)
    receive(els)
    handoff = action_data(els.card, "overgezet")["handoff"]
    before = await harness.runtime.store.get_handoff(handoff)
    choice = await els.click("doorsturen")
    refused = await els.click("bevestig_doorsturen", {"collega": PIETER}, card=choice)
    assert "Niet doorgestuurd" in texts(refused)
    assert await harness.runtime.store.get_handoff(handoff) == before
    assert ("refused", "not_a_colleague") in await events(harness)


async def test_doorsturen_when_teams_is_down_retries_through_the_outbox(harness, connector, counsellor, els, jan):
    await send(counsellor)
    receive(els)
    await els.click("doorsturen")
    connector.fail(method="POST", path_contains="/v3/conversations", status=503, times=1)
    pending = await els.click("bevestig_doorsturen", {"collega": JAN})
    assert any("wordt doorgestuurd" in t or "doorgestuurd naar" in t for t in texts(pending))
    assert live_copies(connector) == 0  # the old copy went first; the new one waits
    assert ("delivery_deferred", "503") in await events(harness)
    assert (await harness.sweep(harness.clock.now() + timedelta(hours=2))).get("deliver") == 1
    assert live_copies(connector) == 1 and NAME in json.dumps(receive(jan))
    assert any("doorgestuurd naar een collega" in t for t in counsellor.texts())


async def test_an_old_copy_teams_would_not_remove_holds_the_new_one_back(harness, connector, counsellor, els, jan):
    """Never two live copies: until the previous recipient's copy is overwritten or deleted, the
    colleague's is not posted; the sweep tries both again."""
    await send(counsellor)
    receive(els)
    await els.click("doorsturen")
    # (503: worth another try for the outbox, not one the messenger retries itself)
    connector.fail(method="PUT", status=503, times=1)
    connector.fail(method="DELETE", status=503, times=1)
    await els.click("bevestig_doorsturen", {"collega": JAN})
    assert connector.conversation_for(JAN) is None  # nothing posted to Jan yet
    assert ("card_delete_failed", "503") in await events(harness)
    assert not any("doorgestuurd naar een collega" in t for t in counsellor.texts())
    assert (await harness.sweep(harness.clock.now() + timedelta(hours=2))).get("deliver") == 1
    assert ("card_deleted", "reassigned") in await events(harness)
    assert live_copies(connector) == 1 and NAME in json.dumps(receive(jan))
    assert any("doorgestuurd naar een collega" in t for t in counsellor.texts())


async def test_a_throttled_old_copy_is_retried_by_the_messenger_and_the_new_one_goes_at_once(
        harness, connector, counsellor, els, jan):
    """The previous recipient's copy is removed through the rate limiter like every connector call
    (issue 16): a 429 or 412 on its overwrite or delete is waited out and tried again there, so the
    colleague has the card at once, not only after the sweep."""
    await send(counsellor)
    receive(els)
    old_copy = els.card_activity_id
    await els.click("doorsturen")
    connector.fail(method="PUT", path_contains=old_copy, status=429, times=1, retry_after=0)
    connector.fail(method="DELETE", path_contains=old_copy, status=412, times=1)
    done = await els.click("bevestig_doorsturen", {"collega": JAN})
    assert any("doorgestuurd naar Jan Janssens" in t for t in texts(done))
    on_copy = [(c.method, c.status) for c in connector.calls
               if c.activity_id == old_copy and c.method in ("PUT", "DELETE")]
    assert on_copy == [("PUT", 429), ("PUT", 200), ("DELETE", 412), ("DELETE", 200)]
    assert ("card_overwritten", "reassigned") in await events(harness)
    assert ("card_deleted", "reassigned") in await events(harness)
    assert not [e for e in await events(harness) if e[0] == "card_delete_failed"]
    assert live_copies(connector) == 1 and NAME in json.dumps(receive(jan))  # posted now, no sweep needed
    assert any("doorgestuurd naar een collega" in t for t in counsellor.texts())
