"""Art. 9 over HTTP: an incident reaches the DPOs of VDAB and of the agency concerned, through the
sweep, exactly once each — a card in their 1:1 chat (the loopback connector) and an e-mail through
Graph ``sendMail`` (the loopback Graph stand-in) — with no client data; the DPO acknowledges with
"Kennis genomen" (audited); ``python -m bot incidents`` lists detected/notified/acknowledged times;
``stats`` counts incidents per agency and month; a throttled or failing ``sendMail`` is retried
and delivered once."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import ATLAS, VDAB
from tests.e2e.flows import CONTENT, receive, send
from tests.support.cards import texts as card_texts
from tests.support.graph import TEAMS_APP_ID, FakeCredentials, FakeGraph
from tests.support.teams import DATA_KEY

ROOT = Path(__file__).resolve().parents[2]
DPO_VDAB = "7a1c2a4e-8d3b-4c1a-9e2f-0000000d0001"
DPO_ATLAS = "7a1c2a4e-8d3b-4c1a-9e2f-0000000d0002"
ATLAS_MAILBOX = "dpo@atlas.example"
SENDER = "incidenten@vdab.example"
SIGNING_KEY = base64.b64encode(bytes(range(32))).decode()  # the exports' Ed25519 key (test only)
# Everything that identifies or describes the client in the flow (flows.send's defaults).
PRIVATE = ("Amina", "Idrissi", "1990-04-12", "12/04/1990", CONTENT["jobdoelwit"], CONTENT["partner"],
           CONTENT["toelichting"], "K-1001")
CONTACTS = {"vdab": {"teams": [{"aad_object_id": DPO_VDAB, "tenant_id": VDAB}]},
            "atlas": {"teams": [{"aad_object_id": DPO_ATLAS, "tenant_id": ATLAS}], "mail": [ATLAS_MAILBOX]},
            "amal": {"mail": ["dpo@amal.example"]}}  # not concerned: never told of Atlas's incident


@pytest.fixture
async def graph(connector):
    async with FakeGraph(connector, tenants={VDAB}) as running:
        yield running


@pytest.fixture(params=["sqlite", "azure-tables"])
async def dpo(request, harness, graph):
    """The bot of the harness, restarted with DPOs configured and Graph for the e-mails, on each store."""
    if request.param == "azure-tables":
        harness.env.update(BOT_STORE="azure-tables", BOT_STORE_TABLE=request.getfixturevalue("table_name"),
                           BOT_STORE_CONNECTION_STRING=request.getfixturevalue("azurite").connection_string)
    harness.env.update(
        BOT_GRAPH_CREDENTIAL="secret", BOT_GRAPH_BASE_URL=graph.base_url, BOT_TEAMS_APP_ID=TEAMS_APP_ID,
        BOT_DPO_CONTACTS=json.dumps(CONTACTS), BOT_DPO_SENDER_MAILBOX=SENDER, BOT_DPO_SENDER_TENANT=VDAB,
    )
    harness.graph_credentials = FakeCredentials()
    await harness.restart()
    return harness


async def misdelivery(counsellor, els) -> None:
    await send(counsellor)
    receive(els)
    await els.click("niet_mijn_klant")
    await els.click("bevestig_niet_mijn_klant")


def dpo_card(connector, aad: str) -> tuple[str, str, dict]:
    conversation = connector.conversation_for(aad)
    assert conversation is not None, f"no 1:1 chat was opened with {aad}"
    activity_id, card = connector.last_card(conversation)
    return conversation, activity_id, card


def creates_for(connector, aad: str) -> int:
    return len([c for c in connector.created() if c.body["members"][0]["id"] == aad])


async def events(harness) -> list[tuple[str, str | None]]:
    return [(e.event.value, e.reason) for e in await harness.runtime.store.audit_events()]


def cli(harness, *args: str, **extra: str) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{harness.db_path}",
           "BOT_DATA_KEY": DATA_KEY, **{k: v for k, v in harness.env.items() if k.startswith("BOT_STORE")}, **extra}
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_a_misdelivery_reaches_both_dpos_once_without_client_data(dpo, connector, graph, counsellor, els):
    await misdelivery(counsellor, els)
    [incident] = [e for e in await dpo.runtime.store.audit_events() if e.event.value == "incident"]
    assert incident.reason == "misdelivery"

    done = await dpo.sweep()
    assert done["dpo_notified"] == 3  # VDAB's card, Atlas's card, Atlas's mailbox; not Amal's
    for aad in (DPO_VDAB, DPO_ATLAS):
        _, _, card = dpo_card(connector, aad)
        shown = " ".join(card_texts(card))
        assert incident.subject in shown and "Niet mijn klant" in shown and "Atlas Antwerpen" in shown
        assert "naam, geboortedatum, jobdoelwit" in shown and "verplichte velden" in shown
        assert "30/11/2026 om 09:00" in shown  # detected and notified, Brussels time
        assert not [p for p in PRIVATE if p in json.dumps(card, ensure_ascii=False)]
    [mail] = graph.mails()
    assert mail.tenant == VDAB and mail.path == f"/v1.0/users/{SENDER}/sendMail"
    message = mail.body["message"]
    assert [r["emailAddress"]["address"] for r in message["toRecipients"]] == [ATLAS_MAILBOX]
    assert incident.subject in message["subject"] and incident.subject in message["body"]["content"]
    assert not [p for p in PRIVATE if p in json.dumps(mail.body, ensure_ascii=False)]
    notified = sorted(r for e, r in await events(dpo) if e == "dpo_notified")
    assert notified == sorted([f"{incident.seq}:vdab:teams", f"{incident.seq}:atlas:teams",
                               f"{incident.seq}:atlas:mail"])
    assert PRIVATE[0] not in dpo.all_logs()

    # A second sweep (and a third, later) sends nothing again.
    assert await dpo.sweep() == {}
    assert await dpo.sweep(dpo.clock.now() + timedelta(hours=3)) == {}
    assert creates_for(connector, DPO_VDAB) == 1 and creates_for(connector, DPO_ATLAS) == 1
    assert len(graph.mails()) == 1


async def test_the_dpo_acknowledges_and_only_that_dpo_can(dpo, connector, counsellor, els):
    await misdelivery(counsellor, els)
    await dpo.sweep()
    [seq] = [e.seq for e in await dpo.runtime.store.audit_events() if e.event.value == "incident"]
    conversation, activity_id, card = dpo_card(connector, DPO_VDAB)

    # Someone else with the card's data (here the recipient) is refused, and nothing is recorded.
    refused = await els.click("kennis_genomen", card=card)
    assert "Niet voor jou" in " ".join(card_texts(refused))
    assert "acknowledged" not in [e for e, _ in await events(dpo)]

    officer = dpo.user(DPO_VDAB, VDAB, "Dirk DPO")
    officer.adopt(conversation, activity_id, card)
    answer = await officer.click("kennis_genomen")
    assert "vastgelegd op 30/11/2026 om 09:00" in " ".join(card_texts(answer))
    await officer.click("kennis_genomen", card=card)  # a second press: recorded once
    assert [r for e, r in await events(dpo) if e == "acknowledged"] == [f"{seq}:vdab"]
    [ack] = [e for e in await dpo.runtime.store.audit_events() if e.event.value == "acknowledged"]
    assert ack.actor == DPO_VDAB

    listed = cli(dpo, "incidents")
    assert f"| {seq} | " in listed and "misdelivery" in listed and "atlas" in listed
    assert "vdab 30/11/2026 09:00" in listed  # detected, notified and acknowledged times
    assert f"| {seq} | " in cli(dpo, "incidents", "--open")  # Atlas's DPO has not acknowledged yet

    atlas = dpo.user(DPO_ATLAS, ATLAS, "Anja DPO")
    atlas.adopt(*dpo_card(connector, DPO_ATLAS))
    await atlas.click("kennis_genomen")
    assert f"| {seq} | " not in cli(dpo, "incidents", "--open")
    [row] = json.loads(cli(dpo, "incidents", "--format", "json"))
    assert row["acknowledged"] == "atlas 30/11/2026 09:00; vdab 30/11/2026 09:00" and row["open"] == "no"
    assert not [p for p in PRIVATE if p in listed]

    stats = json.loads(cli(dpo, "stats", "--format", "json"))
    assert [(r["month"], r["agency"], r["incidents"]) for r in stats] == [("2026-11", "atlas", 1)]

    # The export's summary says of each incident to whom it was told and who took note (art. 6 + 9).
    summary = json.loads(cli(dpo, "audit", "--format", "json", BOT_EVIDENCE_SIGNING_KEY=SIGNING_KEY))["summary"]
    assert summary["counts"]["incident notices delivered to a DPO (art. 9)"] == 3
    assert summary["counts"]["incident notices acknowledged by a DPO"] == 2
    [told] = summary["incidents"]
    assert told["seq"] == seq and sorted(n["to"] for n in told["notified"]) == ["atlas:mail", "atlas:teams",
                                                                               "vdab:teams"]
    assert sorted(a["by"] for a in told["acknowledged"]) == ["atlas", "vdab"]


@pytest.mark.parametrize("status", [429, 503])
async def test_a_throttled_send_mail_is_retried_and_delivered_once(dpo, connector, graph, counsellor, els, status):
    graph.fail(method="POST", path_contains="/sendMail", status=status, times=1, retry_after=1)
    await misdelivery(counsellor, els)
    first = await dpo.sweep()
    assert first == {"dpo_notified": 2, "dpo_deferred": 1}
    assert graph.mails() == []
    assert await dpo.sweep() == {}  # not due yet: the backoff holds
    later = await dpo.sweep(dpo.clock.now() + timedelta(minutes=5))
    assert later == {"dpo_notified": 1}
    assert len(graph.mails()) == 1
    assert await dpo.sweep(dpo.clock.now() + timedelta(hours=2)) == {}
    assert len(graph.mails()) == 1 and creates_for(connector, DPO_VDAB) == 1
    assert len([r for e, r in await events(dpo) if e == "dpo_notified"]) == 3


async def test_a_restarted_bot_sends_nothing_twice(dpo, connector, graph, counsellor, els):
    """The notifications and the cursor are in the store: a new process notifies nothing again."""
    await misdelivery(counsellor, els)
    await dpo.sweep()
    await dpo.restart()
    assert await dpo.sweep(dpo.clock.now() + timedelta(hours=1)) == {}
    assert creates_for(connector, DPO_VDAB) == 1 and len(graph.mails()) == 1


async def test_mailboxes_without_a_sender_refuse_to_start(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{tmp_path}/x.db",
           "BOT_DATA_KEY": DATA_KEY, "BOT_DPO_CONTACTS": json.dumps({"atlas": {"mail": [ATLAS_MAILBOX]}})}
    done = subprocess.run([sys.executable, "-m", "bot", "sweep"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "BOT_DPO_SENDER_MAILBOX is required" in done.stderr and "Traceback" not in done.stderr


async def test_a_mailbox_that_keeps_failing_is_given_up_and_stays_open(dpo, connector, graph, counsellor, els):
    """Bounded like the outbox (BOT_DELIVERY_MAX_ATTEMPTS): then it is reported, and ``--open`` shows it."""
    graph.fail(method="POST", path_contains="/sendMail", status=500, times=100)
    await misdelivery(counsellor, els)
    outcomes: dict[str, int] = {}
    for hours in range(0, 30):
        for outcome, count in (await dpo.sweep(dpo.clock.now() + timedelta(hours=hours))).items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    assert outcomes == {"dpo_notified": 2, "dpo_deferred": 7, "dpo_failed": 1}  # 8 attempts in all
    assert graph.mails() == [] and len([c for c in graph.calls if c.path.endswith("/sendMail")]) == 8
    [row] = json.loads(cli(dpo, "incidents", "--open", "--format", "json"))
    assert row["failed"] == 1 and row["open"] == "yes"
    assert row["notified"] == "atlas 30/11/2026 09:00; vdab 30/11/2026 09:00"


async def test_content_left_in_teams_reaches_the_dpos_in_the_sweep_that_gave_up(dpo, connector, graph, counsellor, els):
    await send(counsellor)
    receive(els)
    connector.fail(method="PUT", status=412, times=100)  # the recipient's card cannot be overwritten or deleted
    connector.fail(method="DELETE", status=412, times=100)
    await els.click("overgezet")
    for hours in range(1, 30):
        done = await dpo.sweep(dpo.clock.now() + timedelta(hours=hours))
        if ("incident", "content_left_in_teams") in await events(dpo):
            break
    assert done.get("dpo_notified") == 3  # the same sweep that gave up told the DPOs
    _, _, card = dpo_card(connector, DPO_ATLAS)
    shown = " ".join(card_texts(card))
    assert "kon de kaart niet verwijderen" in shown and "laat ze in Teams verwijderen" in shown
    assert not [p for p in PRIVATE if p in json.dumps(card, ensure_ascii=False)]
    [mail] = graph.mails()
    assert "Inhoud bleef in Teams staan" in mail.body["message"]["body"]["content"]


async def reference_of(harness) -> str:
    [sent] = [e for e in await harness.runtime.store.audit_events() if e.event.value == "sent"][-1:]
    return sent.subject


async def test_a_wrong_recipient_found_later_is_an_incident_and_withdraws_the_card(dpo, connector, graph,
                                                                                   counsellor, els):
    """Art. 9: "a delivery to the wrong person found later" — reported by reference only (no free
    text); the open card is overwritten and deleted, the content purged, the counsellor told, and
    the DPOs of VDAB and Atlas get the incident in the next sweep. Reporting it twice records it once."""
    from bot.app import incidents

    await send(counsellor)
    receive(els)
    reference = await reference_of(dpo)
    done = await incidents.report(dpo.runtime.service, reference, "wrong_recipient", DPO_VDAB)
    assert done.seq is not None and done.withdrawn and done.card_removed is True and not done.already
    assert not [a for a in connector.live_activities(els.conversation_id)
                if "Amina" in json.dumps(a, ensure_ascii=False)]
    [told] = [t for t in counsellor.texts() if "ingetrokken" in t]
    assert reference in told and "verkeerde persoon" in told
    names = await events(dpo)
    assert ("incident", "wrong_recipient") in names and ("withdrawn", "wrong_recipient") in names
    assert ("card_deleted", None) in names

    assert (await dpo.sweep())["dpo_notified"] == 3
    _, _, card = dpo_card(connector, DPO_ATLAS)
    assert "Bij de verkeerde persoon bezorgd (later gemeld)" in " ".join(card_texts(card))
    assert not [p for p in PRIVATE if p in json.dumps(card, ensure_ascii=False)]

    again = await incidents.report(dpo.runtime.service, reference, "wrong_recipient", DPO_VDAB)
    assert again.already and not again.withdrawn and again.seq == done.seq
    assert [r for e, r in await events(dpo) if e == "incident"] == ["wrong_recipient"]
    assert PRIVATE[0] not in dpo.all_logs()


async def test_incidents_report_on_the_command_line(harness, connector, counsellor, els):
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{harness.db_path}",
           "BOT_DATA_KEY": DATA_KEY, "BOT_TEAMS_SERVICE_URL": connector.url,
           "BOT_DIRECTORY_FILE": str(harness.directory_file())}

    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        """Without blocking the loop: the connector stand-in answers the process from this loop."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "incidents", *args, cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        return subprocess.CompletedProcess(args, process.returncode or 0, out.decode(), err.decode())

    await send(counsellor)
    receive(els)
    reference = await reference_of(harness)
    done = await run("report", reference.lower(), "--category", "wrong_recipient", "--by", "dpo-vdab")
    assert done.returncode == 0, done.stderr
    assert f"{reference}: incident wrong_recipient recorded" in done.stdout
    assert "withdrawn and purged, the recipient's card deleted" in done.stdout
    assert "DPO notices sent now: 0" in done.stdout  # none configured here
    assert b"Amina" not in harness.db_bytes() and "Amina" not in done.stdout + done.stderr
    assert "was already recorded" in (await run("report", reference)).stdout

    assert (await run("report", "TK-000000")).returncode == 1
    refused = await run("report", "Amina El Idrissi")
    assert refused.returncode == 2 and "give the reference" in refused.stderr and "Amina" not in refused.stderr
    listed = await run("--format", "json")
    assert [(r["reference"], r["category"]) for r in json.loads(listed.stdout)] == [(reference, "wrong_recipient")]
