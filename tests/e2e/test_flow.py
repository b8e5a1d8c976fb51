"""The conversation contract, end to end over HTTP, as a counsellor and a trajectbegeleider."""

import re

from bot.domain.handoff import HandoffState
from tests.e2e.conftest import ATLAS, ELS, VDAB
from tests.e2e.flows import CONTENT, identify, receive
from tests.support.cards import inputs, texts, verbs

NAME, BORN = "Amina El Idrissi", "1990-04-12"


async def test_whole_happy_path_as_two_users(harness, counsellor, els, caplog):
    connector = harness.connector

    # 1. the identification card, from "/terugkoppeling" with an @mention in front
    status, _ = await counsellor.say("<at>Terugkoppeling</at> /Terugkoppeling ")
    assert status in (200, 201)
    assert verbs(counsellor.card) == ["identificeer", "annuleer"]
    assert set(inputs(counsellor.card)) == {"naam", "geboortedatum"}

    # 2. identify: case, accents and extra spaces do not matter; the recipient comes from the directory
    card = await counsellor.click("identificeer", {"naam": "  amina   el IDRISSI", "geboortedatum": BORN})
    shown = " ".join(texts(card))
    assert "Els Peeters, trajectbegeleider bij Atlas Antwerpen" in shown
    assert NAME in shown and "12/04/1990" in shown
    assert set(inputs(card)) == {"jobdoelwit", "eerstvolgende_contact", "eerstvolgende_contact_tijd", "stappen",
                                 "partner", "toelichting"}

    # 3. preview: exactly what the recipient will see
    preview = await counsellor.click("bekijk", CONTENT)
    assert verbs(preview) == ["verstuur", "wijzig", "annuleer"]
    previewed = texts(preview)
    for expected in [NAME, "12/04/1990", CONTENT["jobdoelwit"], "03/12/2026 om 10:30", "Opleiding, Stage",
                     "Groep Intro", CONTENT["toelichting"]]:
        assert expected in previewed
    assert not connector.calls_to_conversations(exclude=counsellor.conversation_id)  # nothing left the bot yet

    # 4. send: one new 1:1 chat with Els, one card, and a receipt without client data
    receipt = await counsellor.click("verstuur")
    reference = next(t for t in texts(receipt) if re.fullmatch(r"TK-[0-9A-F]{6}", t))
    receipt_text = " ".join(texts(receipt))
    assert "Els Peeters" in receipt_text and "30/11/2026 om 09:00" in receipt_text
    for private in (NAME, "12/04/1990", CONTENT["jobdoelwit"], "Groep Intro"):
        assert private not in receipt_text
    created = connector.created()
    assert len(created) == 1
    assert created[0].body["members"] == [{"id": ELS}] and not created[0].body["isGroup"]
    # botbuilder spells it "tenantID"; Teams reads the tenant from channelData
    assert created[0].body["channelData"] == {"tenant": {"id": ATLAS}} and created[0].body["tenantID"] == ATLAS

    card = receive(els)
    assert verbs(card) == ["overgezet", "niet_mijn_klant", "doorsturen"]  # "Doorsturen": secondary (issue 14)
    # the preview showed exactly this: same fields, same instruction (only the header line differs)
    assert card["body"][2:] == preview["body"][3:] and card["body"][0] == preview["body"][1]
    sent = connector.sent_to(els.conversation_id)
    assert len(sent) == 1 and reference in sent[0].body["summary"] and NAME not in sent[0].body["summary"]
    handoff_id = card["actions"][0]["data"]["handoff"]

    # 5. Els transfers it: overwrite without client data, then delete, then a short confirmation
    closed = await els.click("overgezet")
    assert NAME not in " ".join(texts(closed)) and reference in " ".join(texts(closed))
    calls = connector.calls_in(els.conversation_id)
    assert [c.method for c in calls] == ["POST", "PUT", "DELETE", "POST"]
    assert calls[1].activity_id == calls[2].activity_id == els.card_activity_id
    overwritten = " ".join(texts(calls[1].body["attachments"][0]["content"]))
    assert NAME not in overwritten and CONTENT["jobdoelwit"] not in overwritten
    assert "overgezet naar KBI/Allis" in calls[3].body["text"] and NAME not in calls[3].body["text"]
    live = connector.live_activities(els.conversation_id)
    assert len(live) == 1 and "attachments" not in live[0]  # only the confirmation remains

    # 6. the counsellor is told, by reference only
    told = counsellor.last_text()
    # (issue 14: the notice names the client for the counsellor, who sent it, and says what is next)
    assert told.startswith(f"{reference} ({NAME}):") and "overgezet" in told and "niets meer te doen" in told

    # 7. evidence without client data
    events = await harness.runtime.store.audit_events()
    assert [e.event for e in events] == ["started", "identified", "recorded", "sent", "transferred", "purged",
                                         "card_overwritten", "card_deleted"]
    assert {e.agency for e in events if e.event != "started"} == {"atlas"}
    closed = next(e for e in events if e.event == "transferred")
    assert closed.subject == reference and closed.actor == ELS and events[-1].subject == reference

    # 8. the data is gone: not in the database file, not in any log line
    handoff = await harness.runtime.store.get_handoff(handoff_id)
    assert handoff.state is HandoffState.TRANSFERRED and handoff.client is None
    for private in (NAME, "Amina", "1990-04-12", "12/04/1990", CONTENT["jobdoelwit"]):
        assert private.encode() not in harness.db_bytes()
        assert private not in harness.all_logs()
        assert private not in caplog.text  # every record at DEBUG, arguments included


async def test_client_name_never_in_clear_in_the_database_before_purge(harness, counsellor):
    await identify(counsellor, NAME, BORN)
    await counsellor.click("bekijk", CONTENT)
    data = harness.db_bytes()
    assert NAME.encode() not in data and b"Amina" not in data and BORN.encode() not in data
    assert CONTENT["jobdoelwit"].encode() not in data


async def test_wijzig_keeps_everything_and_annuleer_purges(harness, counsellor):
    await identify(counsellor, NAME, BORN)
    await counsellor.click("bekijk", CONTENT)
    form = await counsellor.click("wijzig")
    assert inputs(form) == {**CONTENT, "stappen": "opleiding,stage"}  # template order
    cancelled = await counsellor.click("annuleer")
    assert "geannuleerd" in " ".join(texts(cancelled))
    draft_id = (await harness.runtime.store.audit_events())[0].subject
    assert await harness.runtime.store.get_draft(draft_id) is None
    assert [e.event for e in await harness.runtime.store.audit_events()][-2:] == ["cancelled", "purged"]
    assert not harness.connector.created()


async def test_annuleer_at_the_first_step(harness, counsellor):
    await counsellor.say("terugkoppeling")
    await counsellor.click("annuleer")
    assert verbs(counsellor.card) == ["nieuw"]
    assert verbs(await counsellor.click("nieuw")) == ["identificeer", "annuleer"]


async def test_restart_between_preview_and_send(harness, counsellor, els):
    await identify(counsellor, NAME, BORN)
    await counsellor.click("bekijk", CONTENT)
    await harness.restart()
    receipt = await counsellor.click("verstuur")
    assert "Terugkoppeling verstuurd" in texts(receipt)
    assert NAME in texts(receive(els))


async def test_restart_at_every_step(harness, counsellor, els):
    await counsellor.say("terugkoppeling")
    await harness.restart()
    await counsellor.click("identificeer", {"naam": NAME, "geboortedatum": BORN})
    await harness.restart()
    await counsellor.click("bekijk", CONTENT)
    await harness.restart()
    await counsellor.click("verstuur")
    await harness.restart()
    receive(els)
    await els.click("overgezet")
    assert counsellor.last_text().endswith("De inhoud is nu overal verwijderd. Je hoeft niets meer te doen.")


async def test_retried_verstuur_sends_one_card(harness, counsellor):
    await identify(counsellor, NAME, BORN)
    preview = await counsellor.click("bekijk", CONTENT)
    first = await counsellor.click("verstuur")
    again = await counsellor.click("verstuur", card=preview)  # Teams retries an invoke that timed out
    assert texts(again) == texts(first)
    assert len(harness.connector.created()) == 1 and len(harness.connector.cards_to(ELS)) == 1


async def test_group_chat_gets_a_refusal_and_no_form(harness):
    group = harness.user("aad-bram", VDAB, "Bram", conversation_type="groupChat")
    await group.say("terugkoppeling")
    assert group.card is None
    assert "persoonlijke chat" in group.last_text()
    assert await harness.runtime.store.audit_events() == []


async def test_other_text_gets_help(harness, counsellor):
    await counsellor.say("hallo")
    assert texts(counsellor.card)[0].startswith("De bot begrijpt dat bericht niet.")
    assert "terugkoppeling" in texts(counsellor.card) and "nieuw" in verbs(counsellor.card)


async def test_welcome_when_installed_in_personal_scope(harness, counsellor):
    status, _ = await harness.post(counsellor.activity(
        type="conversationUpdate", membersAdded=[{"id": "28:terugkoppeling-bot"}],
    ))
    assert status in (200, 201)
    welcome = harness.card_seen(harness.connector.last_card(counsellor.conversation_id)[1])
    assert texts(welcome)[0] == "Welkom bij de terugkoppeling-bot"  # for each role: test_presentation.py


async def test_a_repeated_or_concurrent_click_shows_the_draft_where_it_stands(harness, counsellor):
    """Teams repeats an invoke whose answer got lost, and people double-click: never an error,
    never "niet meer open" for a draft that is simply one step further."""
    import asyncio

    await counsellor.say("terugkoppeling")
    form = counsellor.card
    await counsellor.click("identificeer", {"naam": NAME, "geboortedatum": "1990-04-12"}, card=form)
    again = await counsellor.click("identificeer", {"naam": NAME, "geboortedatum": "1990-04-12"}, card=form)
    assert "bekijk" in verbs(again)  # the content form, where the draft is
    both = await asyncio.gather(*(counsellor.click("bekijk", CONTENT, card=again) for _ in range(2)))
    assert all("verstuur" in verbs(card) for card in both)  # each answer is the preview
