"""Issue 14, the counsellor's side, end to end over HTTP: ``overzicht`` (own terugkoppelingen only,
newest first, paged), ``Wijzigen`` (the recipient's card replaced: one live copy at any time, also
when Teams throttles) and ``Intrekken`` (asked first; the card removed, purged, the recipient told)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.domain.handoff import HandoffState
from tests.e2e.conftest import VDAB
from tests.e2e.flows import CONTENT, receive
from tests.support.cards import inputs, nodes, texts, verbs
from tests.support.teams import TeamsUser

NAME, BORN = "Amina El Idrissi", "1990-04-12"
CLIENTS = [("Yonas Tesfaye", "1987-11-03"), ("Olena Kovalenko", "1995-02-28"), ("José Álvarez Ruiz", "1979-07-15"),
           ("Ali Hassan", "1985-06-01"), ("Ali Hassan", "1993-03-14")]


async def send_for(counsellor: TeamsUser, naam: str, born: str, content: dict[str, str] | None = None
                   ) -> dict[str, Any]:
    """Send one, saying yes to art. 5's question if it is a second one for the client."""
    await counsellor.say("terugkoppeling")
    card = await counsellor.click("identificeer", {"naam": naam, "geboortedatum": born})
    if "bevestig_herhaling" in verbs(card):
        await counsellor.click("bevestig_herhaling")
    await counsellor.click("bekijk", content or CONTENT)
    return await counsellor.click("verstuur")


def items(card: dict[str, Any]) -> list[str]:
    """The heading of each terugkoppeling on the overview ("TK-… · name")."""
    return [n["text"] for n in nodes(card) if n.get("type") == "Container" and n.get("separator")
            for n in n["items"][:1]]


def item_action(card: dict[str, Any], verb: str, index: int = 0) -> dict[str, Any]:
    found = [n["data"] for n in nodes(card) if n.get("type") == "Action.Execute" and n.get("verb") == verb]
    return found[index]


def live_cards(harness, conversation: str) -> list[dict[str, Any]]:
    return [a for a in harness.connector.live_activities(conversation) if a.get("attachments")]


async def only_handoff(harness):
    cursor = await harness.runtime.store._db.execute("SELECT id FROM handoffs")
    (row,) = await cursor.fetchall()
    return await harness.runtime.store.get_handoff(row[0])


async def test_the_overview_shows_the_counsellors_own_newest_first_paged_and_nobody_elses(
        harness, counsellor, els):
    receipt = await send_for(counsellor, NAME, BORN)
    assert "overzicht" in verbs(receipt)  # the receipt's button
    references = [next(t for t in texts(receipt) if t.startswith("TK-"))]
    for i in range(10):  # 11 in all; the identification bound (10 in 10 minutes) is respected
        harness.clock.set(harness.clock.now() + timedelta(minutes=2))
        naam, born = CLIENTS[i % len(CLIENTS)]
        receipt = await send_for(counsellor, naam, born)
        references.append(next(t for t in texts(receipt) if t.startswith("TK-")))

    await counsellor.say("overzicht")
    first = counsellor.card
    shown = items(first)
    assert len(shown) == 10 and [s.split(" · ")[0] for s in shown] == references[::-1][:10]
    assert shown[0] == f"{references[-1]} · Ali Hassan" and "Pagina 1" in texts(first)
    assert verbs(first) == ["overzicht", "nieuw"] and first["actions"][0]["title"] == "Volgende"
    facts = " ".join(texts(first))
    assert "Els Peeters (Atlas Antwerpen)" in facts and "Wacht op 'Overgezet'" in facts
    assert "30/12/2026" in facts  # the purge date, 30 days after sending

    second = await counsellor.click("overzicht", data={"pagina": "2"})
    assert items(second) == [f"{references[0]} · {NAME}"] and verbs(second) == ["overzicht", "nieuw"]
    assert second["actions"][0]["title"] == "Vorige"

    # After Els transfers it, the name is gone from the overview too, and the card says so
    receive(els)  # opens Els' chat; then the card about Amina in it
    amina = next(a for a in live_cards(harness, els.conversation_id)
                 if NAME in texts(a["attachments"][0]["content"]))
    els.adopt(els.conversation_id, amina["id"], amina["attachments"][0]["content"])
    await els.click("overgezet")
    again = await counsellor.click("overzicht", data={"pagina": "2"})
    assert items(again) == [f"{references[0]} · naam gewist (de inhoud is verwijderd)"]
    assert "Overgezet naar KBI/Allis" in texts(again) and "corrigeer" not in str(again)

    # Another counsellor sees none of it, and cannot act on it either
    sofie = harness.user("aad-sofie", VDAB, "Sofie Bemiddelaar")
    await sofie.say("status")
    assert items(sofie.card) == [] and "Je hebt geen open of recent afgehandelde terugkoppelingen." in texts(sofie.card)
    target = item_action(first, "corrigeer")
    for verb in ("corrigeer", "intrekken", "bevestig_intrekken"):
        refused = await sofie.click(verb, data=target)
        assert NAME not in " ".join(texts(refused)) and "Ali Hassan" not in " ".join(texts(refused))
    handoff = await harness.runtime.store.get_handoff(target["handoff"])
    assert handoff.state is HandoffState.DELIVERED and handoff.corrections == 0
    for naam in (NAME, "Amina", "Yonas", "Olena", "Ali Hassan"):
        assert naam not in harness.all_logs()


async def correct(counsellor: TeamsUser, jobdoelwit: str) -> dict[str, Any]:
    await counsellor.say("overzicht")
    form = await counsellor.click("corrigeer", data=item_action(counsellor.card, "corrigeer"))
    assert any("Je wijzigt TK-" in t for t in texts(form))
    values = inputs(form)
    assert values["jobdoelwit"] == CONTENT["jobdoelwit"] and values["partner"] == CONTENT["partner"]
    preview = await counsellor.click("bekijk", {**CONTENT, "jobdoelwit": jobdoelwit})
    assert jobdoelwit in texts(preview) and verbs(preview) == ["verstuur", "wijzig", "annuleer"]
    return await counsellor.click("verstuur")


async def test_a_correction_replaces_the_recipients_card_with_exactly_one_live_copy(harness, counsellor, els):
    await send_for(counsellor, NAME, BORN)
    original = receive(els)
    old_id = els.card_activity_id
    before = await only_handoff(harness)
    sent_mark = await harness.runtime.store.last_sent(before.fingerprint)

    harness.clock.set(harness.clock.now() + timedelta(hours=1))
    done = await correct(counsellor, "Zorgkundige in een woonzorgcentrum")
    assert texts(done)[0] == "Wijziging verstuurd" and NAME not in " ".join(texts(done))

    live = live_cards(harness, els.conversation_id)
    assert len(live) == 1 and live[0]["id"] != old_id  # the old one deleted, the new one posted
    new_card = live[0]["attachments"][0]["content"]
    assert "Zorgkundige in een woonzorgcentrum" in texts(new_card) and NAME in texts(new_card)
    assert CONTENT["jobdoelwit"] in texts(original) and CONTENT["jobdoelwit"] not in texts(new_card)
    calls = harness.connector.calls_in(els.conversation_id)
    methods = [c.method for c in calls]
    assert methods[1:4] == ["PUT", "DELETE", "POST"]  # overwritten, deleted, then told, then the new card
    assert "is gewijzigd door de bemiddelaar" in calls[3].body["text"] and NAME not in calls[3].body["text"]

    handoff = await only_handoff(harness)
    assert handoff.state is HandoffState.DELIVERED and handoff.corrections == 1 and handoff.stale_delivery is None
    assert await harness.runtime.store.last_sent(handoff.fingerprint) == sent_mark  # not a repeat (art. 5)
    trail = [e.event.value for e in await harness.runtime.store.audit_events()]
    assert "corrected" in trail and "incident" not in trail
    assert trail[-4:] == ["corrected", "card_overwritten", "card_deleted", "correction_delivered"]
    assert trail.count("sent") == 1  # one terugkoppeling sent, once corrected

    # Els refreshes the chat: the new card shows its content; it closes as any other
    (shown,) = [c for c in await els.look() if c.get("actions")]
    assert "Zorgkundige in een woonzorgcentrum" in texts(shown)
    els.card_activity_id, els.card = live[0]["id"], shown
    await els.click("overgezet")
    assert live_cards(harness, els.conversation_id) == []
    assert b"Amina" not in harness.db_bytes() and "Amina" not in harness.all_logs()


async def test_a_correction_throttled_by_teams_is_finished_by_the_sweep_with_one_live_copy(
        harness, counsellor, els):
    await send_for(counsellor, NAME, BORN)
    receive(els)
    # The posts into her chat: the text that tells her a new version follows, then the new card
    harness.connector.fail("POST", path_is=f"/v3/conversations/{els.conversation_id}/activities", status=429,
                           retry_after=30, times=2)
    done = await correct(counsellor, "Zorgkundige")
    assert texts(done)[0] == "Wijziging wordt verstuurd"
    assert live_cards(harness, els.conversation_id) == []  # the old copy is gone; the new one waits
    handoff = await only_handoff(harness)
    assert handoff.state is HandoffState.DELIVERING and handoff.stale_delivery is None

    await harness.sweep(handoff.due_at)
    live = live_cards(harness, els.conversation_id)
    assert len(live) == 1 and "Zorgkundige" in texts(live[0]["attachments"][0]["content"])
    assert (await only_handoff(harness)).state is HandoffState.DELIVERED
    assert any("alsnog aangekomen" in t for t in counsellor.texts())
    await harness.sweep(harness.clock.now() + timedelta(hours=1))
    assert len(live_cards(harness, els.conversation_id)) == 1  # nothing posted twice


async def test_a_correction_whose_old_card_cannot_be_overwritten_yet_posts_nothing_new(harness, counsellor, els):
    await send_for(counsellor, NAME, BORN)
    receive(els)
    old_id = els.card_activity_id
    for method in ("PUT", "DELETE"):  # Teams cannot touch the old card now (the client retries too)
        harness.connector.fail(method, path_contains="/activities/", status=503, times=10)
    done = await correct(counsellor, "Zorgkundige")
    assert texts(done)[0] == "Wijziging wordt verstuurd"
    live = live_cards(harness, els.conversation_id)
    assert [a["id"] for a in live] == [old_id]  # still the one copy: the new one waits for its removal
    handoff = await only_handoff(harness)
    assert handoff.stale_delivery is not None and handoff.state is HandoffState.DELIVERING

    harness.connector.clear_failures()
    await harness.sweep(handoff.due_at)
    live = live_cards(harness, els.conversation_id)
    assert len(live) == 1 and live[0]["id"] != old_id
    assert "Zorgkundige" in texts(live[0]["attachments"][0]["content"])


async def test_withdrawal_asks_first_then_removes_the_card_purges_and_tells_the_recipient(
        harness, counsellor, els):
    await send_for(counsellor, NAME, BORN)
    receive(els)
    await counsellor.say("overzicht")
    target = item_action(counsellor.card, "intrekken")
    asked = await counsellor.click("intrekken", data=target)
    assert verbs(asked) == ["bevestig_intrekken", "overzicht"] and NAME not in " ".join(texts(asked))
    assert (await only_handoff(harness)).state is HandoffState.DELIVERED  # nothing changed yet
    assert len(live_cards(harness, els.conversation_id)) == 1

    done = await counsellor.click("bevestig_intrekken")
    assert texts(done)[0] == "Ingetrokken" and "is verwijderd" in " ".join(texts(done))
    assert live_cards(harness, els.conversation_id) == []
    assert "ingetrokken door de bemiddelaar" in els.texts()[-1]
    handoff = await only_handoff(harness)
    assert handoff.state is HandoffState.WITHDRAWN and handoff.client is None
    trail = [e.event.value for e in await harness.runtime.store.audit_events()]
    assert trail[-4:] == ["withdrawn", "purged", "card_overwritten", "card_deleted"] and "incident" not in trail
    assert not any("ingetrokken" in t for t in counsellor.texts())  # told on their own card, not twice

    again = await counsellor.click("bevestig_intrekken", data=target)  # a second click changes nothing
    assert "al afgehandeld" in " ".join(texts(again))
    overview = await counsellor.click("overzicht", data={"pagina": "1"})
    assert items(overview)[0].endswith("naam gewist (de inhoud is verwijderd)") and "Ingetrokken" in texts(overview)
    assert b"Amina" not in harness.db_bytes() and "Amina" not in harness.all_logs()


async def test_a_dropped_correction_leaves_the_sent_version_standing(harness, counsellor, els):
    await send_for(counsellor, NAME, BORN)
    receive(els)
    old_id = els.card_activity_id
    await counsellor.say("overzicht")
    await counsellor.click("corrigeer", data=item_action(counsellor.card, "corrigeer"))
    dropped = await counsellor.click("annuleer")
    assert texts(dropped)[0] == "Wijziging geannuleerd" and "eerder verstuurde" in " ".join(texts(dropped))
    assert [a["id"] for a in live_cards(harness, els.conversation_id)] == [old_id]
    handoff = await only_handoff(harness)
    assert handoff.state is HandoffState.DELIVERED and handoff.client is not None and handoff.corrections == 0
