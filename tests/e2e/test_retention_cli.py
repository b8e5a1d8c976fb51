"""The bot's own retention from the command line (issue 15), on SQLite and on Azurite: years after
a terugkoppeling, one ``python -m bot sweep`` deletes the fingerprint and prunes the audit trail;
``audit verify``, the exports (VDAB's and an agency's) and ``verify-export`` stay whole and say
where they start; an edited checkpoint is named."""

import base64
import json
import os
import re
import subprocess
import sys

import pytest
from azure.data.tables.aio import TableClient

from tests.e2e.flows import receive, send
from tests.e2e.test_evidence import ROOT
from tests.support.teams import DATA_KEY

SIGNING_KEY = base64.b64encode(bytes(range(100, 132))).decode()  # Table Storage has no local key file


@pytest.fixture(params=["sqlite", "azure-tables"])
async def backend(request, harness):
    if request.param == "azure-tables":
        harness.env.update(BOT_STORE="azure-tables", BOT_STORE_TABLE=request.getfixturevalue("table_name"),
                           BOT_STORE_CONNECTION_STRING=request.getfixturevalue("azurite").connection_string)
        await harness.restart()
    return request.param


def bot_cli(harness, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{harness.db_path}",
           "BOT_DATA_KEY": DATA_KEY, "BOT_EVIDENCE_SIGNING_KEY": SIGNING_KEY,
           **{k: v for k, v in harness.env.items() if k.startswith("BOT_STORE")}}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=check)


async def fingerprints_and_first_event(harness) -> tuple[int, int | None]:
    store = harness.runtime.store
    events = await store.audit_events()
    if harness.env.get("BOT_STORE") == "azure-tables":
        rows = [e async for e in store.raw_entities() if e["RowKey"].startswith("s|")]
    else:
        rows = (await store._query("SELECT fingerprint FROM sent_clients"))
    return len(rows), events[0].seq if events else None


async def edit_checkpoint(harness, old: str, new: str) -> None:
    """Someone with access to the store rewrites the checkpoint (without the audit key)."""
    if harness.env.get("BOT_STORE") == "azure-tables":
        async with TableClient.from_connection_string(harness.env["BOT_STORE_CONNECTION_STRING"],
                                                      harness.env["BOT_STORE_TABLE"]) as table:
            entity = await table.get_entity("tk", "c|audit-checkpoint")
            entity["Doc"] = entity["Doc"].replace(old, new)
            await table.update_entity(entity)
    else:
        import sqlite3

        with sqlite3.connect(harness.db_path) as db:
            (doc,) = db.execute("SELECT doc FROM audit_checkpoint").fetchone()
            db.execute("UPDATE audit_checkpoint SET doc = ?", (doc.replace(old, new),))


async def test_years_later_the_trail_verifies_from_its_checkpoint(backend, harness, counsellor, els,
                                                                 tmp_path):
    await send(counsellor)
    receive(els)
    await els.click("overgezet")
    before = bot_cli(harness, "audit", "verify")
    assert before.stdout.startswith("audit trail intact: 8 events, every link verified; last link")
    assert await fingerprints_and_first_event(harness) == (1, 1)

    swept = json.loads(bot_cli(harness, "sweep", "--now", "2032-01-05T10:00").stdout)
    assert swept["done"]["forget"] == 1 and swept["done"]["fingerprints_deleted"] == 1, swept
    assert swept["done"]["audit_events_pruned"] == 8, swept
    assert await fingerprints_and_first_event(harness) == (0, 9)

    verified = bot_cli(harness, "audit", "verify").stdout
    assert re.match(r"audit trail intact: 3 events, every link verified from the checkpoint of 05/01/2032 \(sealed "
                    r"and signed by the evidence signing key\): 8 older events, #1 to #8, from 30/11/2026 to "
                    r"30/11/2026, were pruned under the retention period; last link [0-9a-f]{64}\n$",
                    verified), verified

    export = json.loads(bot_cli(harness, "audit", "--format", "json").stdout)
    chain = export["summary"]["chain"]
    assert chain["intact"] is True and chain["checkpoint"]["pruned_events"] == 8
    assert chain["checkpoint"]["signature_verified"] is True and "from the checkpoint" in chain["verified"]
    assert [e["event"] for e in export["events"]] == ["record_deleted", "fingerprints_deleted", "audit_pruned"]
    assert [e["reason"] for e in export["events"][1:]] == ["1 (last sent before 2030-01-05)",
                                                          "8 events #1-#8 (2026-11-30 to 2026-11-30)"]

    public = tmp_path / "public.txt"
    public.write_text(bot_cli(harness, "audit", "public-key").stdout)
    for agency in ((), ("--agency", "atlas")):
        out = tmp_path / f"export{'-'.join(agency)}.csv"
        bot_cli(harness, "audit", *agency, "--out", str(out))
        assert 'audit chain verified,"from the checkpoint of 05/01/2032' in out.read_text()
        checked = bot_cli(harness, "audit", "verify-export", str(out), "--public-key", str(public))
        assert checked.stdout.startswith("export verified:"), checked.stdout
    report = tmp_path / "rapport.html"
    bot_cli(harness, "audit", "report", "--out", str(report))
    assert "vanaf het ijkpunt van 05/01/2032: 8 oudere events (#1 tot #8" in report.read_text()

    await edit_checkpoint(harness, '"count":8', '"count":2')  # says fewer events were pruned
    broken = bot_cli(harness, "audit", "verify", check=False)
    assert broken.returncode == 1 and broken.stdout == (
        "audit trail BROKEN at event #8: the checkpoint was altered (its seal does not match what it says)\n")
