"""The whole loop in a real Teams-like client: `python -m bot` and the Microsoft 365 Agents
Playground (npm, offline), driven in headless Debian Chromium by ``tools/playground/drive.mjs``:
type "terugkoppeling", identify, fill the template, preview, send, see the card arrive, open the
overview, correct it (the card replaced), click "Overgezet", see the card replaced. Screenshots
land in the test's folder (and, with PLAYGROUND_SHOTS=dir, there too: that is how docs/playground/
was made)."""

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.process import Bot

ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND = ROOT / "tools" / "playground" / "node_modules" / ".bin" / "agentsplayground"
PORT = 56150  # the playground has no port option


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            return
        except OSError:
            assert process.poll() is None, "the playground exited"
            assert time.monotonic() < deadline, f"nothing listening on {port}"
            time.sleep(0.1)


@pytest.fixture
def playground(tmp_path):
    if not PLAYGROUND.exists() or not shutil.which(os.environ.get("CHROMIUM", "chromium")):
        pytest.fail("needs `npm ci --prefix tools/playground` and Debian chromium (make test / .ci/run install both)")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", PORT)) != 0, f"port {PORT} is taken: stop the other playground"
    bot = Bot(tmp_path, connector=None, BOT_TEAMS_SERVICE_URL=f"http://localhost:{PORT}/_connector",
              BOT_SWEEP_INTERVAL_SECONDS="2", BOT_LOG_LEVEL="INFO")
    bot.start()
    log = (tmp_path / "playground.log").open("w")
    process = subprocess.Popen(
        [str(PLAYGROUND), "-e", f"http://127.0.0.1:{bot.port}/api/messages", "-c", "msteams", "--dt"],
        cwd=tmp_path, env={**os.environ, "TEAMSAPPTESTER_BROWSER": "none"}, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(PORT, process)
        yield bot
    finally:
        process.terminate()
        process.wait(timeout=10)
        bot.stop()


def test_the_whole_loop_in_the_agents_playground(playground, tmp_path):
    shots = tmp_path / "shots"
    done = subprocess.run(["node", str(ROOT / "tools" / "playground" / "drive.mjs"), str(shots),
                           f"http://127.0.0.1:{PORT}/"], capture_output=True, text=True, timeout=240)
    seen = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    assert done.returncode == 0, (seen.get("error"), done.stderr[-2000:])
    assert seen["steps"] == ["1-identificatie", "2-inhoud", "3-voorbeeld", "4-ontvangen", "5-overzicht",
                             "6-wijzigen", "7-gewijzigd", "8-bevestigen", "9-overgezet"]
    # "Niet mijn klant" asks first, with what will happen and no client data; "Terug" changed nothing
    assert "Als je bevestigt, gebeurt dit meteen" in seen["confirmation"] and "Samira" not in seen["confirmation"]
    # issue 14: the overview names the client for the sender; the correction leaves one live copy
    assert "Samira Haddad" in seen["overview"] and "Wacht op 'Overgezet'" in seen["overview"]
    assert "Zorgkundige in een woonzorgcentrum" in seen["corrected"] and seen["live"] == 1
    assert "Terugkoppeling verstuurd" in seen["receipt"] and "Samira" not in seen["receipt"]
    assert "Samira Haddad" in seen["delivered"] and "05/05/1996" in seen["delivered"]
    for step in seen["steps"]:
        assert (shots / f"{step}.png").stat().st_size > 10_000
    if target := os.environ.get("PLAYGROUND_SHOTS"):
        shutil.copytree(shots, target, dirs_exist_ok=True)
    assert "Samira" not in playground.output.read_text()  # the bot logged no client data either
