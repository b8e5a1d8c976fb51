"""Peers: other SDKs' echo bots, each in its own virtualenv so their pins never meet the bot's.

``python -m bench.peers`` (or ``make bench-peers``) makes the virtualenvs; ``python -m bench``
makes any that are missing or whose ``requirements.txt`` changed, and leaves a peer out of the run
(saying why) if it cannot be installed. Each lives in ``bench/.venvs/<name>/`` (ignored by git);
a stamp in it holds the hash of the requirements it was made from.

| peer | what it runs |
| --- | --- |
| ``agents`` | Microsoft 365 Agents SDK 1.9 echo, ``ActivityHandler`` (``agents/echo.py handler``) |
| ``agents-app`` | the same SDK's ``AgentApplication`` echo (``agents/echo.py application``) |
| ``teams`` | Teams SDK v2 (``microsoft-teams-apps`` 2.1.1) echo on an aiohttp adapter (``teams/echo.py``) |
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE.parent / ".venvs"
INSTALL_TIMEOUT = 600  # seconds for creating one virtualenv and installing into it


@dataclass(frozen=True)
class Peer:
    name: str
    label: str  # how the report names it
    env: str  # which virtualenv (and folder under bench/peers/) it runs from
    args: tuple[str, ...]  # the script and its arguments, ``--port N`` follows

    @property
    def requirements(self) -> Path:
        return HERE / self.env / "requirements.txt"

    @property
    def python(self) -> Path:
        return VENVS / self.env / "bin" / "python"

    def command(self, port: int) -> list[str]:
        return [str(self.python), *(str(HERE / self.env / a) if a.endswith(".py") else a for a in self.args),
                "--port", str(port)]


PEERS = (
    Peer("agents", "Agents SDK 1.9 echo (ActivityHandler)", "agents", ("echo.py", "handler")),
    Peer("agents-app", "Agents SDK 1.9 echo (AgentApplication)", "agents", ("echo.py", "application")),
    Peer("teams", "Teams SDK v2 echo (aiohttp)", "teams", ("echo.py",)),
)


def _stamp(env: str) -> Path:
    return VENVS / env / ".bench-requirements"


def _wanted(env: str) -> str:
    return hashlib.sha256((HERE / env / "requirements.txt").read_bytes()).hexdigest()


def ready(env: str) -> bool:
    stamp = _stamp(env)
    return stamp.exists() and stamp.read_text().strip() == _wanted(env)


def ensure(env: str, say: Callable[[str], object] = print) -> str | None:
    """Make ``bench/.venvs/<env>`` if it is missing or stale; None when ready, else why not."""
    if ready(env):
        return None
    venv = VENVS / env
    say(f"  making the {env} virtualenv ({venv.relative_to(HERE.parents[1])}): a minute or so, once")
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(HERE / env / "requirements.txt")],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(step[:3])} …` took over {INSTALL_TIMEOUT} s"
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return f"`{' '.join(step[:3])} …` failed: {last[:200]}"
    _stamp(env).write_text(_wanted(env) + "\n")
    return None


def main() -> None:
    failed = False
    for env in dict.fromkeys(p.env for p in PEERS):
        why = ensure(env)
        print(f"{env}: {'ready' if why is None else why}")
        failed |= why is not None
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
