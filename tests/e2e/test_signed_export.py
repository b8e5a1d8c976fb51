"""Evidence each party can check (art. 6): an agency's export holds only its own events, is
signed, and verifies in a fresh process that has nothing but the file and the public key; one
edited byte fails verification and names its line. OpenSSL alone agrees."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.e2e.conftest import ELS, PIETER
from tests.e2e.flows import identify, receive, send
from tests.support.teams import DATA_KEY

ROOT = Path(__file__).resolve().parents[2]
SIGNING_KEY = base64.b64encode(bytes(range(50, 82))).decode()
PRIVATE = ("Amina", "Idrissi", "Yonas", "Tesfaye", "Jan Janssens", "1990-04-12", "1987-11-03", "Magazijn", "heftruck")


def bot(harness, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{harness.db_path}",
            "BOT_DATA_KEY": DATA_KEY, "BOT_EVIDENCE_SIGNING_KEY": SIGNING_KEY}
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=base if env is None else env,
                          capture_output=True, text=True, timeout=60)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def verify_alone(path: Path, public_key: str) -> subprocess.CompletedProcess:
    """What an agency's DPO runs: a fresh process, an empty environment, no store, no secret."""
    return subprocess.run([sys.executable, "-m", "bot", "audit", "verify-export", str(path),
                           "--public-key", public_key],
                          cwd=ROOT, env={}, capture_output=True, text=True, timeout=60)


@pytest.fixture
async def traffic(harness, counsellor, els, pieter):
    await send(counsellor)  # Amina → Els (Atlas), transferred
    receive(els)
    await els.click("overgezet")
    await send(counsellor, "Yonas Tesfaye", "1987-11-03")  # → Pieter (Amal): not his, an incident
    receive(pieter)
    await pieter.click("niet_mijn_klant")  # asks first
    await pieter.click("bevestig_niet_mijn_klant")
    await identify(counsellor, "Jan Janssens", "1980-01-01")  # unknown client: names no agency
    return harness


async def test_public_key_then_agency_export_verified_alone(traffic, tmp_path):
    shown = bot(traffic, "audit", "public-key").stdout
    public = shown.split(": ", 1)[1].split("\n", 1)[0]
    fingerprint = shown.split("fingerprint: ", 1)[1].split("\n", 1)[0]
    assert len(base64.b64decode(public)) == 32 and "-----BEGIN PUBLIC KEY-----" in shown
    pem = tmp_path / "vdab-evidence.pem"
    pem.write_text(shown)  # the whole output, saved as it came, is a usable key file too

    out = tmp_path / "atlas.json"
    bot(traffic, "audit", "--agency", "atlas", "--format", "json", "--out", str(out))
    export = json.loads(out.read_bytes())
    assert export["agency"] == "atlas" and {e["agency"] for e in export["events"]} == {"atlas"}
    names = [e["event"] for e in export["events"]]
    assert {"identified", "recorded", "sent", "transferred", "purged"} <= set(names)
    assert "started" not in names and "refused" not in names  # name no agency: VDAB's own
    assert all(e["actor"] != PIETER for e in export["events"]) and any(e["actor"] == ELS for e in export["events"])
    assert export["summary"]["counts"]["sent"] == 1 and export["summary"]["incidents"] == []
    assert export["signature"]["public_key_fingerprint"] == fingerprint == export["signed_by"]
    assert export["summary"]["processors"][0]["name"].startswith("Microsoft Teams")

    for key in (public, str(pem)):
        done = verify_alone(out, key)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("export verified:") and fingerprint in done.stdout

    amal = tmp_path / "amal.csv"
    bot(traffic, "audit", "--agency", "amal", "--out", str(amal))
    rows = amal.read_text().splitlines()
    assert rows[0].startswith("seq,at,event") and rows[-1].startswith("signature,Ed25519," + fingerprint)
    events = [r.split(",") for r in rows[1:rows.index("")]]
    assert {r[5] for r in events} == {"amal"} and "misdelivery" in {r[6] for r in events}
    assert verify_alone(amal, public).returncode == 0
    for private in PRIVATE:
        assert private not in out.read_text() + amal.read_text() + shown


@pytest.mark.parametrize("fmt", ["json", "csv", "html"])
async def test_one_edited_byte_fails_and_names_its_line(traffic, tmp_path, fmt):
    public = bot(traffic, "audit", "public-key").stdout.split(": ", 1)[1].split("\n", 1)[0]
    out = tmp_path / f"export.{fmt}"
    bot(traffic, "audit", "--format", fmt, "--out", str(out))
    assert verify_alone(out, public).returncode == 0
    data = out.read_bytes()
    lines = data.splitlines(keepends=True)
    needle = b"Verkeerde ontvanger" if fmt == "html" else b"misdelivery"  # the incident
    target = next(i for i, line in enumerate(lines) if needle in line)
    edited = data.replace(needle, needle[:-1] + b"#", 1)  # one byte
    tampered = tmp_path / f"tampered.{fmt}"
    tampered.write_bytes(edited)
    done = verify_alone(tampered, public)
    assert done.returncode == 1
    named = rf"export NOT verified: line {target + 1}( \(event #\d+\))? differs from what was signed"
    assert re.match(named, done.stdout), done.stdout
    assert (" (event #" in done.stdout) == (fmt != "html")  # an event's line says which event

    other = base64.b64encode(Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key().public_bytes_raw()).decode()
    wrong = verify_alone(out, other)  # a key that is not the one that signed
    assert wrong.returncode == 1 and "signed by another key" in wrong.stdout
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(b"".join(lines[:-3]))  # the end cut off, signature line and all
    assert verify_alone(cut, public).returncode == 1


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")
async def test_openssl_alone_verifies_an_export(traffic, tmp_path):
    shown = bot(traffic, "audit", "public-key").stdout
    pem = tmp_path / "vdab-evidence.pem"
    pem.write_text(shown[shown.index("-----BEGIN PUBLIC KEY-----"):])
    out = tmp_path / "export.csv"
    bot(traffic, "audit", "--out", str(out))
    # As the README says: every line but the last is signed; the last carries the signature.
    lines = out.read_bytes().splitlines(keepends=True)
    (tmp_path / "signed").write_bytes(b"".join(lines[:-1]))
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(lines[-1].decode().split(",")[4]))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin",
               "-in", str(tmp_path / "signed"), "-sigfile", str(tmp_path / "sig.bin")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout
    (tmp_path / "signed").write_bytes(b"".join(lines[:-1]).replace(b"atlas", b"atlaz", 1))
    assert subprocess.run(command, capture_output=True, text=True, timeout=30).returncode != 0


async def test_without_a_signing_key_outside_local_mode_there_is_no_export(traffic):
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{traffic.db_path}",
           "BOT_DATA_KEY": DATA_KEY, "MicrosoftAppId": "app", "BOT_COUNSELLOR_TENANTS": "t",
           "BOT_AGENCY_TENANTS": "atlas=t"}
    done = bot(traffic, "audit", env=env, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "BOT_EVIDENCE_SIGNING_KEY" in done.stderr
