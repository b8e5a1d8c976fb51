"""What the privacy officers get: a scripted day of traffic in the export, line by line; a
scripted month in the statistics; and ``audit verify`` catching a tampered trail."""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.app.evidence import monthly_statistics
from bot.domain.calendar import BRUSSELS
from tests.e2e.conftest import AMAL, ATLAS, ELS, PIETER, VDAB
from tests.e2e.flows import CONTENT, identify, receive, send
from tests.support.cards import texts
from tests.support.teams import DATA_KEY

ROOT = Path(__file__).resolve().parents[2]
AGII = "2b7d0c6e-1f4a-4b8e-9c3d-aaaa00000001"
SOFIE = "6f1c2a4e-8d3b-4c1a-9e2f-1a2b3c4d5e03"
LATER = {**CONTENT, "eerstvolgende_contact": "2027-04-15"}


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BRUSSELS)


def bot_cli(harness, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{harness.db_path}", "BOT_DATA_KEY": DATA_KEY}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=check)


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"BOT_COUNSELLOR_TENANTS": VDAB,  # AgII listed, but with another tenant than its trajectbegeleiders'
            "BOT_AGENCY_TENANTS": f"atlas={ATLAS},amal={AMAL},agii=tenant-elsewhere"}


async def test_a_scripted_day_in_the_export_line_by_line(harness, counsellor, els, pieter):
    harness.clock.set(at(2026, 11, 30, 9))
    await send(counsellor)  # Amina → Els (Atlas)
    receive(els)
    harness.clock.set(at(2026, 11, 30, 10))
    await els.click("overgezet")
    harness.clock.set(at(2026, 11, 30, 11))
    await send(counsellor, "Yonas Tesfaye", "1987-11-03")  # → Pieter (Amal)
    receive(pieter)
    harness.clock.set(at(2026, 11, 30, 11, 30))
    await pieter.click("niet_mijn_klant")  # asks first
    await pieter.click("bevestig_niet_mijn_klant")
    harness.clock.set(at(2026, 11, 30, 13))
    await identify(counsellor, "Jan Janssens", "1980-01-01")  # unknown
    harness.clock.set(at(2026, 11, 30, 14))
    await counsellor.say("terugkoppeling")
    await counsellor.click("annuleer")
    harness.clock.set(at(2026, 11, 30, 15))
    refused = await identify(counsellor, "Olena Kovalenko", "1995-02-28")  # AgII: not an allowed tenant
    assert texts(refused)[0] == "Trajectbegeleider niet bereikbaar"

    export = json.loads(bot_cli(harness, "audit", "--since", "2026-11-30", "--until", "2026-12-01",
                                "--format", "json").stdout)
    lines = [(e["at"][11:16], e["event"], e["agency"], e["reason"], e["actor"]) for e in export["events"]]
    bram = "aad-bram"
    assert lines == [
        ("08:00", "started", None, None, bram),
        ("08:00", "identified", "atlas", None, bram),
        ("08:00", "recorded", "atlas", None, bram),
        ("08:00", "sent", "atlas", None, bram),
        ("09:00", "transferred", "atlas", None, ELS),
        ("09:00", "purged", "atlas", None, ELS),
        ("09:00", "card_overwritten", "atlas", None, ""),
        ("09:00", "card_deleted", "atlas", None, ""),
        ("10:00", "started", None, None, bram),
        ("10:00", "identified", "amal", None, bram),
        ("10:00", "recorded", "amal", None, bram),
        ("10:00", "sent", "amal", None, bram),
        ("10:30", "returned", "amal", None, PIETER),
        ("10:30", "purged", "amal", None, PIETER),
        ("10:30", "incident", "amal", "misdelivery", PIETER),
        ("10:30", "card_overwritten", "amal", None, ""),
        ("10:30", "card_deleted", "amal", None, ""),
        ("12:00", "started", None, None, bram),
        ("12:00", "refused", None, "unknown_client", bram),
        ("13:00", "cancelled", None, "replaced", bram),  # one unfinished draft each: the 12:00 one goes
        ("13:00", "purged", None, None, bram),
        ("13:00", "started", None, None, bram),
        ("13:00", "cancelled", None, None, bram),
        ("13:00", "purged", None, None, bram),
        ("14:00", "started", None, None, bram),
        ("14:00", "refused", "agii", "recipient_not_allowed", bram),
        ("14:00", "incident", "agii", "recipient_not_allowed", bram),
    ]  # times are UTC in the export (Brussels is UTC+1 in November)
    assert [e["seq"] for e in export["events"]] == list(range(1, 28))
    references = {e["subject"] for e in export["events"] if e["event"] in ("sent", "returned")}
    assert all(r.startswith("TK-") for r in references) and len(references) == 2

    summary = export["summary"]
    assert summary["counts"]["sent"] == 2 and summary["counts"]["transferred (overgezet)"] == 1
    assert summary["counts"]["returned (niet mijn klant)"] == 1 and summary["counts"]["purged"] == 4
    assert summary["counts"]["incidents (art. 9)"] == 2
    assert [i["reason"] for i in summary["incidents"]] == ["misdelivery", "recipient_not_allowed"]
    assert summary["refusals_by_reason"] == {"unknown_client": 1, "recipient_not_allowed": 1}
    assert summary["no_content_left_for_ended_handoffs"] is True and summary["chain"]["intact"] is True

    text = json.dumps(export) + bot_cli(harness, "audit").stdout
    for private in ("Amina", "Idrissi", "Yonas", "Tesfaye", "Olena", "Janssens", "1990-04-12", "Magazijn"):
        assert private not in text


async def test_audit_verify_names_the_first_broken_link(harness, counsellor, els):
    await send(counsellor)
    receive(els)
    await els.click("overgezet")
    done = bot_cli(harness, "audit", "verify")
    assert done.returncode == 0 and done.stdout.startswith("audit trail intact: 8 events")

    with sqlite3.connect(harness.db_path) as db:  # someone with access to the file edits one event
        db.execute("UPDATE audit SET actor = 'aad-someone-else' WHERE seq = 5")
    done = bot_cli(harness, "audit", "verify", check=False)
    assert done.returncode == 1 and "BROKEN at event #5" in done.stdout
    export = json.loads(bot_cli(harness, "audit", "--format", "json").stdout)
    assert export["summary"]["chain"]["intact"] is False and export["summary"]["chain"]["broken_at"] == 5


@pytest.mark.parametrize("bot_env", [{}], indirect=False)
async def test_a_scripted_month_gives_the_expected_statistics(harness, counsellor, els, pieter):
    sofie = harness.user(SOFIE, AGII, "Sofie Maes")
    cards = {}

    async def send_at(moment, name, birth, recipient):
        harness.clock.set(moment)
        await send(counsellor, name, birth, LATER)
        cards[name + birth] = receive(recipient)

    async def transfer_at(moment, recipient, name, birth):
        harness.clock.set(moment)
        await recipient.click("overgezet", card=cards[name + birth])

    await send_at(at(2026, 12, 1, 9), "Amina El Idrissi", "1990-04-12", els)
    await transfer_at(at(2026, 12, 1, 11), els, "Amina El Idrissi", "1990-04-12")  # 2 h
    await send_at(at(2026, 12, 2, 9), "Ali Hassan", "1985-06-01", els)
    await transfer_at(at(2026, 12, 3, 11), els, "Ali Hassan", "1985-06-01")  # 26 h
    await send_at(at(2026, 12, 3, 10), "Olena Kovalenko", "1995-02-28", sofie)
    await send_at(at(2026, 12, 4, 9), "José Álvarez Ruiz", "1979-07-15", sofie)
    await transfer_at(at(2026, 12, 4, 10), sofie, "José Álvarez Ruiz", "1979-07-15")  # 1 h
    await send_at(at(2026, 12, 4, 11), "Yonas Tesfaye", "1987-11-03", pieter)
    await send_at(at(2026, 12, 4, 12), "Ali Hassan", "1993-03-14", pieter)
    await transfer_at(at(2026, 12, 4, 17), pieter, "Ali Hassan", "1993-03-14")  # 5 h
    assert await harness.sweep(at(2026, 12, 7, 10)) == {"remind": 1}  # Olena's
    await transfer_at(at(2026, 12, 7, 12), sofie, "Olena Kovalenko", "1995-02-28")  # 98 h, one reminder
    for moment in (at(2026, 12, 8, 11), at(2026, 12, 10, 11), at(2026, 12, 14, 11)):
        assert await harness.sweep(moment) == {"remind": 1}  # Yonas's
    assert await harness.sweep(at(2026, 12, 16, 11)) == {"escalate": 1}
    assert await harness.sweep(at(2027, 1, 3, 11)) == {"expire": 1}

    rows = monthly_statistics(await harness.runtime.store.audit_events())
    table = {(r.month, r.agency): (r.sent, r.transferred, r.median_hours_to_transfer, r.p90_hours_to_transfer,
                                   r.reminders, r.needed_a_reminder, r.expired) for r in rows}
    assert table == {
        ("2026-12", "agii"): (2, 2, 49.5, 98.0, 1, 1, 0),
        ("2026-12", "amal"): (2, 1, 5.0, 5.0, 3, 1, 1),
        ("2026-12", "atlas"): (2, 2, 14.0, 26.0, 0, 0, 0),
    }
    out = bot_cli(harness, "stats").stdout
    assert "| 2026-12 | agii | 2 | 2 | 49.5 | 98.0 | 1 | 1 | 0 |" in out
    assert "| 2026-12 | amal | 2 | 1 | 5.0 | 5.0 | 3 | 1 | 1 |" in out
    for private in ("Amina", "Olena", "Yonas", "Hassan"):
        assert private not in out
