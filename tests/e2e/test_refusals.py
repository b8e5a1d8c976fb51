"""Every refusal: a clear Dutch reason, nothing stored about the client, nothing sent."""

import json
from datetime import timedelta

import pytest

from bot.domain.handoff import HandoffState, Stage
from tests.e2e.conftest import ELS, VDAB
from tests.e2e.flows import CONTENT, identify, receive, send
from tests.support.cards import inputs, texts, verbs


async def _draft(harness):
    events = await harness.runtime.store.audit_events()
    return await harness.runtime.store.get_draft(events[0].subject)


@pytest.mark.parametrize(
    ("naam", "born", "title", "reason"),
    [
        ("Iemand Onbekend", "1990-01-01", "Klant niet gevonden", "unknown_client"),
        ("Amina El Idrissi", "1990-04-13", "Klant niet gevonden", "unknown_client"),  # birth date is exact
        ("Li Wei", "1991-10-10", "Meerdere klanten gevonden", "ambiguous_client"),
        ("Mohammed Ahmadi", "1992-09-09", "Geen actief inburgeringstraject", "no_active_inburgeringstraject"),
        ("Fatima Benali", "1988-01-20", "Geen actief inburgeringstraject", "no_active_inburgeringstraject"),
    ],
)
async def test_ineligible_clients_are_refused(harness, counsellor, naam, born, title, reason):
    card = await identify(counsellor, naam, born)
    assert texts(card)[0] == title and "Er werd niets verstuurd." in texts(card)[1]
    assert verbs(card) == ["identificeer", "herbegin", "annuleer"]
    assert inputs(card)["naam"] == naam  # what was typed stays, so a typo is fixed in place
    draft = await _draft(harness)
    assert draft.stage is Stage.IDENTIFY and draft.client is None and draft.recipient is None
    assert not harness.connector.calls_to_conversations(exclude=counsellor.conversation_id)
    events = await harness.runtime.store.audit_events()
    assert (events[-1].event, events[-1].reason) == ("refused", reason)
    assert naam.encode() not in harness.db_bytes()
    again = await counsellor.click("herbegin")
    assert inputs(again) == {"naam": "", "geboortedatum": ""}


async def test_same_name_different_birth_date_reaches_each_own_trajectbegeleider(harness, counsellor):
    card = await identify(counsellor, "ali hassan", "1985-06-01")
    assert "Els Peeters, trajectbegeleider bij Atlas Antwerpen" in texts(card)
    card = await identify(counsellor, "Ali Hassan", "1993-03-14")
    assert "Pieter De Smet, trajectbegeleider bij Amal Gent" in texts(card)


async def test_accents_do_not_matter(harness, counsellor):
    card = await identify(counsellor, "jose alvarez ruiz", "1979-07-15")
    assert "José Álvarez Ruiz" in texts(card)  # the directory's spelling goes to the recipient


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"naam": "85.07.30-033.28", "geboortedatum": "1990-04-12"}, "naam", "rijksregisternummer"),
        ({"naam": "A", "geboortedatum": "1990-04-12"}, "naam", "minstens 2 tekens"),
        ({"naam": "Amina", "geboortedatum": "2020-01-01"}, "geboortedatum", "tussen 16 en 100 jaar"),
        ({"naam": "Amina", "geboortedatum": "2027-01-01"}, "geboortedatum", "in het verleden"),
        ({"naam": "Amina", "geboortedatum": "12/04/90"}, "geboortedatum", "dd/mm/jjjj"),
        ({"naam": "amina@mail.example", "geboortedatum": "1990-04-12"}, "naam", "e-mailadres"),
    ],
)
async def test_identification_errors_show_next_to_the_field(harness, counsellor, form, field, message):
    await counsellor.say("terugkoppeling")
    card = await counsellor.click("identificeer", form)
    assert inputs(card) == form  # what was typed stays
    body = card["body"]
    position = next(i for i, e in enumerate(body) if e.get("id") == field)
    shown = body[position + 1]  # on an attention band: the Attention text colour fails AA in dark mode
    assert shown["style"] == "attention" and any(message in line["text"] for line in shown["items"])
    assert (await _draft(harness)).stage is Stage.IDENTIFY
    assert [e.event for e in await harness.runtime.store.audit_events()] == ["started"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("jobdoelwit", "", "Vul dit veld in."),
        ("jobdoelwit", "x" * 201, "hoogstens 200 tekens"),
        ("eerstvolgende_contact", "2026-11-29", "vandaag of een latere datum"),
        ("eerstvolgende_contact_tijd", "25:61", "geldig uur"),
        ("stappen", "", "minstens één stap"),
        ("stappen", "stage,hacken", "alleen stappen uit de lijst"),
        ("partner", "0470 12 34 56", "telefoonnummer"),
        ("toelichting", "rekening BE68 5390 0754 7034", "rekeningnummer"),
        ("toelichting", "INSZ 85073003328", "rijksregisternummer"),
        ("toelichting", "bel\x1bme", "niet-toegelaten tekens"),
    ],
)
async def test_content_errors_keep_the_form(harness, counsellor, field, value, message):
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    typed = {**CONTENT, field: value}
    card = await counsellor.click("bekijk", typed)
    assert inputs(card) == typed
    assert any(message in t for t in texts(card))
    assert (await _draft(harness)).stage is Stage.COMPOSE


async def test_second_terugkoppeling_asks_for_confirmation(harness, counsellor, els):
    await send(counsellor)
    receive(els)
    await els.click("overgezet")
    card = await identify(counsellor, "AMINA EL IDRISSI", "1990-04-12")
    assert texts(card)[0] == "Al eerder een terugkoppeling voor deze klant"
    assert "30/11/2026" in " ".join(texts(card))
    assert verbs(card) == ["bevestig_herhaling", "annuleer"]
    form = await counsellor.click("bevestig_herhaling")
    assert "jobdoelwit" in inputs(form)
    events = [(e.event, e.reason) for e in await harness.runtime.store.audit_events()]
    assert ("identified", "repeat") in events and ("repeat_confirmed", None) in events


async def test_another_counsellor_cannot_touch_a_draft(harness, counsellor):
    await counsellor.say("terugkoppeling")
    intruder = harness.user("aad-other", VDAB, "Andere Bemiddelaar")
    card = await intruder.click("identificeer", {"naam": "Amina El Idrissi", "geboortedatum": "1990-04-12"},
                                card=counsellor.card)
    assert texts(card)[0] == "Niet jouw terugkoppeling"
    assert (await _draft(harness)).client is None


async def test_only_the_recipient_can_confirm(harness, counsellor, els, pieter):
    await send(counsellor)
    card = receive(els)
    for intruder in (pieter, harness.user(els.aad, "another-tenant", "Els elders"), counsellor):
        refused = await intruder.click("overgezet", card=card)
        assert texts(refused)[0] == "Niet voor jou bestemd"
        refused = await intruder.click("niet_mijn_klant", card=card)
        assert texts(refused)[0] == "Niet voor jou bestemd"
    handoff = await harness.runtime.store.get_handoff(card["actions"][0]["data"]["handoff"])
    assert handoff.state is HandoffState.DELIVERED and handoff.client is not None
    assert [c.method for c in harness.connector.calls_in(els.conversation_id)] == ["POST"]


async def test_niet_mijn_klant_purges_and_records_an_incident(harness, counsellor, els):
    await send(counsellor)
    card = receive(els)
    await els.click("niet_mijn_klant")  # asks first (tests/e2e/test_presentation.py)
    closed = await els.click("bevestig_niet_mijn_klant")
    assert "niet mijn klant" in " ".join(texts(closed))
    handoff = await harness.runtime.store.get_handoff(card["actions"][0]["data"]["handoff"])
    assert handoff.state is HandoffState.RETURNED and handoff.client is None
    events = [(e.event, e.reason) for e in await harness.runtime.store.audit_events()]
    closing = [e for e in events if e[0] in ("returned", "purged", "incident")]
    assert closing[-3:] == [("returned", None), ("purged", None), ("incident", "misdelivery")]
    assert events[-1] == ("card_deleted", None)  # art. 6: the deletion in Teams is audited too
    assert "niet hun klant" in counsellor.last_text()
    assert b"Amina" not in harness.db_bytes()


async def test_stale_actions_get_a_clear_card(harness, counsellor, els):
    await send(counsellor)
    card = receive(els)
    await els.click("overgezet")
    again = await els.click("overgezet", card=card)  # replayed after the purge
    assert "al afgehandeld" in " ".join(texts(again))
    gone = await counsellor.click("bekijk", CONTENT, data={"draft": "AAAAAAAAAAAAAAAAAAAAAA"})
    assert texts(gone)[0] == "Deze terugkoppeling is niet meer open" and verbs(gone) == ["nieuw"]


async def test_expired_draft_is_stale(harness, counsellor):
    from datetime import timedelta

    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    draft = await _draft(harness)
    harness.clock.advance(timedelta(hours=25))
    card = await counsellor.click("bekijk", CONTENT)
    assert texts(card)[0] == "Deze terugkoppeling is niet meer open"
    assert await harness.runtime.store.get_draft(draft.id) is None  # purged on the spot
    assert [e.event for e in await harness.runtime.store.audit_events()][-2:] == ["expired", "purged"]


@pytest.mark.parametrize("fault", [403, 404])
async def test_delivery_refused_for_good_keeps_the_preview_and_sends_nothing(harness, counsellor, els, fault):
    """Teams refuses (403: e.g. the user blocked the bot): no outbox, the counsellor keeps the preview.
    Retryable faults (429, 5xx, a dropped connection) go to the outbox: see test_outbox.py."""
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    harness.connector.fail(method="POST", path_contains="/v3/conversations", status=fault, times=10)
    card = await counsellor.click("verstuur")
    assert "Versturen is niet gelukt" in texts(card)[0] and verbs(card) == ["verstuur", "wijzig", "annuleer"]
    assert [e.event for e in await harness.runtime.store.audit_events()][-1] == "delivery_failed"
    harness.connector.clear_failures()
    receipt = await counsellor.click("verstuur")
    assert "Terugkoppeling verstuurd" in texts(receipt)
    assert len(harness.connector.cards_to(ELS)) == 1


@pytest.fixture
def bot_env(request) -> dict[str, str]:
    return getattr(request, "param", {})


@pytest.mark.parametrize("bot_env", [{"BOT_COUNSELLOR_TENANTS": "tenant-other"}], indirect=True)
async def test_counsellor_outside_the_vdab_tenants_is_refused(harness, counsellor):
    await counsellor.say("terugkoppeling")
    assert texts(counsellor.card)[0] == "Geen toegang" and verbs(counsellor.card) == []


@pytest.mark.parametrize("bot_env", [{"BOT_AGENCY_TENANTS": "atlas=tenant-elsewhere"}], indirect=True)
async def test_recipient_outside_the_agency_tenants_is_refused(harness, counsellor):
    card = await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    assert texts(card)[0] == "Trajectbegeleider niet bereikbaar"
    assert not harness.connector.created()


@pytest.mark.parametrize("bot_env", [{"BOT_PROTOCOL_END": "2026-06-30"}], indirect=True)
async def test_outside_the_protocol_period_is_refused(harness, counsellor):
    await counsellor.say("terugkoppeling")
    assert texts(counsellor.card)[0] == "Protocol niet van kracht"


async def test_malformed_invokes_are_4xx_not_5xx(harness, counsellor):
    await counsellor.say("terugkoppeling")
    for value in [None, {}, {"action": {"verb": "verstuur"}}, {"action": {"type": "Action.Submit", "verb": "x"}},
                  {"action": {"type": "Action.Execute", "verb": "bestaat_niet", "data": {}}},
                  {"action": {"type": "Action.Execute", "verb": "verstuur", "data": {"draft": "../../etc"}}},
                  {"action": {"type": "Action.Execute", "verb": "verstuur", "data": "tekst"}}]:
        status, _ = await counsellor.invoke(value)
        assert status == 400, value
    status, _ = await harness.post({"type": "message", "text": "terugkoppeling"})
    assert status == 400


async def test_failure_after_the_chat_was_opened_sends_nothing_either(harness, counsellor, els):
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    harness.connector.fail(method="POST", path_contains=f"{ELS}-", status=403, times=10)  # the card post only
    card = await counsellor.click("verstuur")
    assert "Versturen is niet gelukt" in texts(card)[0]
    assert len(harness.connector.created()) == 1 and harness.connector.cards_to(ELS) == []
    assert await harness.runtime.store.audit_events() and (await _draft(harness)).stage is Stage.PREVIEW


@pytest.mark.parametrize("bot_env", [{"BOT_RATE_IDENTIFICATIONS": "3", "BOT_RATE_COMMANDS": "4"}])
async def test_guessing_a_birth_date_is_bounded_per_counsellor(harness, counsellor, bot_env):
    """77 tries found a birth date once: now a few attempts per window, then a Dutch refusal, audited."""
    await counsellor.say("terugkoppeling")
    for day in range(1, 4):
        card = await counsellor.click("identificeer", {"naam": "Amina El Idrissi", "geboortedatum": f"1990-04-0{day}"})
        assert texts(card)[0] == "Klant niet gevonden"
    card = await counsellor.click("identificeer", {"naam": "Amina El Idrissi", "geboortedatum": "1990-04-12"})
    assert texts(card)[0] == "Even geduld" and inputs(card)["naam"] == "Amina El Idrissi"
    events = await harness.runtime.store.audit_events()
    assert (events[-1].event, events[-1].reason) == ("refused", "rate_limited")
    assert (await _draft(harness)).client is None  # the right birth date found nothing either
    for _ in range(3):
        await counsellor.say("terugkoppeling")
    await counsellor.say("terugkoppeling")  # the fifth command in the window
    assert "Even geduld" in json.dumps(counsellor.card)
    harness.clock.set(harness.clock.now() + timedelta(minutes=11))
    await counsellor.say("terugkoppeling")
    card = await counsellor.click("identificeer", {"naam": "Amina El Idrissi", "geboortedatum": "1990-04-12"})
    assert "Els Peeters, trajectbegeleider bij Atlas Antwerpen" in texts(card)


async def test_the_same_object_id_in_another_tenant_is_another_person(harness, counsellor):
    """Entra object ids are unique within a tenant only: the owner check compares id and tenant."""
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    receipt = await counsellor.click("verstuur")
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    impostor = harness.user(counsellor.aad, "tenant-elsewhere", "Bram")
    impostor.card, impostor.card_activity_id = counsellor.card, counsellor.card_activity_id
    draft = (await harness.runtime.store.audit_events())[0].subject
    card = await impostor.click("verstuur", data={"draft": draft})  # Teams repeating the sender's verstuur
    assert texts(card)[0] == "Niet jouw terugkoppeling" and "TK-" not in " ".join(texts(card))
    events = await harness.runtime.store.audit_events()
    assert (events[-1].event, events[-1].reason) == ("refused", "not_draft_owner")
