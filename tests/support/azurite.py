"""Azurite, the Azure Storage emulator (npm ``azurite``, installed by ``.ci/run`` into
``tools/azurite``), run on loopback with a temporary data folder for the Table Storage tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXECUTABLE = ROOT / "tools" / "azurite" / "node_modules" / ".bin" / "azurite-table"
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Azurite:
    """One Azurite table service; ``stop`` and ``start`` again keep its data (it flushes on SIGINT)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                f"TableEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};")

    def start(self) -> None:
        if not EXECUTABLE.exists():
            raise RuntimeError(f"Azurite is not installed: run `npm ci --prefix tools/azurite` ({EXECUTABLE})")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(EXECUTABLE), "--location", str(self.folder), "--silent", "--skipApiVersionCheck", "--loose",
             "--disableTelemetry", "--tableHost", "127.0.0.1", "--tablePort", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"Azurite exited: {self.process.stderr.read().decode()}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("Azurite did not start in 20 s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Shut down as an operator would (SIGINT: Azurite writes its data, then exits)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
