"""The bot before and after a change, in one run: this checkout against a git revision of it.

    .venv/bin/python -m bench.ab [--base HEAD] [--requests 200] [--rounds 3] [--hosts agents,botbuilder]

For judging one change at a time on a shared machine, where absolute figures move between runs but
two servers measured one right after the other, in shuffled order, round after round, move alike.
The base revision is exported (``git archive``, committed files only) to a temporary folder and
run from there; the *new* bot is this working tree, uncommitted edits included. Beside them, as
references: the Agents SDK echo peer (``bench/.venvs/agents``, if made), the stock botbuilder echo
and the floor (both from the base tree, so a change to ``bot/web.py`` does not move them).

Rows: ``message`` at 1 user (p50) and 32 users (req/s), ``verstuur`` at 1 user (p50), each a
median over the rounds. Printed: every row, the new ÷ base ratio per host, and the issue 16 ratios
(Agents host: message p50 ÷ Agents echo, req/s ÷ Agents echo, verstuur ÷ floor; botbuilder host:
p50 ÷ stock echo, req/s ÷ stock echo) for base and new.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, TCPConnector

from bench import cpu, peers, procs, scenarios
from bench.common import ROOT, Person, bot_env, child_env, free_port, new_data_key
from bench.connector import BenchConnector
from bench.load import drive
from bench.scenarios import CHECKS, Pipeline, direct_clicks, is_2xx

ROWS = (("message", 1), ("message", 32), ("verstuur", 1))


@dataclass
class Target:
    name: str
    server: procs.Server
    pipeline: Pipeline
    kind: str  # "bot", "floor" or "echo" (answers only ``message``)


def export(revision: str, into: Path) -> Path:
    """The committed tree at ``revision``, unpacked into ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def start_bot(name: str, tree: Path, host: str, tmp: Path, connector: BenchConnector) -> procs.Server:
    cwd = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp))
    port = free_port()
    env = {**bot_env(cwd / "b.db", connector.url, new_data_key(), port), "BOT_HOST": host,
           "PYTHONPATH": str(tree)}
    return procs.start(name, ["-m", "bot"], port=port, env=env, cwd=cwd, log=cwd / "output.log")


def start_reference(kind: str, tree: Path, tmp: Path) -> procs.Server | None:
    port = free_port()
    env = {**child_env(), "PYTHONPATH": str(tree)}
    if kind == "agents":
        peer = next(p for p in peers.PEERS if p.name == "agents")
        if not peers.ready(peer.env):
            print("  (no Agents SDK echo: `python -m bench.peers` makes its virtualenv)", file=sys.stderr)
            return None
        command = peer.command(port)
        return procs.start(kind, command[1:], port=port, env=env, cwd=tmp, log=tmp / f"{kind}.log", python=command[0])
    args = ["-m", "bench.floor", "--port", str(port), "--db", str(tmp / "floor.db")] if kind == "floor" else \
        ["-m", "bench.servers", kind, "--port", str(port)]
    return procs.start(kind, args, port=port, env=env, cwd=tmp, log=tmp / f"{kind}.log")


async def row(target: Target, scenario: str, users: int, requests: int,
              connector: BenchConnector) -> tuple[float, float, float]:
    """(p50 in ms, req/s, the server's CPU ms per request, warm-up included) of one row."""
    connector.forget()
    people = [Person.counsellor(n) for n in range(users)]
    warmup = max(2, requests // 10 // users)
    per_user = warmup + math.ceil(requests / users)
    if target.kind == "floor" and scenario != "message":
        queues = direct_clicks(connector.url, scenario, people, per_user)
    else:
        for attempt in range(3):  # a 503 while preparing (a busy shared machine): once more
            try:
                queues = await target.pipeline.queues(scenario, people, per_user)
                break
            except RuntimeError as error:
                print(f"  {target.name}: {error}", file=sys.stderr)
                if attempt == 2:
                    raise
    check = is_2xx if target.kind == "echo" else CHECKS[scenario]
    began = cpu.process_cpu(target.server.process.pid)
    result = await drive(target.pipeline.session, target.server.url, queues, check, warmup=warmup, count=requests,
                         seconds=60)
    if result.errors:
        raise RuntimeError(f"{target.name} {scenario} ×{users}: {result.errors} errors, first {result.first_error}")
    used = cpu.process_cpu(target.server.process.pid) - began
    connector.recipient_cards.clear()
    return result.p50 * 1000, result.throughput, used * 1000 / (len(result.answers) or 1)


async def main(base: str, requests: int, rounds: int, hosts: list[str]) -> int:
    scenarios.PREPARE_CONCURRENCY = 4  # untimed; fewer at once keeps a busy machine's store under its turn timeout
    tmp = Path(tempfile.mkdtemp(prefix="ab-"))
    base_tree = export(base, tmp / "base")
    load = Path("/proc/loadavg").read_text().split()[0]
    servers: list[procs.Server] = []
    figures: dict[tuple[str, str, int], list[tuple[float, float, float]]] = {}
    others: list[float] = []
    try:
        async with BenchConnector() as connector, ClientSession(
                connector=TCPConnector(limit=100), timeout=ClientTimeout(total=30)) as session:
            targets: list[Target] = []
            for kind in ("agents", "echo", "floor"):
                server = start_reference(kind, base_tree, tmp)
                if server is not None:
                    servers.append(server)
                    targets.append(Target(kind, server, Pipeline(session, server.url, connector),
                                          "floor" if kind == "floor" else "echo"))
            for host in hosts:
                for side, tree in (("base", base_tree), ("new", ROOT)):
                    name = f"{side}-{host}"
                    server = start_bot(name, tree, host, tmp, connector)
                    servers.append(server)
                    targets.append(Target(name, server, Pipeline(session, server.url, connector), "bot"))
            for n in range(rounds):
                for scenario, users in ROWS:
                    order = [t for t in targets if t.kind != "echo" or scenario == "message"]
                    if scenario != "message":
                        order = [t for t in order if t.kind == "bot" or (t.kind == "floor" and users == 1)]
                    random.shuffle(order)
                    meter = cpu.Meter().start(s.process.pid for s in servers)
                    for target in order:
                        figures.setdefault((target.name, scenario, users), []).append(
                            await row(target, scenario, users, requests, connector))
                    others.append(meter.stop())
                print(f"  round {n + 1}/{rounds} done", file=sys.stderr)
    finally:
        for server in servers:
            server.stop()

    def median(name: str, scenario: str, users: int, index: int) -> float:
        return statistics.median(f[index] for f in figures.get((name, scenario, users), [(math.nan,) * 3]))

    def p50(name: str, scenario: str, users: int) -> float:
        return median(name, scenario, users, 0)

    def rps(name: str, scenario: str, users: int) -> float:
        return median(name, scenario, users, 1)

    def cpu_ms(name: str, scenario: str, users: int) -> float:
        return median(name, scenario, users, 2)

    print(f"\nbase {base} vs this checkout; {requests} requests per row, {rounds} rounds (medians); "
          f"load {load} at the start; other processes at most {max(others, default=0):.0%} of the machine\n")
    print("| target | message ×1 p50 | message ×32 req/s | verstuur ×1 p50 | CPU ms/req: message ×1 · ×32 · verstuur |"
          "\n| --- | ---: | ---: | ---: | ---: |")
    names = sorted({name for name, _, _ in figures}, key=lambda n: (n.split("-")[-1], n))
    for name in names:
        print(f"| {name} | {p50(name, 'message', 1):.2f} ms | {rps(name, 'message', 32):.0f} | "
              f"{p50(name, 'verstuur', 1):.2f} ms | {cpu_ms(name, 'message', 1):.2f} · "
              f"{cpu_ms(name, 'message', 32):.2f} · {cpu_ms(name, 'verstuur', 1):.2f} |")
    print("\n| host | new ÷ base: message p50 | message req/s | verstuur p50 | CPU: message ×32 · verstuur |"
          "\n| --- | ---: | ---: | ---: | ---: |")
    for host in hosts:
        b, n = f"base-{host}", f"new-{host}"
        print(f"| {host} | {p50(n, 'message', 1) / p50(b, 'message', 1):.2f} | "
              f"{rps(n, 'message', 32) / rps(b, 'message', 32):.2f} | "
              f"{p50(n, 'verstuur', 1) / p50(b, 'verstuur', 1):.2f} | "
              f"{cpu_ms(n, 'message', 32) / cpu_ms(b, 'message', 32):.2f} · "
              f"{cpu_ms(n, 'verstuur', 1) / cpu_ms(b, 'verstuur', 1):.2f} |")
    print("\n| issue 16 ratio | limit | base | new |\n| --- | --- | ---: | ---: |")
    goals = [("agents", "message p50 ÷ Agents echo p50", "≤ 1.0", "agents", "message", "p50"),
             ("agents", "message req/s ÷ Agents echo req/s (32)", "≥ 1.0", "agents", "message", "rps"),
             ("agents", "verstuur p50 ÷ floor verstuur p50", "≤ 2", "floor", "verstuur", "p50"),
             ("botbuilder", "message p50 ÷ stock echo p50", "≤ 0.35", "echo", "message", "p50"),
             ("botbuilder", "message req/s ÷ stock echo req/s (32)", "≥ 3", "echo", "message", "rps")]
    for host, label, limit, reference, scenario, figure in goals:
        if host not in hosts:
            continue
        if figure == "p50":
            values = [p50(f"{side}-{host}", scenario, 1) / p50(reference, scenario, 1) for side in ("base", "new")]
        else:
            values = [rps(f"{side}-{host}", scenario, 32) / rps(reference, scenario, 32) for side in ("base", "new")]
        print(f"| {host}: {label} | {limit} | {values[0]:.2f} | {values[1]:.2f} |")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hosts", default="agents,botbuilder")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.base, arguments.requests, arguments.rounds, arguments.hosts.split(","))))
