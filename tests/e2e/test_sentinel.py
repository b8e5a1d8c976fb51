"""Every field carries a sentinel; every flow and every error path runs; the sentinel is then
searched for in everything the bot logged (its JSON stream and pytest's capture at DEBUG, with
arguments formatted in) and in the database file. It is in none of them."""

from datetime import timedelta

import pytest

from tests.e2e.conftest import ELS
from tests.e2e.flows import identify, receive
from tests.support.cards import texts

S = "Qzxsentinel"
CONTENT = {
    "jobdoelwit": f"{S} magazijn",
    "eerstvolgende_contact": "2026-12-03",
    "eerstvolgende_contact_tijd": "10:30",
    "stappen": "stage,opleiding",
    "partner": f"{S} partner",
    "toelichting": f"{S} toelichting met details",
}
BAD = {**CONTENT, "toelichting": f"{S} bel 0470 12 34 56 of {S}@example.be", "jobdoelwit": f"{S} 90.04.12-123.45"}


async def to_preview(counsellor, content=CONTENT):
    card = await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    if "bevestig_herhaling" in [a.get("verb") for a in card.get("actions", [])]:
        await counsellor.click("bevestig_herhaling")  # art. 5: she had one before
    return await counsellor.click("bekijk", content)


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"BOT_DELIVERY_TIMEOUT_SECONDS": "1"}


async def test_the_sentinel_is_nowhere(harness, counsellor, els, pieter, caplog):
    h, c = harness, harness.connector
    # identification with the sentinel in the name: unknown, and malformed dates
    await counsellor.say(f"terugkoppeling {S}")
    await counsellor.say("terugkoppeling")
    await counsellor.click("identificeer", {"naam": f"{S} Janssens", "geboortedatum": "1980-01-01"})
    await counsellor.click("herbegin")
    await counsellor.click("identificeer", {"naam": f"{S}", "geboortedatum": f"{S}"})
    await identify(counsellor, "Li Wei", "1991-10-10")  # ambiguous
    await identify(counsellor, "Mohammed Ahmadi", "1992-09-09")  # not active
    # content errors with the sentinel (INSZ, phone, e-mail) kept in the form, then fixed
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    errors = await counsellor.click("bekijk", BAD)
    assert "bekijk" in [a.get("verb") for a in errors["actions"]]  # the form again, with its errors
    assert any("e-mail" in t or "telefoon" in t for t in texts(errors))
    await counsellor.click("bekijk", CONTENT)
    await counsellor.click("wijzig")
    await counsellor.click("bekijk", CONTENT)
    await counsellor.click("annuleer")
    # a refusal for good (403), a queued delivery (503, then a timeout), the sweep, a transfer
    await to_preview(counsellor)
    c.fail(method="POST", path_is="/v3/conversations", status=403)
    await counsellor.click("verstuur")
    c.fail(method="POST", path_is="/v3/conversations", status=503)
    await counsellor.click("verstuur")
    c.fail(method="POST", path_is="/v3/conversations", status="delay", seconds=2)
    await h.sweep(h.clock.now() + timedelta(minutes=5))
    await h.sweep(h.clock.now() + timedelta(hours=2))
    card = receive(els)
    await els.look()
    status, _ = await pieter.invoke({"action": card["refresh"]["action"], "trigger": "automatic"})
    assert status == 200
    await pieter.click("overgezet", card=card)  # not his: refused
    await els.click("overgezet", card=card)
    await els.click("overgezet", card=card)  # already closed
    # a second one: reminders, escalation, retention purge; a third: niet mijn klant
    await to_preview(counsellor)
    await counsellor.click("verstuur")
    receive(els)
    for days in (3, 5, 9, 13, 31):
        await h.sweep(h.clock.now().replace(hour=10) + timedelta(days=days))
    h.clock.set(h.clock.now() + timedelta(days=1))
    later = (h.clock.now() + timedelta(days=3)).date().isoformat()
    await to_preview(counsellor, {**CONTENT, "eerstvolgende_contact": later})
    await counsellor.click("verstuur")
    receive(els)
    await els.click("niet_mijn_klant")  # asks first
    await els.click("bevestig_niet_mijn_klant")
    # an abandoned draft, expired by the sweep
    await to_preview(counsellor)
    await h.sweep(h.clock.now() + timedelta(days=2))
    # malformed card data carrying the sentinel
    await counsellor.invoke({"action": {"type": "Action.Execute", "verb": "bekijk", "data": {"draft": S * 9, S: S}}})
    await h.post({"type": "message", "text": S})

    assert len(c.cards_to(ELS)) >= 3  # the flows really ran
    everything = h.all_logs() + caplog.text
    assert everything  # something was logged
    assert S not in everything
    assert S.encode() not in h.db_bytes()
