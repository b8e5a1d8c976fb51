"""Rotating the master key by the README's steps (Security, Keys) raises no false alarm: after
every step `audit verify` finds the whole trail intact, pending records stay readable and a
client is still recognised. Skipping the first step is refused, naming BOT_HMAC_KEY."""

import base64
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.bootstrap import ConfigurationError
from tests.e2e.flows import CONTENT, identify, receive, send
from tests.support.cards import texts
from tests.support.teams import DATA_KEY

ROOT = Path(__file__).resolve().parents[2]
NEW_KEY = base64.b64encode(bytes(range(100, 132))).decode()


def audit_verify(harness) -> subprocess.CompletedProcess:
    """`python -m bot audit verify` in its own process, with exactly the harness's configuration."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{harness.db_path}",
           "BOT_DATA_KEY": DATA_KEY, **harness.env}
    return subprocess.run([sys.executable, "-m", "bot", "audit", "verify"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def intact(harness) -> int:
    done = audit_verify(harness)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.match(r"audit trail intact: (\d+) events", done.stdout)
    assert found, done.stdout
    return int(found.group(1))


def test_the_readme_names_these_steps():
    keys = (ROOT / "README.md").read_text().split("**Keys.**", 1)[1].split("\n- **", 1)[0]
    steps = re.findall(r"^\s+(\d)\. (.+?)(?=^\s+\d\. |\Z)", keys, re.MULTILINE | re.DOTALL)
    assert [n for n, _ in steps] == ["1", "2", "3"]
    assert "`BOT_HMAC_KEY`" in steps[0][1] and "`BOT_DATA_KEY`" in steps[0][1]
    assert "`BOT_DATA_KEYS_PREVIOUS`" in steps[1][1] and "`BOT_DATA_KEYS_PREVIOUS`" in steps[2][1]


async def test_rotation_by_the_readme_keeps_the_trail_whole(harness, counsellor, els, pieter):
    await send(counsellor)  # Amina → Els: a whole flow under the first key
    receive(els)
    await els.click("overgezet")
    await send(counsellor, "Yonas Tesfaye", "1987-11-03")  # → Pieter: pending across the rotation
    pending = receive(pieter)
    events = intact(harness)

    # Rotating without step 1 is refused, at start-up and for the audit commands alike.
    harness.env.update({"BOT_DATA_KEY": NEW_KEY, "BOT_DATA_KEYS_PREVIOUS": DATA_KEY})
    with pytest.raises(ConfigurationError, match="key rotation needs BOT_HMAC_KEY"):
        await harness.restart()
    refused = audit_verify(harness)
    assert refused.returncode == 2 and "BOT_HMAC_KEY" in refused.stderr and "BROKEN" not in refused.stdout
    harness.env.clear()
    await harness.start()

    # 1. Set BOT_HMAC_KEY to the current BOT_DATA_KEY; restart.
    harness.env["BOT_HMAC_KEY"] = DATA_KEY
    await harness.restart()
    assert intact(harness) == events

    # 2. The new key in BOT_DATA_KEY, the old one in BOT_DATA_KEYS_PREVIOUS; restart.
    harness.env.update({"BOT_DATA_KEY": NEW_KEY, "BOT_DATA_KEYS_PREVIOUS": DATA_KEY})
    await harness.restart()
    await pieter.click("overgezet", card=pending)  # sealed under the old key, still readable
    assert [e.event for e in await harness.runtime.store.audit_events()].count("transferred") == 2
    card = await identify(counsellor, "Amina El Idrissi", "1990-04-12")  # recognised across the rotation
    assert texts(card)[0] == "Al eerder een terugkoppeling voor deze klant"
    await counsellor.click("annuleer")
    events = intact(harness)

    # 3. After the retention period, drop the old key from BOT_DATA_KEYS_PREVIOUS; restart.
    await harness.sweep(harness.clock.now() + timedelta(days=31))
    del harness.env["BOT_DATA_KEYS_PREVIOUS"]
    await harness.restart()
    await send(counsellor, "Ali Hassan", "1985-06-01", {**CONTENT, "eerstvolgende_contact": "2027-02-15"})
    receive(els)
    after = intact(harness)
    assert after > events
    card = await identify(counsellor, "Yonas Tesfaye", "1987-11-03")
    assert texts(card)[0] == "Al eerder een terugkoppeling voor deze klant"
