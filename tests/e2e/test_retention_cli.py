"""The bot's own retention from the command line (issue 15): years after a terugkoppeling, one
``python -m bot sweep`` deletes the fingerprint and prunes the audit trail; ``audit verify``, the
exports (VDAB's and an agency's) and ``verify-export`` stay whole and say where they start; an edited
checkpoint is named."""

import json
import re
import sqlite3

from tests.e2e.flows import receive, send
from tests.e2e.test_evidence import bot_cli


async def test_years_later_the_trail_verifies_from_its_checkpoint(harness, counsellor, els, tmp_path):
    await send(counsellor)
    receive(els)
    await els.click("overgezet")
    before = bot_cli(harness, "audit", "verify")
    assert before.stdout.startswith("audit trail intact: 8 events, every link verified; last link")
    with sqlite3.connect(harness.db_path) as db:
        assert db.execute("SELECT count(*) FROM sent_clients").fetchone() == (1,)

    swept = json.loads(bot_cli(harness, "sweep", "--now", "2032-01-05T10:00").stdout)
    assert swept["done"]["forget"] == 1 and swept["done"]["fingerprints_deleted"] == 1, swept
    assert swept["done"]["audit_events_pruned"] == 8, swept
    with sqlite3.connect(harness.db_path) as db:
        assert db.execute("SELECT count(*) FROM sent_clients").fetchone() == (0,)
        assert db.execute("SELECT min(seq) FROM audit").fetchone() == (9,)

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

    with sqlite3.connect(harness.db_path) as db:  # someone with the file says fewer events were pruned
        (doc,) = db.execute("SELECT doc FROM audit_checkpoint").fetchone()
        db.execute("UPDATE audit_checkpoint SET doc = ?", (doc.replace('"count":8', '"count":2'),))
    broken = bot_cli(harness, "audit", "verify", check=False)
    assert broken.returncode == 1 and broken.stdout == (
        "audit trail BROKEN at event #8: the checkpoint was altered (its seal does not match what it says)\n")
