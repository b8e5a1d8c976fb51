"""`python -m bot` as a newcomer runs it: local mode, loopback, health, and safe refusals."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_process(tmp_path: Path, **env: str) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "Microsoft", "HOST", "PORT"))}
    return subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env={**clean, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def health(port: int, process: subprocess.Popen, seconds: float = 20) -> bytes:
    """The body of the first 200 on /healthz, waiting for the server to come up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                assert response.status == 200
                return response.read()
        except OSError:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.1)


def test_local_mode_starts_with_no_configuration(tmp_path):
    port = free_port()
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "clients.json").write_text((ROOT / "examples" / "clients.json").read_text())
    process = bot_process(tmp_path, PORT=str(port))
    try:
        assert b'"mode": "local"' in health(port, process)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert "Local mode: no Bot Framework authentication" in out
    assert (tmp_path / "data" / "terugkoppeling.db").exists()
    key = tmp_path / "data" / "dev-master.key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOST": "0.0.0.0"}, "loopback only"),
        ({"MicrosoftAppId": "1", "BOT_COUNSELLOR_TENANTS": "v", "BOT_AGENCY_TENANTS": "atlas=a"},
         "BOT_DATA_KEY is required"),
        ({"MicrosoftAppId": "1", "BOT_DATA_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
         "BOT_COUNSELLOR_TENANTS and BOT_AGENCY_TENANTS are required"),
        ({"MicrosoftAppId": "1", "BOT_DATA_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
          "BOT_COUNSELLOR_TENANTS": "v", "BOT_AGENCY_TENANTS": "atlas=a", "BOT_STORE": "azure-tables",
          "BOT_STORE_CONNECTION_STRING": "UseDevelopmentStorage=true"},
         "BOT_STORE_CONNECTION_STRING is for local use and tests"),
        ({"BOT_STORE": "postgres://db/bot"}, "BOT_STORE: expected sqlite:///path"),
        ({"BOT_OFFICE_HOURS": "17:00-09:00"}, "BOT_OFFICE_HOURS"),
    ],
)
def test_unsafe_configurations_refuse_to_start(tmp_path, env, message):
    process = bot_process(tmp_path, BOT_DIRECTORY_FILE=str(ROOT / "examples" / "clients.json"), **env)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert message in err


def test_no_authentication_on_a_network_address_only_with_the_loud_development_flag(tmp_path):
    port = free_port()
    process = bot_process(tmp_path, HOST="0.0.0.0", PORT=str(port), BOT_INSECURE_DEVELOPMENT_NO_AUTH="true",
                          BOT_DIRECTORY_FILE=str(ROOT / "examples" / "clients.json"))
    try:
        assert b'"mode": "insecure"' in health(port, process)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert '"level": "CRITICAL"' in err and "INSECURE: no Bot Framework authentication" in err
