"""``python -m bench [--quick] [--out bench/results]``: measure the bot against its baselines."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.metadata
import io
import json
import math
import os
import platform
import pstats
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector

from bench import cpu, peers, procs, report
from bench.common import ROOT, Person, bot_env, child_env, free_port, new_data_key
from bench.connector import BenchConnector
from bench.load import Result, drive
from bench.scenarios import BOT_SCENARIOS, CHECKS, Pipeline, direct_clicks, is_2xx

USERS = (1, 32)
HOST = "botbuilder"  # the bot's default Teams host ("bot"); "bot-agents" is the same bot with BOT_HOST=agents
PACKAGES = ("botbuilder-core", "botbuilder-integration-aiohttp", "aiohttp", "pydantic", "azure-data-tables",
            "aiosqlite", "cryptography")


@dataclass(frozen=True)
class Plan:
    requests: int  # measured requests per row, at most
    seconds: float  # and no new request after this long
    sweep_sizes: tuple[int, ...]
    azurite_sweep_sizes: tuple[int, ...] = (1_000, 10_000)
    cold_starts: int = 5
    memory_warmup: int = 100  # whole conversations (message → overgezet) before reading RSS
    rounds: int = 3  # of the message rows, each round in a new shuffled order; the report gives medians

    def warmup(self, users: int) -> int:
        """Warm-up requests per user: 10% of the row, at least 2 each."""
        return max(2, math.ceil(0.1 * self.requests / users))


QUICK = Plan(requests=200, seconds=6, sweep_sizes=(1_000, 10_000), azurite_sweep_sizes=(1_000,), memory_warmup=24,
             rounds=1)
FULL = Plan(requests=1_000, seconds=20, sweep_sizes=(1_000, 10_000, 100_000))


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, plan: Plan, tmp: Path, connector: BenchConnector, profile: Path | None = None) -> None:
        self.plan, self.tmp, self.connector, self.profile = plan, tmp, connector, profile
        self.data_key = new_data_key()
        self.results: dict[str, Any] = {"load": [], "sweep": [], "memory": []}
        self.servers: list[procs.Server] = []  # running now, for the CPU accounting
        self.recipient_cards: dict[str, list[Any]] = {}  # per bot: cards in Els's chat still to click

    def start_bot(self, name: str, db: Path | None = None, *, profile: Path | None = None,
                  host: str = "botbuilder") -> procs.Server:
        """``python -m bot`` in local mode on its Teams ``host``, its working directory a new temporary
        one; under cProfile (written to ``profile`` when it stops) if asked."""
        cwd = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.tmp))
        port = free_port()
        env = {**bot_env(db or cwd / "b.db", self.connector.url, self.data_key, port), "BOT_HOST": host}
        args = ["-m", "cProfile", "-o", str(profile), "-m", "bot"] if profile else ["-m", "bot"]
        return procs.start(name, args, port=port, env=env, cwd=cwd, log=cwd / "output.log")

    def start_baseline(self, kind: str) -> procs.Server:
        port = free_port()
        return procs.start(kind, ["-m", "bench.servers", kind, "--port", str(port)], port=port, env=child_env(),
                           cwd=self.tmp, log=self.tmp / f"{kind}.log")

    def start_floor(self) -> procs.Server:
        port = free_port()
        folder = Path(tempfile.mkdtemp(prefix="floor-", dir=self.tmp))
        return procs.start("floor", ["-m", "bench.floor", "--port", str(port), "--db", str(folder / "f.db")],
                           port=port, env=child_env(), cwd=folder, log=folder / "output.log")

    def start_peers(self) -> dict[str, procs.Server]:
        """Every peer whose virtualenv is (or can be made) ready; the others are listed, with why."""
        started: dict[str, procs.Server] = {}
        missing = self.results.setdefault("peers_missing", {})
        for env in dict.fromkeys(p.env for p in peers.PEERS):
            if (why := peers.ensure(env, say)) is not None:
                missing.update({p.name: why for p in peers.PEERS if p.env == env})
                say(f"  (no {env} peers: {why})")
        for peer in (p for p in peers.PEERS if p.name not in missing):
            port = free_port()
            command = peer.command(port)
            try:
                started[peer.name] = procs.start(peer.name, command[1:], port=port, env=child_env(), cwd=self.tmp,
                                                 log=self.tmp / f"{peer.name}.log", python=command[0])
            except RuntimeError as error:
                missing[peer.name] = str(error).splitlines()[0]
                say(f"  (peer {peer.name} left out: {missing[peer.name]})")
        self.results["peers"] = {p.name: p.label for p in peers.PEERS}
        return started

    # -- requests -------------------------------------------------------------------------------

    async def row(self, server: procs.Server, pipeline: Pipeline, scenario: str, users: int,
                  into: list[dict[str, Any]] | None = None) -> Result:
        """Measure one row; its figures go into ``into`` (the results' load rows unless given)."""
        self.connector.forget()
        # Els's cards from this server only: both bots post into the same chat of hers.
        self.connector.recipient_cards[:] = self.recipient_cards.pop(server.name, [])
        people = [Person.counsellor(n) for n in range(users)]
        warmup = self.plan.warmup(users)
        per_user = warmup + math.ceil(self.plan.requests / users)
        if server.name == "floor" and scenario != "message":  # the floor keeps no cards to click
            queues = direct_clicks(self.connector.url, scenario, people, per_user)
        else:
            queues = await pipeline.queues(scenario, people, per_user)
        check = CHECKS[scenario] if server.name.startswith("bot") or server.name == "floor" else is_2xx
        recipient_cards = len(self.connector.recipient_cards)
        meter = cpu.Meter().start(s.process.pid for s in self.servers)
        server_cpu = cpu.process_cpu(server.process.pid)
        result = await drive(pipeline.session, server.url, queues, check, warmup=warmup, count=self.plan.requests,
                             seconds=self.plan.seconds)
        server_cpu = cpu.process_cpu(server.process.pid) - server_cpu
        others = meter.stop()
        if server.name == "floor":  # its recipient cards are not the bot's to click
            del self.connector.recipient_cards[recipient_cards:]
        elif server.name.startswith("bot"):
            pipeline.harvest(scenario, result)
        self.recipient_cards[server.name] = list(self.connector.recipient_cards)
        sent = len(result.answers) + result.errors  # warm-up included, as in the CPU time
        (self.results["load"] if into is None else into).append({
            "target": server.name, "scenario": scenario, "users": users, "n": result.count, "p50": result.p50,
            "p99": result.p99, "rps": result.throughput, "errors": result.errors, "first_error": result.first_error,
            "others_cpu": others, "cpu_ms": server_cpu * 1000 / sent if sent else math.nan,
        })
        say(f"  {server.name:10} {scenario:12} ×{users:<2}  p50 {result.p50 * 1000:7.2f} ms  p99 "
            f"{result.p99 * 1000:7.1f} ms  {result.throughput:7.0f} req/s  n={result.count}  errors={result.errors}"
            f"  other processes {others:.0%}")
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.process.returncode}) during {scenario} ×{users}; "
                               f"its output ends:\n{server.tail()}")
        return result

    async def requests(self) -> None:
        say("requests (bare aiohttp, the floor, the SDKs' echo bots, stock botbuilder echo, this bot):")
        self.results["host"] = HOST
        servers: dict[str, procs.Server] = {}
        try:  # started inside, so that one failing to start stops the ones before it
            servers.update((kind, self.start_baseline(kind)) for kind in ("raw", "echo"))
            servers["floor"] = self.start_floor()
            servers.update(self.start_peers())
            servers["bot"] = self.start_bot("bot", profile=self.profile)
            try:
                servers["bot-agents"] = self.start_bot("bot-agents", host="agents")
            except RuntimeError as error:  # a checkout without the Agents host
                self.results.setdefault("peers_missing", {})["bot-agents"] = str(error).splitlines()[0]
                say(f"  (the bot on the Agents host left out: {str(error).splitlines()[0]})")
            self.results["hosts"] = {"bot": HOST, **({"bot-agents": "agents"} if "bot-agents" in servers else {})}
            self.servers = list(servers.values())
            bots = [b for b in ("bot", "bot-agents") if b in servers]
            order = ["raw", "floor", *(p.name for p in peers.PEERS if p.name in servers), "echo", *bots]
            async with ClientSession(connector=TCPConnector(limit=100)) as session:
                pipelines = {kind: Pipeline(session, server.url, self.connector) for kind, server in servers.items()}
                # The message rows back to back, so drift hits them all alike; in rounds, each in a new order.
                rounds: dict[tuple[str, int], list[dict[str, Any]]] = {(k, u): [] for u in USERS for k in order}
                for n in range(self.plan.rounds):
                    if self.plan.rounds > 1:
                        say(f" round {n + 1} of {self.plan.rounds}")
                        random.Random(n).shuffle(order)
                    for users in USERS:
                        for kind in order:
                            await self.row(servers[kind], pipelines[kind], "message", users, rounds[kind, users])
                self.results["load"] += [median_row(entries) for entries in rounds.values()]
                for scenario in BOT_SCENARIOS[1:]:
                    for users in USERS:
                        if scenario == "verstuur":  # the floor for the same work, right before it
                            await self.row(servers["floor"], pipelines["floor"], scenario, users)
                        for bot in bots:
                            await self.row(servers[bot], pipelines[bot], scenario, users)
            self.results["topped_up"] = pipelines["bot"].topped_up
            rss, hwm = servers["bot"].rss_mb()
            self.results["rss_after_load"] = {"rss_mb": rss, "hwm_mb": hwm}
        finally:
            for server in servers.values():
                server.stop()
            self.servers = []
            self.connector.reset()
            self.recipient_cards.clear()
        if self.profile:
            self.results["profile"] = top_functions(self.profile)

    # -- sweep, memory, cold start --------------------------------------------------------------

    def sweeps(self) -> Path | None:
        """Each size in its own process; returns the largest database (for the memory figure)."""
        say("sweep:")
        largest = None
        for pending in self.plan.sweep_sizes:
            db = self.tmp / f"sweep-{pending}" / "b.db"
            self.sweep(pending, db, "SQLite")
            largest = db
        self.azurite_sweeps()
        return largest

    def sweep(self, pending: int, db: Path, store: str, *extra: str) -> None:
        """One ``bench.sweep`` process; its figures go into the results and onto the console."""
        db.parent.mkdir()
        with (db.parent / "output.log").open("wb") as log:
            done = subprocess.run(
                [sys.executable, "-m", "bench.sweep", "--pending", str(pending), "--db", str(db), *extra],
                cwd=self.tmp, env=child_env(BOT_DATA_KEY=self.data_key), stdout=subprocess.PIPE, stderr=log,
                check=False)
        if done.returncode != 0:
            raise RuntimeError(f"bench.sweep --pending {pending} on {store} failed; see {db.parent / 'output.log'}")
        entry = json.loads(done.stdout.decode().strip().splitlines()[-1])
        self.results["sweep"].append(entry)
        for label in ("10 due", "1% due"):
            s = report.sweep_stats(entry, label)
            say(f"  {pending:>7,} pending  {s['due']:>5,} due  {s['seconds'] * 1000:8.0f} ms"
                f"  ({store}, median of {s['runs']})")

    def azurite_sweeps(self) -> None:
        """The same sweep on Azure Table Storage (Azurite on loopback), at the smaller sizes: its fill
        goes through the store, one transaction per handoff."""
        from tests.support.azurite import EXECUTABLE, Azurite

        if not EXECUTABLE.exists():
            say("  (Azurite not installed: `npm ci --prefix tools/azurite`; no Table Storage sweep)")
            return
        azurite = Azurite(self.tmp / "azurite")
        azurite.start()
        try:
            for pending in self.plan.azurite_sweep_sizes:
                folder = self.tmp / f"sweep-azurite-{pending}"
                self.sweep(pending, folder / "none", "Azurite", "--azurite", azurite.connection_string)
        finally:
            azurite.stop()

    async def memory(self, largest: Path | None) -> None:
        say("memory:")
        databases: list[tuple[int, Path | None]] = [(0, None)]
        if largest is not None:
            databases.append((self.plan.sweep_sizes[-1], largest))
        async with ClientSession() as session:
            for pending, db in databases:
                server = self.start_bot(f"memory-{pending}", db)
                try:
                    # The same traffic for each: counsellors send, Els clicks "overgezet" on every card.
                    pipeline = Pipeline(session, server.url, self.connector)
                    people = [Person.counsellor(n) for n in range(8)]
                    clicks = await pipeline.queues("overgezet", people, math.ceil(self.plan.memory_warmup / 8))
                    done = await drive(session, server.url, clicks, CHECKS["overgezet"], warmup=0,
                                       count=sum(map(len, clicks)), seconds=math.inf)
                    if done.errors:
                        raise RuntimeError(f"memory warm-up: {done.errors} errors, first: {done.first_error}")
                    rss, hwm = server.rss_mb()
                finally:
                    server.stop()
                    self.connector.reset()
                self.results["memory"].append({"pending": pending, "rss_mb": rss, "hwm_mb": hwm})
                say(f"  {pending:>7,} pending  VmRSS {rss:.0f} MB  VmHWM {hwm:.0f} MB")

    def extras(self) -> None:
        """Other benchmarks of the bot's parts, each its own ``python -m bench.<name>`` printing a
        markdown table, run if present: the rate limiter against the enforcing connector and the
        client directory over HTTP (both runs), the file directory at 100k clients (full run only:
        it takes a minute or two)."""
        wanted = [("ratelimit", []), ("directory_http", ["--quick"] if self.plan is QUICK else [])]
        if self.plan is not QUICK:
            wanted.append(("directory", []))
        for module, args in wanted:
            if not (ROOT / "bench" / f"{module}.py").exists():
                continue
            say(f"{module}:")
            try:
                done = subprocess.run([sys.executable, "-m", f"bench.{module}", *args], cwd=self.tmp, env=child_env(),
                                      capture_output=True, text=True, timeout=900, check=False)
                error = None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["no output"])[-1]
                table = done.stdout.strip()
            except subprocess.TimeoutExpired:
                error, table = "took over 900 s", ""
            self.results.setdefault("extras", []).append({"name": module, "markdown": table, "error": error})
            say(f"  {error or 'done'}")

    def cold_start(self) -> None:
        runs = []
        for n in range(self.plan.cold_starts + 1):
            server = self.start_bot(f"cold-{n}")
            server.stop()
            if n:  # the first run warms the page and bytecode caches
                runs.append(server.started_in)
        median = statistics.median(runs)
        self.results["cold_start"] = {"runs": runs, "median": median}
        say(f"cold start: median {median:.2f} s of {runs}")


def median_row(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One row's rounds as one: the median of each figure, the requests and errors of all."""
    if len(entries) == 1:
        return entries[0]

    def median(key: str) -> float:
        return float(statistics.median(e[key] for e in entries))

    return {**entries[0], "n": sum(e["n"] for e in entries), "p50": median("p50"), "p99": median("p99"),
            "rps": median("rps"), "cpu_ms": median("cpu_ms"), "errors": sum(e["errors"] for e in entries),
            "first_error": next((e["first_error"] for e in entries if e["first_error"]), None),
            "others_cpu": max(e["others_cpu"] for e in entries), "rounds": len(entries)}


def top_functions(profile: Path, count: int = 20) -> str:
    """The functions that took the most time of their own in the bot server."""
    text = io.StringIO()
    pstats.Stats(str(profile), stream=text).sort_stats("tottime").print_stats(count)
    return text.getvalue().split("\n", 4)[-1].strip("\n")  # without the header about the file


def machine_id() -> str:
    try:
        return Path("/etc/machine-id").read_text().strip()[:8]
    except OSError:
        return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown cpu")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True).stdout
    return {
        "date": date.today().isoformat(), "machine_id": machine_id(), "cores": os.cpu_count(), "cpu": model,
        "platform": platform.platform(), "python": platform.python_version(),
        "commit": commit + (" with uncommitted changes" if dirty.strip() else ""),
        "packages": {name: importlib.metadata.version(name) for name in PACKAGES},
    }


async def run(plan: Plan, mode: str, profile: Path | None) -> dict[str, Any]:
    began = time.perf_counter()
    load_before, meter = os.getloadavg()[0], cpu.Meter().start()
    with tempfile.TemporaryDirectory(prefix="terugkoppeling-bench-") as tmp:
        connector = BenchConnector()
        async with connector:
            bench = Bench(plan, Path(tmp), connector, profile)
            bench.results.update({"mode": mode, "plan": asdict(plan), "machine": machine()})
            await bench.requests()
            say(f"[{time.perf_counter() - began:.0f} s]")
            largest = bench.sweeps()
            say(f"[{time.perf_counter() - began:.0f} s]")
            await bench.memory(largest)
            say(f"[{time.perf_counter() - began:.0f} s]")
            bench.cold_start()
            bench.extras()
    bench.results["took_seconds"] = time.perf_counter() - began
    bench.results["others_cpu"] = meter.stop()  # the servers have exited: theirs counts as our own
    bench.results["loadavg_before"] = load_before
    return bench.results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (about a minute or two)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where the report goes")
    parser.add_argument("--profile", action="store_true",
                        help="run the load-test bot under cProfile (slower: its figures are not comparable)")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{date.today().isoformat()}-{machine_id()}" + ("-quick" if args.quick else "")
    stem += "-profile" if args.profile else ""
    profile = args.out / f"{stem}.prof" if args.profile else None
    results = asyncio.run(run(QUICK if args.quick else FULL, mode, profile))
    markdown = report.render(results)
    (args.out / f"{stem}.md").write_text(markdown)
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=1))
    print(markdown)
    say(f"saved {args.out / stem}.md (and .json{', .prof' if profile else ''})")


if __name__ == "__main__":
    main()
