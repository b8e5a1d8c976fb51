"""`python -m bot audit` exports the evidence of a real flow, and nothing about the client."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.flows import receive, send
from tests.support.teams import DATA_KEY

ROOT = Path(__file__).resolve().parents[2]


def export(harness, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{harness.db_path}",
           "BOT_DATA_KEY": DATA_KEY}
    done = subprocess.run([sys.executable, "-m", "bot", "audit", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    assert "Amina" not in done.stderr
    return done.stdout


async def test_audit_export_of_a_flow(harness, counsellor, els):
    await send(counsellor)
    receive(els)
    await els.click("niet_mijn_klant")  # asks first
    await els.click("bevestig_niet_mijn_klant")

    exported = json.loads(export(harness, "--format", "json"))
    rows = exported["events"]
    assert [r["event"] for r in rows] == ["started", "identified", "recorded", "sent", "returned", "purged", "incident",
                                          "card_overwritten", "card_deleted"]
    reference = rows[2]["subject"]
    assert all(r["subject"] == reference for r in rows[2:])
    assert rows[0]["actor"] == "aad-bram" and rows[4]["actor"] == els.aad
    assert {r["agency"] for r in rows[1:]} == {"atlas"} and rows[6]["reason"] == "misdelivery"

    table = list(csv.DictReader(io.StringIO(export(harness, "--since", "2026-11-30", "--until", "2026-12-01"))))
    events = [r["event"] for r in table][: len(rows)]
    assert events == [r["event"] for r in rows]
    assert json.loads(export(harness, "--since", "2026-12-01", "--format", "json"))["events"] == []
    text = export(harness, "--format", "json") + export(harness)
    for private in ("Amina", "El Idrissi", "1990-04-12", "Magazijn"):
        assert private not in text
