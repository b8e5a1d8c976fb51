"""VDAB's client-tracking system over HTTP (the stand-in serves the OpenAPI contract): every way it
can fail is a clear Dutch card that keeps what was typed, an audited refusal of its own, and
nothing stored or sent; the label and the recipient are asked again at ``verstuur`` and before a
queued card goes out, so a change in VDAB's system never reaches the old recipient."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.clock import FixedClock
from tests.e2e.conftest import AMAL, ATLAS, BRUSSELS, ELS, PIETER, VDAB
from tests.e2e.flows import CONTENT
from tests.support.cards import inputs, texts, verbs
from tests.support.connector import FakeConnector
from tests.support.directory import DIRECTORY_SCOPE, DirectoryCredential, FakeDirectory
from tests.support.teams import Harness, capture_logs

NAME, BORN = "Amina El Idrissi", "1990-04-12"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "clients.json"
DOWN = "Het klantvolgsysteem van VDAB is nu niet bereikbaar. Probeer het over enkele minuten opnieuw."


@pytest.fixture
async def directory():
    clients = json.loads(DEMO.read_text(encoding="utf-8"))["clients"]
    async with FakeDirectory(clients) as running:
        yield running


@pytest.fixture
async def live(tmp_path, directory):
    async with FakeConnector() as connector:
        env = {"BOT_DIRECTORY_URL": directory.base_url, "BOT_DIRECTORY_SCOPE": DIRECTORY_SCOPE,
               "BOT_DIRECTORY_TIMEOUT_SECONDS": "1"}
        harness = Harness(tmp_path, connector, FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=BRUSSELS)), env=env,
                          directory_credential=DirectoryCredential())
        handler = capture_logs(harness.log_stream)
        logging.getLogger().addHandler(handler)
        await harness.start()
        try:
            yield harness, connector, directory
        finally:
            await harness.close()
            logging.getLogger().removeHandler(handler)
        assert NAME not in harness.all_logs()


async def last_event(harness):
    return (await harness.runtime.store.audit_events())[-1]


async def draft_of(harness):
    events = await harness.runtime.store.audit_events()
    return await harness.runtime.store.get_draft(next(e.subject for e in events if e.event == "started"))


@pytest.mark.parametrize("fault", [401, 403, 404, 429, 500, 503, "slow", "malformed", "html", "wrong_shape",
                                   "unknown_agency", "drop"])
async def test_the_directory_failing_is_a_clear_card_that_keeps_what_was_typed(live, fault):
    harness, connector, directory = live
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    await counsellor.say("terugkoppeling")
    directory.fail(fault, times=2, delay=3.0)
    card = await counsellor.click("identificeer", {"naam": NAME, "geboortedatum": BORN})
    assert texts(card)[0] == "Klantvolgsysteem niet bereikbaar" and DOWN in texts(card)[1]
    assert inputs(card)["naam"] == NAME and "identificeer" in verbs(card)
    event = await last_event(harness)
    assert (event.event, event.reason) == ("refused", "directory_unavailable")
    draft = await draft_of(harness)
    assert draft.client is None and draft.recipient is None
    assert NAME.encode() not in harness.db_bytes()
    assert not connector.calls_to_conversations(exclude=counsellor.conversation_id)


async def test_an_open_circuit_refuses_at_once_without_calling(live):
    harness, connector, directory = live
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    await counsellor.say("terugkoppeling")
    directory.fail(503, times=50)
    for _ in range(6):
        card = await counsellor.click("identificeer", {"naam": NAME, "geboortedatum": BORN})
    calls = len(directory.calls)
    card = await counsellor.click("identificeer", {"naam": NAME, "geboortedatum": BORN})
    assert texts(card)[0] == "Klantvolgsysteem niet bereikbaar" and len(directory.calls) == calls


async def test_name_order_and_a_comma_do_not_matter(live):
    harness, _, _ = live
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    await counsellor.say("terugkoppeling")
    card = await counsellor.click("identificeer", {"naam": "IDRISSI, El Amina", "geboortedatum": BORN})
    assert "Els Peeters, trajectbegeleider bij Atlas Antwerpen" in texts(card)


async def test_a_typo_is_fixed_in_place(live):
    harness, _, _ = live
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    await counsellor.say("terugkoppeling")
    card = await counsellor.click("identificeer", {"naam": "Amina El Idrisi", "geboortedatum": BORN})
    assert texts(card)[0] == "Klant niet gevonden" and inputs(card)["naam"] == "Amina El Idrisi"
    card = await counsellor.click("identificeer", {"naam": NAME, "geboortedatum": BORN})
    assert "Els Peeters, trajectbegeleider bij Atlas Antwerpen" in texts(card)


async def preview(counsellor) -> None:
    await counsellor.say("terugkoppeling")
    await counsellor.click("identificeer", {"naam": NAME, "geboortedatum": BORN})
    await counsellor.click("bekijk", CONTENT)


PIETER_AT_AMAL = {"naam": "Pieter De Smet", "email": "pieter.desmet@amal.example", "agentschap": "amal",
                  "aad_object_id": PIETER, "tenant_id": AMAL}


@pytest.mark.parametrize("change", ["recipient", "label"])
async def test_a_change_between_preview_and_verstuur_sends_nothing(live, change):
    harness, connector, directory = live
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    await preview(counsellor)
    if change == "recipient":
        directory.set_trajectbegeleider("K-1001", **PIETER_AT_AMAL)
    else:
        directory.set_active("K-1001", False)
    card = await counsellor.click("verstuur")
    title = "Andere trajectbegeleider" if change == "recipient" else "Geen actief inburgeringstraject"
    assert texts(card)[0] == title and "herbegin" in verbs(card)
    assert connector.cards_to(ELS) == [] and connector.cards_to(PIETER) == []
    event = await last_event(harness)
    assert event.event == "refused" and event.reason == ("recipient_changed" if change == "recipient"
                                                         else "no_active_inburgeringstraject")
    assert (await draft_of(harness)).client is None  # back to identification: nothing of the client kept
    again = await counsellor.click("herbegin")
    assert inputs(again)["naam"] == ""


async def test_the_directory_down_at_verstuur_keeps_the_preview(live):
    harness, connector, directory = live
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    await preview(counsellor)
    directory.fail(503, times=2)
    card = await counsellor.click("verstuur")
    assert DOWN in texts(card)[0] and "verstuur" in verbs(card)
    assert connector.cards_to(ELS) == []
    assert texts(await counsellor.click("verstuur"))[0] == "Terugkoppeling verstuurd"  # back up: it goes
    assert len(connector.cards_to(ELS)) == 1


async def test_a_queued_card_is_not_delivered_to_a_recipient_who_is_no_longer_named(live):
    harness, connector, directory = live
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    await preview(counsellor)
    connector.fail(method="POST", path_is="/v3/conversations", status=503)
    assert texts(await counsellor.click("verstuur"))[0] == "Terugkoppeling wordt verstuurd"
    directory.set_trajectbegeleider("K-1001", **PIETER_AT_AMAL)

    done = await harness.sweep(harness.clock.now() + timedelta(hours=2))
    assert done.get("deliver") == 1
    assert connector.cards_to(ELS) == [] and connector.cards_to(PIETER) == []
    told = counsellor.texts()[-1]
    assert "andere trajectbegeleider" in told and told.startswith("TK-")
    names = [e.event for e in await harness.runtime.store.audit_events()]
    assert "withdrawn" in names and names[-1] == "purged" and "incident" not in names
    assert NAME.encode() not in harness.db_bytes()
    assert await harness.sweep(harness.clock.now() + timedelta(hours=4)) == {}


async def test_a_queued_card_waits_while_the_directory_is_down(live):
    harness, connector, directory = live
    counsellor = harness.user("aad-bram", VDAB, "Bram")
    await preview(counsellor)
    connector.fail(method="POST", path_is="/v3/conversations", status=503)
    await counsellor.click("verstuur")
    directory.fail(503, times=2)
    await harness.sweep(harness.clock.now() + timedelta(hours=1))
    assert connector.cards_to(ELS) == []
    await harness.sweep(harness.clock.now() + timedelta(hours=3))
    assert len(connector.cards_to(ELS)) == 1
    assert "alsnog aangekomen" in counsellor.texts()[-1]


async def test_outside_local_mode_the_demo_directory_is_refused(tmp_path):
    from bot.bootstrap import ConfigurationError, build
    from bot.config import Settings
    from tests.support.teams import DATA_KEY

    settings = Settings(_env_file=None, MicrosoftAppId="11111111-1111-4111-8111-111111111111",
                        MicrosoftAppPassword="x", BOT_COUNSELLOR_TENANTS=VDAB, BOT_AGENCY_TENANTS=f"atlas={ATLAS}",
                        BOT_DATA_KEY=DATA_KEY, BOT_HMAC_KEY=DATA_KEY, BOT_DIRECTORY_FILE=str(DEMO),
                        BOT_STORE=f"sqlite:///{tmp_path / 'db.sqlite'}",
                        BOT_EVIDENCE_SIGNING_KEY="ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=")
    with pytest.raises(ConfigurationError, match="BOT_DIRECTORY_URL is required outside local mode"):
        await build(settings)
