"""Art. 8 and 12: the protocol ends (for everyone, or for one agency). After the end nothing is
delivered or reminded, every open handoff of that scope is withdrawn (card overwritten and deleted,
content purged), both parties are told once, and the audit says ``protocol_ended``; before it,
counsellors see the end coming."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.conftest import AMAL, ATLAS, BRUSSELS, ELS, PIETER, VDAB
from tests.e2e.flows import CONTENT, identify, receive, send
from tests.support.cards import texts

AMINA, YONAS = ("Amina El Idrissi", "1990-04-12"), ("Yonas Tesfaye", "1987-11-03")


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=BRUSSELS)


async def protocol_events(harness) -> list[tuple[str, str | None]]:
    return [(e.event.value, e.reason) for e in await harness.runtime.store.audit_events()
            if e.event.value in ("protocol_ended", "reminded")]


@pytest.mark.parametrize("bot_env", [{"BOT_PROTOCOL_END": "2026-12-04", "BOT_REMINDER_WORKING_DAYS": "1"}])
async def test_past_the_end_nothing_goes_out_and_everything_open_is_withdrawn(harness, connector, bot_env):
    queued_by = harness.user("aad-anna", VDAB, "Anna")
    pending_by = harness.user("aad-bram", VDAB, "Bram")
    drafting = harness.user("aad-carla", VDAB, "Carla")
    els = harness.user(ELS, ATLAS, "Els Peeters")

    await send(pending_by, *AMINA)
    receive(els)
    connector.fail(method="POST", path_is="/v3/conversations", status=503, times=50)
    assert texts(await send(queued_by, *YONAS))[0] == "Terugkoppeling wordt verstuurd"

    await harness.sweep(at(1, 10))  # before the end: a reminder goes out as usual
    assert ("reminded", "1") in await protocol_events(harness)
    connector.clear_failures()
    harness.clock.set(at(4, 15))  # the last day: a counsellor writes one, and sees the end coming
    await identify(drafting, "Ali Hassan", "1985-06-01")
    await drafting.click("bekijk", {**CONTENT, "eerstvolgende_contact": "2026-12-10"})

    done = await harness.sweep(at(5, 10))  # past the end (the 4th is the last day)
    assert done.get("protocol_ended") == 2 and "deliver" not in done and "remind" not in done
    assert connector.cards_to(PIETER) == []  # the queued one never went out
    assert not [a for a in connector.live_activities(els.conversation_id) if "attachments" in a
                and "Amina" in str(a["attachments"])]
    for counsellor in (queued_by, pending_by):
        told = [t for t in counsellor.texts() if "ingetrokken" in t]
        assert len(told) == 1 and "afgelopen" in told[0]
    assert [e for e in await protocol_events(harness) if e[0] == "protocol_ended"] == \
        [("protocol_ended", "outside_protocol_period")] * 2
    assert b"Amina" not in harness.db_bytes()

    assert texts(await drafting.click("verstuur"))[0] == "Protocol niet van kracht"
    assert await harness.sweep(at(8, 10)) == {"draft_expired": 1}  # told once; nothing else to do
    await drafting.say("terugkoppeling")
    assert texts(drafting.card)[0] == "Protocol niet van kracht"
    names = [e.event.value for e in await harness.runtime.store.audit_events()]
    assert "incident" not in names


@pytest.mark.parametrize("bot_env", [{"BOT_AGENCY_END": "atlas=2026-12-04"}])
async def test_one_agency_leaving_withdraws_only_its_handoffs(harness, connector, bot_env):
    bram, sofie = harness.user("aad-bram", VDAB, "Bram"), harness.user("aad-sofie", VDAB, "Sofie")
    await send(bram, *AMINA)  # → Els (Atlas)
    await send(sofie, *YONAS)  # → Pieter (Amal)
    done = await harness.sweep(at(7, 10))
    assert done.get("protocol_ended") == 1
    assert [t for t in bram.texts() if "ingetrokken" in t] and not [t for t in sofie.texts() if "ingetrokken" in t]
    amal = connector.sent_to(connector.conversation_for(PIETER))  # Amal's card stays open, reminded as usual
    assert any("herinnering" in (c.body.get("summary") or "").lower() for c in amal), [c.body for c in amal]

    card = await identify(bram, *AMINA)  # a new one for an Atlas client: refused, with a reason of its own
    assert texts(card)[0] == "Agentschap neemt niet meer deel"
    events = await harness.runtime.store.audit_events()
    assert (events[-1].event.value, events[-1].reason) == ("refused", "agency_participation_ended")
    assert "incident" not in [e.event.value for e in events]


@pytest.mark.parametrize("bot_env", [{"BOT_PROTOCOL_END": "2026-12-20", "BOT_PROTOCOL_END_NOTICE_DAYS": "30"}])
async def test_counsellors_see_the_end_coming(harness, counsellor, bot_env):
    await counsellor.say("terugkoppeling")
    assert "Let op: terugkoppelingen via Teams kunnen nog tot en met 20/12/2026." in texts(counsellor.card)


@pytest.mark.parametrize("bot_env", [{"BOT_COUNSELLOR_TENANTS": VDAB,
                                      "BOT_AGENCY_TENANTS": f"atlas={ATLAS},amal={AMAL}"}])  # AgII not listed
async def test_an_agency_off_the_allow_list_is_refused_with_a_reason_of_its_own(harness, counsellor, bot_env):
    card = await identify(counsellor, "Olena Kovalenko", "1995-02-28")  # → AgII
    assert texts(card)[0] == "Agentschap neemt niet deel" and "Er werd niets verstuurd." in texts(card)[1]
    events = await harness.runtime.store.audit_events()
    assert (events[-1].event.value, events[-1].reason) == ("refused", "agency_not_participating")
    assert "incident" not in [e.event.value for e in events]  # art. 8, not a breach (art. 9)
    assert await harness.runtime.store.draft_of(f"{VDAB}|aad-bram") is not None  # the form stays, typed values kept


@pytest.mark.parametrize("bot_env", [{"BOT_COUNSELLOR_TENANTS": VDAB,
                                      "BOT_AGENCY_TENANTS": f"atlas={ATLAS},amal={AMAL}"}])
async def test_taking_an_agency_off_the_list_stops_queued_cards_but_purges_nothing_delivered(
        harness, connector, bot_env):
    bram, sofie = harness.user("aad-bram", VDAB, "Bram"), harness.user("aad-sofie", VDAB, "Sofie")
    await send(sofie, *YONAS)  # delivered to Pieter (Amal)
    # Pieter's chat is open (the bot remembers it): his cards fail as they are posted into it
    connector.fail(method="POST", path_is=f"/v3/conversations/{connector.conversation_for(PIETER)}/activities",
                   status=503, times=50)
    assert texts(await send(bram, "Ali Hassan", "1993-03-14"))[0] == "Terugkoppeling wordt verstuurd"  # Amal, queued

    harness.env = {**harness.env, "BOT_AGENCY_TENANTS": f"atlas={ATLAS}"}  # Amal off the list; a restart
    await harness.restart()
    connector.clear_failures()
    done = await harness.sweep(at(2, 10))
    assert done.get("remind") == 1  # Sofie's card to Pieter goes on as usual
    assert connector.cards_to(PIETER) and all("Hassan" not in str(card) for card in connector.cards_to(PIETER))
    told = [t for t in bram.texts() if "ingetrokken" in t]
    assert len(told) == 1 and "afgelopen" in told[0]
    events = await harness.runtime.store.audit_events()
    assert ("withdrawn", "agency_not_participating") in [(e.event.value, e.reason) for e in events]
    assert "incident" not in [e.event.value for e in events]
    assert [h.reference for h in await harness.runtime.store.open_handoffs(10)
            if not isinstance(h, Exception)]  # Sofie's delivered card is not purged by a change of the list
    assert not [t for t in sofie.texts() if "ingetrokken" in t]
