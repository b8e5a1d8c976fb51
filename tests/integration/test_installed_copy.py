"""``pip install .`` outside the checkout: the ``terugkoppeling`` command finds its cards and manifest.

A wheel is built from a copy of the project's files (what ``pip install .`` builds), installed with
``--no-deps`` into a fresh venv in a temporary folder, which borrows the project venv's installed
dependencies through a ``.pth`` file (fast, and no dependency download). Then ``terugkoppeling
manifest`` and ``terugkoppeling serve`` run from another temporary folder, with no ``PYTHONPATH``:
the server answers ``terugkoppeling`` with the identification card, taken from the installed copy.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.support.connector import FakeConnector

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "2f0e6a3c-4b1d-4e8a-9c7f-0a1b2c3d4e5f"
TEAMS_APP_ID = "7d5c1b9e-3a2f-4c6d-8e0f-1a2b3c4d5e6f"
DATA_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
SHIPPED = ("pyproject.toml", "README.md", "bot", "cards", "manifest")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv holding the wheel built from this checkout."""
    tmp = tmp_path_factory.mktemp("installed")
    source = tmp / "source"
    for name in SHIPPED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(tmp / "dist"), str(source)],
                   check=True, timeout=300, capture_output=True)
    [wheel] = (tmp / "dist").glob("terugkoppeling_bot-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)],
                   check=True, timeout=120, capture_output=True)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # The dependencies: the project venv's site-packages, after the new venv's own (so `bot` is the wheel's).
    (Path(purelib) / "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin"


def outside_env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BOT_", "Microsoft", "HOST", "PORT", "PYTHON", "VIRTUAL_ENV"))}
    return {**clean, **extra}


def test_the_installed_copy_is_not_the_checkout(installed, tmp_path):
    probe = "import bot, bot.resources as r; print(bot.__file__); print(r.cards_dir()); print(r.manifest_dir())"
    out = subprocess.run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=outside_env(),
                         check=True, capture_output=True, text=True, timeout=30).stdout.split()
    venv = installed.parent
    assert all(Path(line).is_relative_to(venv) for line in out), out
    cards = sorted(p.name for p in (ROOT / "cards").glob("*.json"))
    assert sorted(p.name for p in Path(out[1]).glob("*.json")) == cards
    assert (Path(out[2]) / "manifest.template.json").is_file() and (Path(out[2]) / "outline.png").is_file()


def test_terugkoppeling_manifest_builds_the_package_from_another_folder(installed, tmp_path):
    done = subprocess.run(
        [str(installed / "terugkoppeling"), "manifest", "--out", "teams.zip", "--app-id", APP_ID,
         "--teams-app-id", TEAMS_APP_ID],
        cwd=tmp_path, env=outside_env(), capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "teams.zip") as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert package.read("color.png") == (ROOT / "manifest" / "color.png").read_bytes()
    assert manifest["id"] == TEAMS_APP_ID and manifest["bots"][0]["botId"] == APP_ID
    probe = "from importlib.metadata import version; print(version('terugkoppeling-bot'))"
    assert manifest["version"] == subprocess.run([str(installed / "python"), "-c", probe], cwd=tmp_path,
                                                 env=outside_env(), capture_output=True, text=True, check=True
                                                 ).stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the installed bot did not come up"
            time.sleep(0.1)


async def test_terugkoppeling_serve_from_another_folder_serves_the_cards(installed, tmp_path):
    async with FakeConnector() as connector:
        port = _free_port()
        (tmp_path / "clients.json").write_bytes((ROOT / "examples" / "clients.json").read_bytes())
        env = outside_env(PORT=str(port), BOT_STORE=f"sqlite:///{tmp_path / 'bot.db'}", BOT_DATA_KEY=DATA_KEY,
                          BOT_DIRECTORY_FILE=str(tmp_path / "clients.json"), BOT_TEAMS_SERVICE_URL=connector.url,
                          BOT_SWEEP_INTERVAL_SECONDS="0")
        log = tmp_path / "bot.log"
        with log.open("w") as out:
            process = subprocess.Popen([str(installed / "terugkoppeling"), "serve"], cwd=tmp_path, env=env,
                                       stdout=out, stderr=subprocess.STDOUT)
        try:
            await asyncio.to_thread(_wait_healthy, port, process, log)
            conversation = "a:personal-installed"
            activity = {
                "type": "message", "id": str(uuid.uuid4()), "channelId": "msteams", "serviceUrl": connector.url,
                "text": "terugkoppeling", "locale": "nl-BE",
                "from": {"id": "29:counsellor", "name": "Counsellor", "aadObjectId": "counsellor"},
                "recipient": {"id": "28:terugkoppeling-bot", "name": "Terugkoppeling"},
                "conversation": {"id": conversation, "conversationType": "personal", "tenantId": "vdab"},
                "channelData": {"tenant": {"id": "vdab"}},
            }
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/messages", json.dumps(activity).encode(),
                                             {"Content-Type": "application/json"})
            with await asyncio.to_thread(urllib.request.urlopen, request, timeout=10) as response:
                assert response.status in (200, 201, 202)
            card = connector.last_card(conversation)
            assert card is not None, log.read_text()
            shown = json.dumps(card[1], ensure_ascii=False)
            assert "Stap 1 van 3" in shown and '"verb": "identificeer"' in shown
        finally:
            process.terminate()
            process.wait(timeout=10)
