"""``make playground`` (tools/playground/run.sh) next to ``make run``, in either order.

The real script, the real bot and the real Agents Playground: alone it starts both and stops
both; with a local-mode bot already on the port it reuses that bot and leaves it running; with
something else on the port it says so in one line and starts nothing. The playground's log (it
holds what was typed) lives in a private temporary folder that is gone when the script ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "playground" / "run.sh"
PLAYGROUND = ROOT / "tools" / "playground" / "node_modules" / ".bin" / "agentsplayground"
PLAYGROUND_PORT = 56150
DATA_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def env(tmp_path):
    if not PLAYGROUND.exists():
        pytest.fail("needs `npm ci --prefix tools/playground` (make test installs it)")
    assert not listening(PLAYGROUND_PORT), f"port {PLAYGROUND_PORT} is taken: stop the other playground"
    (tmp_path / "tmp").mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "Microsoft", "HOST", "PORT"))}
    return {**clean, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path / "tmp"),
            "BOT_STORE": f"sqlite:///{tmp_path / 'bot.db'}", "BOT_DATA_KEY": DATA_KEY}


def start_script(env: dict[str, str], port: int, out: Path) -> subprocess.Popen:
    with out.open("w") as log:
        return subprocess.Popen(["bash", str(SCRIPT)], env={**env, "PORT": str(port)}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(text: str, out: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while text not in out.read_text():
        assert process.poll() is None, out.read_text()
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.1)


def stop_script(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


def test_alone_it_starts_the_bot_and_the_playground_and_stops_both(env, tmp_path):
    port = free_port()
    out = tmp_path / "run.out"
    process = start_script(env, port, out)
    try:
        wait_for("playground: open http://localhost:56150", out, process)
        assert healthy(port) and listening(PLAYGROUND_PORT)
        assert len(list((tmp_path / "tmp").iterdir())) == 1  # the playground's private log folder
    finally:
        code = stop_script(process)
    assert code == 143
    assert not listening(port) and not listening(PLAYGROUND_PORT)
    assert list((tmp_path / "tmp").iterdir()) == [], "the playground's log outlived the script"
    assert not (ROOT / "devTools" / "m365agentsplayground.log").exists()
    assert "Traceback" not in out.read_text()


def test_after_make_run_it_reuses_that_bot_and_leaves_it_running(env, tmp_path):
    port = free_port()
    bot = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env={**env, "PORT": str(port)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not healthy(port):
            assert bot.poll() is None and time.monotonic() < deadline, "the bot did not come up"
            time.sleep(0.1)
        out = tmp_path / "run.out"
        process = start_script(env, port, out)
        try:
            wait_for("playground: open http://localhost:56150", out, process)
            assert "reusing the bot in local mode already on" in out.read_text()
        finally:
            stop_script(process)
        assert healthy(port), "the script stopped a bot it did not start"
        assert not listening(PLAYGROUND_PORT)
    finally:
        bot.terminate()
        bot.wait(timeout=20)


def test_a_port_taken_by_something_else_is_named_and_nothing_starts(env, tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        done = subprocess.run(["bash", str(SCRIPT)], env={**env, "PORT": str(port)}, capture_output=True,
                              text=True, timeout=30)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert f"port {port} is taken by something that is not this bot" in line
    assert not listening(PLAYGROUND_PORT)
    assert list((tmp_path / "tmp").iterdir()) == []
