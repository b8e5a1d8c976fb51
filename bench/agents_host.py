"""The bot on both Teams hosts, side by side: p50 of ``message`` and ``verstuur`` at one user.

    .venv/bin/python -m bench.agents_host [--requests 300] [--rounds 3]

Each round starts ``python -m bot`` once per host (``BOT_HOST=botbuilder`` and ``agents``, in an
order shuffled per round), local mode on SQLite, against the bench's loopback connector in this
process, and times the requests one after another. Each ``verstuur`` click is on a fresh draft
of a fresh counsellor (``bench.scenarios.Pipeline``), made untimed before the row. Reported:
the median over rounds of each row's p50, and the agents/botbuilder ratio. Absolute times move
with load on a shared machine; the ratio within one run holds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout

from bench import procs
from bench.common import Person, bot_env, free_port, new_data_key
from bench.connector import BenchConnector
from bench.load import drive
from bench.scenarios import CHECKS, Pipeline

HOSTS = ("botbuilder", "agents")
WARMUP = 20


async def _row(session: ClientSession, server: procs.Server, connector: BenchConnector, scenario: str,
               requests: int, offset: int) -> float:
    pipeline = Pipeline(session, server.url, connector)
    user = Person.counsellor(offset)
    if scenario == "message":
        queues = await pipeline.queues("message", [user], requests + WARMUP)
    else:
        clicks = []
        for _ in range(requests + WARMUP):  # one draft at a time (a fresh counsellor each), untimed
            for attempt in range(3):
                try:
                    clicks.append((await pipeline.queues("verstuur", [user], 1))[0][0])
                    break
                except RuntimeError:  # a 503 while another process holds the machine: once more
                    if attempt == 2:
                        raise
        queues = [clicks]  # one user at a time: every click in one queue
    result = await drive(session, server.url, queues, CHECKS[scenario], warmup=WARMUP, count=requests,
                         seconds=600)
    if result.errors:
        raise RuntimeError(f"{server.name} {scenario}: {result.errors} errors, first {result.first_error}")
    connector.forget()
    return result.p50 * 1000


async def main(requests: int, rounds: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="agents-host-"))
    p50: dict[tuple[str, str], list[float]] = {(h, s): [] for h in HOSTS for s in ("message", "verstuur")}
    async with BenchConnector() as connector:
        async with ClientSession(timeout=ClientTimeout(total=30)) as session:
            for round_ in range(rounds):
                for host in random.sample(HOSTS, len(HOSTS)):
                    cwd = Path(tempfile.mkdtemp(prefix=f"{host}-", dir=tmp))
                    port = free_port()
                    env = {**bot_env(cwd / "b.db", connector.url, new_data_key(), port), "BOT_HOST": host,
                           "BOT_RATE_COMMANDS": "0", "BOT_RATE_IDENTIFICATIONS": "0", "BOT_LOG_LEVEL": "WARNING"}
                    server = procs.start(host, ["-m", "bot"], port=port, env=env, cwd=cwd, log=cwd / "output.log")
                    try:
                        for scenario in ("message", "verstuur"):
                            value = await _row(session, server, connector, scenario, requests, round_ * 10_000)
                            p50[(host, scenario)].append(value)
                            print(f"round {round_ + 1} {host:10} {scenario:8} p50 {value:6.2f} ms", file=sys.stderr)
                    finally:
                        server.stop()
    print(f"\n{requests} requests per row, 1 user, {rounds} rounds (median of the rounds' p50)\n")
    print("| scenario | botbuilder p50 | agents p50 | agents / botbuilder |")
    print("| --- | ---: | ---: | ---: |")
    for scenario in ("message", "verstuur"):
        b = statistics.median(p50[("botbuilder", scenario)])
        a = statistics.median(p50[("agents", scenario)])
        print(f"| `{scenario}` | {b:.2f} ms | {a:.2f} ms | {a / b:.2f} |")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.requests, arguments.rounds)))
