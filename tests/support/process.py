"""``python -m bot`` and ``python -m bot sweep`` as real processes, for crash and replica tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from tests.support.connector import FakeConnector
from tests.support.teams import DATA_KEY

ROOT = Path(__file__).resolve().parents[2]


class Bot:
    """``python -m bot`` and ``python -m bot sweep`` as separate processes on one database."""

    def __init__(self, tmp: Path, connector: FakeConnector | None, *, name: str = "bot", **env: str) -> None:
        self.tmp, self.port = tmp, _free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "Microsoft", "HOST", "PORT"))}
        self.env = {
            **clean, "PYTHONPATH": str(ROOT), "PORT": str(self.port),
            "BOT_STORE": f"sqlite:///{tmp / 'data' / 'terugkoppeling.db'}",
            "BOT_TEAMS_SERVICE_URL": connector.url if connector else "", "BOT_DATA_KEY": DATA_KEY,
            "BOT_DIRECTORY_FILE": str(ROOT / "examples" / "clients.json"), "BOT_LOG_LEVEL": "DEBUG",
            "BOT_SWEEP_INTERVAL_SECONDS": "0", "BOT_UNDO_MINUTES": "0",  # (issue 14: no undo window)
            "BOT_HOST": os.environ.get("BOT_HOST", "botbuilder"),  # tests/e2e/conftest.py runs both
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.output = tmp / f"{name}-output.log"  # everything its processes wrote, for the privacy check

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/messages"

    def start(self) -> None:
        with self.output.open("a") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=self.tmp, env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                assert self.process.poll() is None, self.output.read_text()
                assert time.monotonic() < deadline, "the bot did not come up"
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, no goodbye."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
        if self.process:
            self.process.wait(timeout=10)

    async def sweep(self, now: datetime) -> dict[str, int]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "sweep", "--now", now.isoformat(), cwd=self.tmp, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        with self.output.open("ab") as log:
            log.write(err)
        assert process.returncode == 0, err.decode()
        return json.loads(out.decode().strip().splitlines()[-1])["done"]

    async def cli(self, *args: str) -> tuple[int, str]:
        """``python -m bot <args>`` on the same store and keys; (exit code, standard output)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=self.tmp, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        with self.output.open("ab") as log:
            log.write(err)
        return process.returncode or 0, out.decode()

    def db_bytes(self) -> bytes:
        path = self.tmp / "data" / "terugkoppeling.db"
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
