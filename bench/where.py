"""Where the bot's time goes, per Teams host, for ``message`` and ``verstuur`` at one user.

    .venv/bin/python -m bench.where [--requests 300] [--hosts botbuilder,agents] [--scenarios message,verstuur]

Each host's server is ``python -m bench.profiled`` (``python -m bot`` with cProfile switched on and
off by signals) in local mode on SQLite, against the bench's loopback connector in this process.
Per host and scenario, on one server: the cards to click are prepared (untimed), a warm-up runs,
then one row is measured without the profiler (p50, and the server's CPU per request from
``/proc``) and one with it, which alone is profiled. Reported from the profiled row, per request:
the time of the event loop's thread by package of the function it was spent in (*self* time),
the functions with the most self time with their calls per request, and the bot's own functions
with their inclusive time — what a change can cut.

cProfile sees only the thread that switched it on: the event loop's, where the bot's code runs.
The SQLite work on aiosqlite's thread shows only as the loop's waits and wake-ups. The profiler
makes every Python call dearer (C code less so), so its milliseconds are larger than the
unprofiled CPU figure and lean towards code with many small calls: read shares and call counts,
and take time from the unprofiled figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import pstats
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from bench import cpu, procs
from bench.common import ROOT, Person, bot_env, free_port, new_data_key
from bench.connector import BenchConnector
from bench.load import drive
from bench.scenarios import CHECKS, Pipeline

WARMUP = 30

# A function's file → the part of the stack it belongs to; the first pattern found in the path wins.
GROUPS = [
    ("msrest", "/msrest/"), ("botbuilder", "/botbuilder/"), ("botframework", "/botframework/"),
    ("Agents SDK", "/microsoft_agents/"), ("pydantic", "/pydantic"), ("aiohttp", "/aiohttp/"),
    ("yarl/multidict", "/yarl/"), ("yarl/multidict", "/multidict/"), ("aiosqlite", "/aiosqlite/"),
    ("requests/urllib3", "/requests/"), ("requests/urllib3", "/urllib3/"), ("cryptography", "/cryptography/"),
    ("jwt", "/jwt/"), ("opentelemetry", "/opentelemetry/"), ("json", "/json/"), ("logging", "/logging/"),
    ("asyncio", "/asyncio/"), ("asyncio", "selectors.py"), ("threads/queues", "/threading.py"),
    ("threads/queues", "/queue.py"), ("threads/queues", "/concurrent/"), ("sqlite3", "/sqlite3/"),
    ("bot: store", "/bot/adapters/sqlite_store.py"), ("bot: sealing, crypto", "/bot/adapters/"),
    ("bot: cards", "/bot/teams/cards.py"), ("bot: cards", "/bot/teams/templating.py"),
    ("bot: host", "/bot/teams/"), ("bot: host", "/bot/agents/"), ("bot: web", "/bot/web.py"),
    ("bot: logs", "/bot/logs.py"), ("bot: telemetry", "/bot/telemetry.py"), ("bot: app", "/bot/app/"),
    ("bot: domain", "/bot/domain/"), ("bot: other", "/bot/"),
]
BUILTIN_GROUPS = [("waiting (epoll)", "select.epoll"),
                  ("sqlite3", "sqlite3"), ("cryptography", "cryptography"), ("cryptography", "rust"),
                  ("pydantic", "pydantic_core"), ("json", "json"), ("json", "_json"), ("asyncio", "select"),
                  ("asyncio", "socket"), ("asyncio", "_asyncio"), ("threads/queues", "_thread"),
                  ("threads/queues", "_queue")]


def group_of(file: str, function: str) -> str:
    if file == "~":  # a builtin: "<method 'x' of 'y' objects>" or "<built-in method z.w>"
        for name, word in BUILTIN_GROUPS:
            if word in function:
                return name
        return "builtins"
    for name, pattern in GROUPS:
        if pattern in file:
            return name
    return "stdlib/other"


def short(file: str) -> str:
    for marker in ("/site-packages/", f"{ROOT}/", "/lib/python3."):
        if marker in file:
            return file.split(marker, 1)[1].lstrip("0123456789/")
    return file


def summarise(profile: Path, requests: int, top: int) -> str:
    stats: dict[Any, Any] = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    groups: collections.Counter[str] = collections.Counter()
    functions = []
    total = 0.0
    for (file, line, function), (_, calls, own, cumulative, _) in stats.items():
        groups[group_of(file, function)] += own
        total += own
        functions.append((own, cumulative, calls, file, line, function))
    per = 1000 / requests
    waiting = groups["waiting (epoll)"]
    out = [f"profiled: {total * per:.2f} ms/request in the event loop's thread, of which {waiting * per:.2f} waiting"
           " in epoll (for sockets and the SQLite thread)\n",
           "| where (self time, by package) | ms/request | share |", "| --- | ---: | ---: |"]
    out += [f"| {name} | {own * per:.2f} | {own / total:.0%} |" for name, own in groups.most_common()
            if own * per >= 0.005]
    out += ["", f"| the {top} functions with the most self time | calls/request | self ms/request |",
            "| --- | ---: | ---: |"]
    for own, _, calls, file, line, function in sorted(functions, reverse=True)[:top]:
        where = f"{short(file)}:{line} " if file != "~" else ""
        out.append(f"| `{where}{function}` | {calls / requests:.1f} | {own * per:.3f} |")
    out += ["", "| the bot's own functions (inclusive) | calls/request | ms/request |", "| --- | ---: | ---: |"]
    mine = [f for f in functions if f"{ROOT}/bot/" in f[3]]
    for _, cumulative, calls, file, line, function in sorted(mine, key=lambda f: -f[1])[:top]:
        out.append(f"| `{short(file)}:{line} {function}` | {calls / requests:.1f} | {cumulative * per:.2f} |")
    return "\n".join(out)


async def measure(host: str, scenario: str, requests: int, top: int, connector: BenchConnector,
                  session: ClientSession, tmp: Path) -> str:
    cwd = Path(tempfile.mkdtemp(prefix=f"{host}-", dir=tmp))
    port = free_port()
    profile = cwd / "bot.prof"
    env = {**bot_env(cwd / "b.db", connector.url, new_data_key(), port), "BOT_HOST": host,
           "BENCH_PROFILE": str(profile)}
    server = procs.start(host, ["-m", "bench.profiled"], port=port, env=env, cwd=cwd, log=cwd / "output.log")
    try:
        pipeline = Pipeline(session, server.url, connector)
        queue = (await pipeline.queues(scenario, [Person.counsellor(0)], WARMUP + 2 * requests))[0]
        rows = [queue[:WARMUP], queue[WARMUP:WARMUP + requests], queue[WARMUP + requests:]]

        async def run(activities: list[dict[str, Any]]) -> Any:
            result = await drive(session, server.url, [activities], CHECKS[scenario], warmup=0,
                                 count=len(activities), seconds=600)
            if result.errors:
                raise RuntimeError(f"{host} {scenario}: {result.errors} errors, first {result.first_error}")
            return result

        await run(rows[0])
        began = cpu.process_cpu(server.process.pid)
        plain = await run(rows[1])
        used = cpu.process_cpu(server.process.pid) - began
        os.kill(server.process.pid, signal.SIGUSR1)
        await asyncio.sleep(0.1)
        profiled = await run(rows[2])
        os.kill(server.process.pid, signal.SIGUSR2)
        for _ in range(100):
            if profile.exists() and profile.stat().st_size:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # written in full
        connector.forget()
        connector.recipient_cards.clear()
        head = (f"\n### {host} host, `{scenario}` (1 user, {requests} requests per row)\n\n"
                f"unprofiled: p50 {plain.p50 * 1000:.2f} ms, server CPU {used * 1000 / requests:.2f} ms/request "
                f"(/proc, all threads); profiled: p50 {profiled.p50 * 1000:.2f} ms; ")
        return head + summarise(profile, requests, top)
    finally:
        server.stop()


async def main(requests: int, hosts: list[str], scenarios: list[str], top: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="where-"))
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"# Where the time goes ({time.strftime('%Y-%m-%d %H:%M')} UTC, 1-minute load {load} at the start)")
    async with BenchConnector() as connector, ClientSession(timeout=ClientTimeout(total=30)) as session:
        for host in hosts:
            for scenario in scenarios:
                print(await measure(host, scenario, requests, top, connector, session, tmp), flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--hosts", default="botbuilder,agents")
    parser.add_argument("--scenarios", default="message,verstuur")
    parser.add_argument("--top", type=int, default=25)
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.requests, arguments.hosts.split(","), arguments.scenarios.split(","),
                              arguments.top)))
