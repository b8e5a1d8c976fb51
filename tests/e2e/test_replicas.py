"""Scale-out on Azure Table Storage (Azurite): two server processes share one table; requests
alternate between them; sweeps race; Azurite goes away mid-flow and comes back."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from azure.data.tables.aio import TableClient

from bot.adapters.clock import FixedClock
from bot.domain.calendar import WorkingCalendar
from tests.e2e.conftest import ATLAS, ELS, VDAB
from tests.e2e.flows import CONTENT, identify
from tests.support.azurite import Azurite
from tests.support.cards import texts
from tests.support.connector import FakeConnector
from tests.support.process import Bot
from tests.support.teams import Harness

NAME = "Amina El Idrissi"


async def table_holds(connection_string: str, table: str, needle: str) -> bool:
    async with TableClient.from_connection_string(connection_string, table) as client:
        async for entity in client.list_entities():
            if needle.encode() in b"".join(
                bytes(v) if isinstance(v, bytes | bytearray) else json.dumps(v).encode() for v in entity.values()
            ):
                return True
    return False


@pytest.fixture
async def replicas(tmp_path, azurite, table_name):
    async with FakeConnector() as connector:
        env = {"BOT_STORE": "azure-tables", "BOT_STORE_CONNECTION_STRING": azurite.connection_string,
               "BOT_STORE_TABLE": table_name}
        a, b = Bot(tmp_path, connector, name="a", **env), Bot(tmp_path, connector, name="b", **env)
        harness = Harness(tmp_path, connector, FixedClock(datetime.now(UTC)), external_url=a.url)
        try:
            a.start()
            b.start()
            yield a, b, harness, connector
        finally:
            a.stop()
            b.stop()
            if harness.http:
                await harness.http.close()


async def test_two_replicas_one_card_one_reminder_no_lost_update(replicas, azurite, table_name):
    a, b, harness, connector = replicas
    counsellor, els = harness.user("aad-bram", VDAB, "Bram"), harness.user(ELS, ATLAS, "Els Peeters")

    harness.external_url = a.url
    await counsellor.say("terugkoppeling")
    harness.external_url = b.url
    await counsellor.click("identificeer", {"naam": NAME, "geboortedatum": "1990-04-12"})
    harness.external_url = a.url
    preview = await counsellor.click("bekijk", CONTENT)

    # Teams delivers the same click twice, once to each replica
    async def press(url: str) -> dict:
        other = Harness(harness.tmp, connector, harness.clock, external_url=url)
        try:
            return await other.user("aad-bram", VDAB, "Bram").click("verstuur", card=preview)
        finally:
            await other.http.close()

    receipts = await asyncio.gather(press(a.url), press(b.url))
    assert {texts(r)[0] for r in receipts} <= {"Terugkoppeling verstuurd", "Terugkoppeling wordt verstuurd"}
    assert len(connector.cards_to(ELS)) == 1

    conversation = connector.conversation_for(ELS)
    els.adopt(conversation, *connector.last_card(conversation))  # her card (the reminder below is a card too)

    # sweeps race on both replicas (and two more processes) at the first reminder's moment
    later = WorkingCalendar().add_working_days(datetime.now(UTC), 3)
    done = await asyncio.gather(a.sweep(later), b.sweep(later), a.sweep(later), b.sweep(later))
    assert sum(d.get("remind", 0) for d in done) == 1, done
    conversation = connector.conversation_for(ELS)
    assert sum(c.body.get("summary", "").startswith("Herinnering") for c in connector.sent_to(conversation)) == 1

    # Els clicks both buttons at once, on different replicas: exactly one outcome wins
    card = els.card

    async def click(url: str, verb: str) -> dict:
        other = Harness(harness.tmp, connector, harness.clock, external_url=url)
        try:
            user = other.user(ELS, ATLAS, "Els Peeters")
            user.conversation_id = conversation
            return await user.click(verb, card=card, data={"handoff": card["actions"][0]["data"]["handoff"]})
        finally:
            await other.http.close()

    await asyncio.gather(click(a.url, "overgezet"), click(b.url, "bevestig_niet_mijn_klant"))
    told = [t for t in counsellor.texts() if "overgezet naar KBI/Allis" in t or "niet hun klant" in t]
    assert len(told) == 1
    assert not await table_holds(azurite.connection_string, table_name, NAME)
    assert not await table_holds(azurite.connection_string, table_name, CONTENT["jobdoelwit"])
    for bot in (a, b):
        assert NAME not in bot.output.read_text()


@pytest.fixture
async def lonely_azurite(tmp_path):
    """An Azurite of this test's own, so it can be stopped without harming the others."""
    service = Azurite(tmp_path / "azurite")
    service.start()
    yield service
    service.stop()


@pytest.fixture
def bot_env(lonely_azurite, table_name) -> dict[str, str]:
    return {"BOT_STORE": "azure-tables", "BOT_STORE_CONNECTION_STRING": lonely_azurite.connection_string,
            "BOT_STORE_TABLE": table_name}


async def test_azurite_going_away_mid_flow_is_a_clean_retryable_failure(harness, counsellor, els, lonely_azurite):
    await identify(counsellor, NAME, "1990-04-12")
    form = counsellor.card
    lonely_azurite.stop()
    status, body = await counsellor.invoke(
        {"action": {"type": "Action.Execute", "verb": "bekijk", "data": {**form["actions"][0]["data"], **CONTENT}},
         "trigger": "manual"})
    assert status == 503 and "try again" in json.dumps(body)
    lonely_azurite.start()  # same folder, same port: the data is still there
    preview = await counsellor.click("bekijk", CONTENT, card=form)  # Teams or the user tries again
    assert "verstuur" in [a.get("verb") for a in preview["actions"]]
    lonely_azurite.stop()
    status, _ = await counsellor.invoke(
        {"action": {"type": "Action.Execute", "verb": "verstuur", "data": preview["actions"][0]["data"]},
         "trigger": "manual"})
    assert status == 503 and harness.connector.cards_to(ELS) == []
    lonely_azurite.start()
    receipt = await counsellor.click("verstuur", card=preview)
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    assert len(harness.connector.cards_to(ELS)) == 1
    assert "store unavailable" in harness.all_logs() and NAME not in harness.all_logs()
