"""Child processes: start one, wait for its first 200 on ``/healthz``, read its memory, stop it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Server:
    """A server process listening on ``127.0.0.1:port``."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    started_in: float = 0.0  # seconds from spawn to the first 200 on /healthz

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/messages"

    def rss_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MiB, from ``/proc/<pid>/status``."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024  # kB → MiB
        return fields["VmRSS"], fields["VmHWM"]

    def tail(self, size: int = 2000) -> str:
        """The end of what the process wrote (stdout and stderr)."""
        return self.log.read_text(errors="replace")[-size:]

    def stop(self) -> None:
        """SIGINT (a clean shutdown, as Ctrl-C), then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(name: str, args: list[str], *, port: int, env: dict[str, str], cwd: Path, log: Path,
          timeout: float = 60.0, poll: float = 0.005, python: str = sys.executable) -> Server:
    """Spawn ``python <args>`` (this interpreter unless another is given, e.g. a peer's virtualenv)
    and return once ``GET /healthz`` answers 200."""
    with log.open("ab") as out:
        began = time.perf_counter()
        process = subprocess.Popen([python, *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name, port, process, log)
    deadline = began + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    server.started_in = time.perf_counter() - began
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.perf_counter() > deadline:
            server.stop()
            raise RuntimeError(f"{name} did not come up (exit {process.returncode}); its output ends:\n{server.tail()}")
        time.sleep(poll)
