"""A client name that looks like template or JSON syntax is shown literally, everywhere."""

import json
from pathlib import Path

import pytest

from tests.e2e.flows import CONTENT, identify, receive
from tests.support.cards import texts

EVIL = '"}], ${naam} {{x}} **vet**'
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "clients.json"


@pytest.fixture
def bot_env(tmp_path) -> dict[str, str]:
    data = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    for client in data["clients"]:
        if client["klant_id"] == "K-1001":
            client["naam"] = EVIL
    directory = tmp_path / "clients.json"
    directory.write_text(json.dumps(data), encoding="utf-8")
    return {"BOT_DIRECTORY_FILE": str(directory)}


async def test_template_syntax_in_a_name_renders_literally(harness, counsellor, els):
    card = await identify(counsellor, EVIL, "1990-04-12")
    assert any(EVIL in t for t in texts(card))
    preview = await counsellor.click("bekijk", CONTENT)
    assert EVIL in texts(preview)
    await counsellor.click("verstuur")
    assert EVIL in texts(receive(els))
