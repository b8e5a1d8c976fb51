"""Issue 14, over HTTP: "Niet mijn klant" asks first, help and welcome cards for each role, forms that
name every problem and take a birth date as people type it, and the configured administrator contact
and protocol link where users need them."""

from __future__ import annotations

import pytest

from bot.domain.handoff import HandoffState, Stage
from bot.teams import texts as nl
from tests.e2e.conftest import AMAL, ATLAS, VDAB
from tests.e2e.flows import CONTENT, identify, receive, send
from tests.support.cards import inputs, nodes, texts, verbs

CONTACT = "functioneelbeheer@vdab.example"
PROTOCOL = "https://www.vdab.example/protocol-inburgering"


def joined(card: dict) -> str:
    return " ".join(texts(card))


async def _draft(harness):
    events = await harness.runtime.store.audit_events()
    return await harness.runtime.store.get_draft(events[0].subject)


# -- "Niet mijn klant" asks for confirmation ---------------------------------------------------------


async def test_niet_mijn_klant_changes_nothing_until_confirmed(harness, counsellor, els):
    await send(counsellor)
    card = receive(els)
    handoff_id = card["actions"][0]["data"]["handoff"]
    events_before = [e.event for e in await harness.runtime.store.audit_events()]
    told_before = counsellor.texts()

    asked = await els.click("niet_mijn_klant")
    assert texts(asked)[0].startswith("Is TK-") and "niet jouw klant?" in texts(asked)[0]
    assert verbs(asked) == ["bevestig_niet_mijn_klant", "ververs"]
    assert "incident" in joined(asked) and "gewist" in joined(asked)
    assert "Amina" not in joined(asked)  # the confirmation shows no client data
    handoff = await harness.runtime.store.get_handoff(handoff_id)
    assert handoff.state is HandoffState.DELIVERED and handoff.client is not None
    assert [e.event for e in await harness.runtime.store.audit_events()] == events_before
    assert [c.method for c in harness.connector.calls_in(els.conversation_id)] == ["POST"]  # no update, no delete
    assert counsellor.texts() == told_before

    back = await els.click("ververs")  # "Terug": the card as it was
    assert verbs(back) == ["overgezet", "niet_mijn_klant", "doorsturen"] and "Amina El Idrissi" in texts(back)

    await els.click("niet_mijn_klant")
    closed = await els.click("bevestig_niet_mijn_klant")
    assert "niet mijn klant" in joined(closed)
    handoff = await harness.runtime.store.get_handoff(handoff_id)
    assert handoff.state is HandoffState.RETURNED and handoff.client is None
    events = [(e.event, e.reason) for e in await harness.runtime.store.audit_events()][len(events_before):]
    assert [e for e in events if e[0] in ("returned", "purged", "incident")] == [
        ("returned", None), ("purged", None), ("incident", "misdelivery")]
    assert "niet hun klant" in counsellor.last_text()
    assert b"Amina" not in harness.db_bytes()


async def test_only_the_recipient_is_asked_or_may_confirm(harness, counsellor, els, pieter):
    await send(counsellor)
    card = receive(els)
    handoff_id = card["actions"][0]["data"]["handoff"]
    for intruder in (pieter, counsellor):
        assert texts(await intruder.click("niet_mijn_klant", card=card))[0] == "Niet voor jou bestemd"
        refused = await intruder.click("bevestig_niet_mijn_klant", card=card, data={"handoff": handoff_id})
        assert texts(refused)[0] == "Niet voor jou bestemd"
    assert (await harness.runtime.store.get_handoff(handoff_id)).state is HandoffState.DELIVERED


async def test_a_confirmation_after_the_card_was_transferred_changes_nothing(harness, counsellor, els):
    await send(counsellor)
    card = receive(els)
    asked = await els.click("niet_mijn_klant")
    await els.click("overgezet", card=card)  # on another device, meanwhile
    late = await els.click("bevestig_niet_mijn_klant", card=asked)
    assert "al afgehandeld" in joined(late)
    events = [e.event for e in await harness.runtime.store.audit_events()]
    assert "transferred" in events and "returned" not in events and "incident" not in events


# -- help and welcome ----------------------------------------------------------------------------------


async def test_unknown_text_gets_the_help_card_and_its_button_starts_a_terugkoppeling(harness, counsellor):
    await counsellor.say("Amina El Idrissi")  # a client's name typed in the wrong place is never echoed
    card = counsellor.card
    assert texts(card)[0] == nl.UNKNOWN_COMMAND and "Amina" not in joined(card)
    assert "terugkoppeling" in texts(card) and "help" in texts(card)  # the commands
    started = await counsellor.click("nieuw")
    assert verbs(started) == ["identificeer", "annuleer"] and set(inputs(started)) == {"naam", "geboortedatum"}
    assert [e.event for e in await harness.runtime.store.audit_events()] == ["started"]


async def test_help_explains_without_saying_it_was_not_understood(harness, counsellor):
    for command in ("help", "/Help", "hulp"):
        await counsellor.say(command)
        assert texts(counsellor.card)[0] == nl.HELP_TITLE
    assert nl.HELP_PROTOCOL_ASK.format(beheerder=nl.ADMIN) in texts(counsellor.card)  # no URL configured


async def welcome(harness, user) -> dict:
    status, _ = await harness.post(user.activity(type="conversationUpdate",
                                                 membersAdded=[{"id": "28:terugkoppeling-bot"}]))
    assert status in (200, 201)
    return harness.card_seen(harness.connector.last_card(user.conversation_id)[1])


async def test_local_mode_welcomes_both_roles(harness, counsellor):
    card = await welcome(harness, counsellor)
    assert texts(card)[0] == nl.WELCOME_TITLE
    assert nl.HELP_COUNSELLOR in texts(card) and nl.HELP_RECIPIENT in texts(card)
    assert "hoeven niets te doen" not in joined(card)


class TestConfigured:
    """Allow-lists, the administrator's contact and the protocol's address configured."""

    @pytest.fixture
    def bot_env(self):
        return {"BOT_COUNSELLOR_TENANTS": VDAB, "BOT_AGENCY_TENANTS": f"atlas={ATLAS},amal={AMAL},agii=elsewhere",
                "BOT_ADMIN_CONTACT": CONTACT, "BOT_PROTOCOL_URL": PROTOCOL}

    async def test_the_welcome_follows_the_role(self, harness, counsellor, els):
        mine = await welcome(harness, counsellor)
        assert nl.HELP_COUNSELLOR in texts(mine) and nl.HELP_RECIPIENT not in texts(mine)
        assert verbs(mine) == ["nieuw"]
        theirs = await welcome(harness, els)
        assert nl.HELP_RECIPIENT in texts(theirs) and nl.HELP_COUNSELLOR not in texts(theirs)
        assert verbs(theirs) == [] and "terugkoppeling" not in texts(theirs)  # no command they cannot use
        assert "'Overgezet'" in joined(theirs) and "'Niet mijn klant'" in joined(theirs)  # the buttons' titles

    async def test_the_protocol_link_and_the_administrator_are_on_the_help_card(self, harness, counsellor):
        await counsellor.say("help")
        links = [n for n in nodes(counsellor.card) if n.get("type") == "Action.OpenUrl"]
        assert [(a["title"], a["url"]) for a in links] == [(nl.READ_PROTOCOL, PROTOCOL)]
        assert f"de functioneel beheerder ({CONTACT})" in joined(counsellor.card)

    async def test_refusals_name_the_administrator_and_the_period(self, harness, counsellor):
        card = await identify(counsellor, "Olena Kovalenko", "1995-02-28")  # AgII: not an allowed tenant here
        assert texts(card)[0] == "Trajectbegeleider niet bereikbaar"
        assert f"Meld dit aan de functioneel beheerder ({CONTACT})." in joined(card)
        assert "{" not in joined(card)


class TestOutsideTheProtocol:
    @pytest.fixture
    def bot_env(self):
        return {"BOT_PROTOCOL_START": "2025-04-01", "BOT_PROTOCOL_END": "2026-06-30"}

    async def test_the_refusal_gives_the_dates(self, harness, counsellor):
        await counsellor.say("terugkoppeling")
        assert texts(counsellor.card)[0] == "Protocol niet van kracht"
        assert "van 01/04/2025 tot en met 30/06/2026" in joined(counsellor.card)


# -- forms that forgive ----------------------------------------------------------------------------------


async def test_the_birth_date_may_be_typed_as_dd_mm_jjjj(harness, counsellor):
    await counsellor.say("terugkoppeling")
    field = next(n for n in nodes(counsellor.card) if n.get("id") == "geboortedatum")
    assert field["type"] == "Input.Text" and field["regex"] and "dd/mm/jjjj" in field["placeholder"]
    card = await counsellor.click("identificeer", {"naam": "Amina El Idrissi", "geboortedatum": "12/04/1990"})
    assert "Els Peeters, trajectbegeleider bij Atlas Antwerpen" in texts(card) and "12/04/1990" in joined(card)
    preview = await counsellor.click("bekijk", CONTENT)
    assert "12/04/1990" in texts(preview)


async def test_a_date_that_does_not_exist_is_named_and_the_typing_kept(harness, counsellor):
    card = await identify(counsellor, "Amina El Idrissi", "31/02/1990")
    assert inputs(card) == {"naam": "Amina El Idrissi", "geboortedatum": "31/02/1990"}
    assert any("dd/mm/jjjj" in t for t in texts(card))
    assert (await _draft(harness)).stage is Stage.IDENTIFY


async def test_every_problem_is_named_and_counted_above_the_buttons(harness, counsellor):
    card = await identify(counsellor, "A", "2027-01-01")
    assert any("minstens 2 tekens" in t for t in texts(card)) and any("in het verleden" in t for t in texts(card))
    assert texts(card)[-3] == "2 velden vragen je aandacht. Pas ze aan en probeer opnieuw."  # then the buttons

    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    typed = {**CONTENT, "jobdoelwit": "x", "stappen": "",
             "toelichting": "Rijksregisternummer 85.07.30-033.28, ziek thuis na een operatie"}
    card = await counsellor.click("bekijk", typed)
    assert inputs(card) == typed
    body = card["body"]
    position = next(i for i, e in enumerate(body) if e.get("id") == "toelichting")
    named = [line["text"] for line in body[position + 1]["items"]]  # both problems of the one field
    assert [t.split(":")[0] for t in named] == ["Verwijder het rijksregisternummer (INSZ)",
                                               "Verwijder de gezondheidsgegevens (ziekte, behandeling, beperking)"]
    assert "3 velden vragen je aandacht. Pas ze aan en probeer opnieuw." in texts(card)
    assert (await harness.runtime.store.get_draft(card["actions"][0]["data"]["draft"])).client.content is None


async def test_one_field_wrong_says_so_in_the_singular(harness, counsellor):
    card = await identify(counsellor, "Amina El Idrissi", "2020-04-12")
    assert "1 veld vraagt je aandacht. Pas het aan en probeer opnieuw." in texts(card)
