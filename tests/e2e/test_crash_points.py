"""SIGKILL at every point where a state change meets its audit events, its fingerprint or its
Teams side effect, on SQLite and on Azure Table Storage (Azurite): restart, sweep, and then
exactly one card reached the recipient, no client data is left anywhere, ``audit verify`` calls
the trail whole, and the export holds every event the flow implies — once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables.aio import TableClient

from bot.adapters.clock import FixedClock
from bot.teams.verbs import Verb
from tests.e2e.conftest import ATLAS, ELS, VDAB
from tests.e2e.flows import CONTENT, identify
from tests.support.cards import texts
from tests.support.connector import FakeConnector
from tests.support.process import Bot
from tests.support.teams import Harness

NAME = "Amina El Idrissi"
PRIVATE = (NAME, "Amina", "Idrissi", "1990-04-12", "12/04/1990", CONTENT["jobdoelwit"], CONTENT["toelichting"])
LATER = timedelta(minutes=3)  # past the dead process's lease


@pytest.fixture(params=["sqlite", "azure-tables"])
async def world(request, tmp_path):
    env: dict[str, str] = {}
    if request.param == "azure-tables":
        azurite = request.getfixturevalue("azurite")
        env = {"BOT_STORE": "azure-tables", "BOT_STORE_CONNECTION_STRING": azurite.connection_string,
               "BOT_STORE_TABLE": request.getfixturevalue("table_name"),
               "BOT_EVIDENCE_SIGNING_KEY": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="}
    async with FakeConnector() as connector:
        bot = Bot(tmp_path, connector, **env)
        harness = Harness(tmp_path, connector, FixedClock(datetime.now(UTC)), external_url=bot.url)
        try:
            yield bot, harness, connector
        finally:
            bot.stop()
            if harness.http:
                await harness.http.close()


async def write(counsellor) -> None:
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)


def content_cards(connector: FakeConnector, conversation: str | None) -> list[dict]:
    if conversation is None:
        return []
    live = connector.live_activities(conversation)
    return [a for a in live for att in a.get("attachments") or [] if NAME in json.dumps(att["content"])]


async def held(bot: Bot) -> bytes:
    """Everything the store holds, as bytes: the SQLite file, or every entity in the table."""
    if bot.env.get("BOT_STORE") != "azure-tables":
        return bot.db_bytes()
    chunks = []
    async with TableClient.from_connection_string(bot.env["BOT_STORE_CONNECTION_STRING"],
                                                  bot.env["BOT_STORE_TABLE"]) as table:
        async for entity in table.list_entities():
            chunks += [bytes(v) if isinstance(v, bytes | bytearray) else json.dumps(v).encode()
                       for v in entity.values()]
    return b"\n".join(chunks)


async def assert_the_evidence_is_whole(bot: Bot, expected: dict[str, int]) -> None:
    """``audit verify`` passes, and the export has each implied event exactly as often as expected."""
    code, out = await bot.cli("audit", "verify")
    assert code == 0 and "intact" in out, out
    code, out = await bot.cli("audit", "--format", "json")
    assert code == 0, bot.output.read_text()[-600:]
    events = json.loads(out)["events"]
    references = {e["subject"] for e in events if e["event"] == "recorded"}
    assert len(references) == 1, events
    counted = Counter(e["event"] for e in events if e["subject"] in references)
    assert {name: counted[name] for name in expected} == expected, counted


async def assert_nothing_private_left(bot: Bot) -> None:
    data, logged = await held(bot), bot.output.read_text()
    for private in PRIVATE:
        assert private.encode() not in data, private
        assert private not in logged, private


async def overgezet_by(els, connector) -> None:
    conversation = connector.conversation_for(ELS)
    els.adopt(conversation, *connector.last_card(conversation))
    await els.click("overgezet")


async def test_killed_between_recording_and_posting(world):
    bot, harness, connector = world
    counsellor, els = harness.user("aad-bram", VDAB, "Bram"), harness.user(ELS, ATLAS, "Els Peeters")
    bot.start()
    await write(counsellor)
    connector.fail(method="POST", path_is="/v3/conversations", status="crash", hook=bot.kill)
    with pytest.raises(Exception):  # noqa: B017 - Teams gets no answer at all
        await counsellor.click("verstuur")
    bot.start()
    assert await bot.sweep(datetime.now(UTC) + LATER) == {"deliver": 1}
    assert len(connector.cards_to(ELS)) == 1
    await overgezet_by(els, connector)
    assert await bot.sweep(datetime.now(UTC) + 2 * LATER) == {}
    assert content_cards(connector, connector.conversation_for(ELS)) == []
    await assert_the_evidence_is_whole(bot, {"recorded": 1, "sent": 1, "transferred": 1, "purged": 1})
    await assert_nothing_private_left(bot)


async def test_killed_between_posting_and_storing_the_card_id_still_marks_the_client_once(world):
    bot, harness, connector = world
    counsellor, els = harness.user("aad-bram", VDAB, "Bram"), harness.user(ELS, ATLAS, "Els Peeters")
    bot.start()
    await write(counsellor)
    connector.fail(method="POST", path_contains=f"{ELS}-", status="crash-after", hook=bot.kill)
    with pytest.raises(Exception):  # noqa: B017
        await counsellor.click("verstuur")
    bot.start()
    assert await bot.sweep(datetime.now(UTC) + LATER) == {"deliver": 1}
    conversation = connector.conversation_for(ELS)
    els.adopt(conversation, *connector.last_card(conversation))
    await els.look()  # the stray copy refreshes content-free
    assert len(content_cards(connector, conversation)) == 1
    # Art. 5: the client counts as sent, so a second terugkoppeling asks first.
    card = await identify(counsellor, NAME, "1990-04-12")
    assert "bevestig_herhaling" in json.dumps(card)
    await counsellor.click("annuleer")
    await els.click("overgezet")
    assert content_cards(connector, conversation) == []
    await assert_the_evidence_is_whole(bot, {"recorded": 1, "sent": 1, "transferred": 1, "purged": 1})
    await assert_nothing_private_left(bot)


@pytest.mark.parametrize(("verb", "outcome", "expected"), [
    ("overgezet", "transferred", {"transferred": 1, "purged": 1, "incident": 0, "card_deleted": 1}),
    ("niet_mijn_klant", "returned", {"returned": 1, "purged": 1, "incident": 1, "card_deleted": 1}),
])
async def test_killed_between_closing_and_removing_the_card(world, verb, outcome, expected):
    """The close, its purge and (for a misdelivery) the art. 9 incident are written together; the
    card's removal and the counsellor's notice are redone by the sweep."""
    bot, harness, connector = world
    counsellor, els = harness.user("aad-bram", VDAB, "Bram"), harness.user(ELS, ATLAS, "Els Peeters")
    bot.start()
    await write(counsellor)
    assert texts(await counsellor.click("verstuur"))[0] == "Terugkoppeling verstuurd"
    conversation = connector.conversation_for(ELS)
    card_id, card = connector.last_card(conversation)
    els.adopt(conversation, card_id, card)
    if verb == "niet_mijn_klant" and hasattr(Verb, "BEVESTIG_NIET_MIJN_KLANT"):
        await els.click(verb)  # it asks first, and changes nothing yet
        verb = Verb.BEVESTIG_NIET_MIJN_KLANT.value
    connector.fail(method="PUT", path_contains=card_id, status="crash", hook=bot.kill)
    with pytest.raises(Exception):  # noqa: B017
        await els.click(verb)
    # the dead process never got to the card (after "niet mijn klant" its question shows in the card's place)
    assert len(content_cards(connector, conversation)) == (1 if outcome == "transferred" else 0)
    assert card_id not in {c.activity_id for c in connector.deleted()}

    bot.start()
    assert await bot.sweep(datetime.now(UTC) + LATER) == {"follow_up": 1}
    assert await bot.sweep(datetime.now(UTC) + 2 * LATER) == {}
    assert content_cards(connector, conversation) == []
    assert card_id in {c.activity_id for c in connector.deleted()}
    told = counsellor.texts()
    assert len([t for t in told if t.startswith("TK-")]) == 1, told
    await assert_the_evidence_is_whole(bot, {"recorded": 1, "sent": 1, **expected})
    await assert_nothing_private_left(bot)
    assert outcome in json.dumps(json.loads((await bot.cli("audit", "--format", "json"))[1])["events"])


# -- issue 14: a correction replaces the recipient's card through the outbox ---------------------


@pytest.mark.parametrize("point", ["before the old card is overwritten", "before the new card is posted"])
async def test_killed_mid_correction_the_sweep_finishes_it_with_one_live_copy(world, point):
    from tests.e2e.test_counsellor_overview import item_action

    bot, harness, connector = world
    counsellor, els = harness.user("aad-bram", VDAB, "Bram"), harness.user(ELS, ATLAS, "Els Peeters")
    bot.start()
    await write(counsellor)
    await counsellor.click("verstuur")
    conversation = connector.conversation_for(ELS)
    old_id, _ = connector.last_card(conversation)
    await counsellor.say("overzicht")
    await counsellor.click("corrigeer", data=item_action(counsellor.card, "corrigeer"))
    await counsellor.click("bekijk", {**CONTENT, "jobdoelwit": "Zorgkundige"})
    if point.startswith("before the old"):
        connector.fail(method="PUT", path_contains=old_id, status="crash", hook=bot.kill)
    else:
        # The new card's POST into her chat (the bot remembers the chat: no conversation is opened first).
        connector.fail(method="POST", path_is=f"/v3/conversations/{conversation}/activities", status="crash",
                       hook=bot.kill)
    with pytest.raises(Exception):  # noqa: B017 - Teams gets no answer at all
        await counsellor.click("verstuur")
    assert len(content_cards(connector, conversation)) <= 1  # never two copies, not even now

    bot.start()
    assert await bot.sweep(datetime.now(UTC) + LATER) == {"deliver": 1}
    assert await bot.sweep(datetime.now(UTC) + 2 * LATER) == {}
    (live,) = content_cards(connector, conversation)
    assert live["id"] != old_id and "Zorgkundige" in json.dumps(live["attachments"][0]["content"])
    els.adopt(conversation, live["id"], live["attachments"][0]["content"])
    await els.click("overgezet")
    assert content_cards(connector, conversation) == []
    await assert_the_evidence_is_whole(bot, {"recorded": 1, "sent": 1, "corrected": 1, "correction_delivered": 1,
                                             "transferred": 1, "incident": 0})
    await assert_nothing_private_left(bot)
