"""The bot's own CPU per reminder in one sweep: ``python -m bench.sweep_cpu [--due N] [--pending M]``.

Fills a fresh SQLite store (as ``bench.sweep`` fills it) with ``M`` pending handoffs (default
5,000), of which ``N`` (default 1,000) are due for their first reminder, each to a recipient of its
own, spread over 3 agency tenants: every due handoff is a reminder message of its own. Then runs
one warm-up sweep (10 due) and ``REPEATS`` measured sweeps of ``N`` due each, in-process through the
service ``bot.bootstrap.build`` wires, against the loopback ``FakeConnector``. Reports, per sweep,
``time.process_time`` (this process's CPU: the bot and the stand-in connector, which answers at
once) ÷ reminders sent, and the median. The connector's own share is measured apart (the same
number of posts sent to it by a bare aiohttp client) and subtracted, so the figure is the bot's.

``--host agents`` measures the Agents SDK host (``BOT_HOST=agents``) instead of botbuilder.
``--base REV`` compares: this checkout against the committed tree at git revision ``REV``
(exported as ``bench.ab`` exports it), each run as its own process, the two in shuffled order
round after round (``--rounds``, default 5) on each host of ``--hosts``; printed: every run's
figure, then per host both medians and new ÷ base.
Rate limits (``BOT_TEAMS_TENANT_RATE``) are set high here so the run stays short: waiting costs
no CPU, and this measures CPU. Compare figures of one machine and one run as ratios (PERF-NOTES).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession

from bench.common import DIRECTORY_FILE, new_data_key
from bench.connector import BenchConnector
from bench.sweep import DAY, template, write_rows
from bot import logs
from bot.adapters.clock import FixedClock
from bot.adapters.sqlite_store import SqliteStore
from bot.bootstrap import build, open_store, sealer_of, settle_heap
from bot.config import Settings
from bot.domain.handoff import Handoff
from bot.domain.model import Address, Delivery, Recipient, new_id

TENANTS = ("tenant-agii", "tenant-atlas", "tenant-amal")
AGENCIES = ("agii", "atlas", "amal")
REPEATS = 3


def pending_handoffs(base: Handoff, due: int, pending: int) -> list[tuple[Handoff, int]]:
    """(handoff, sweep number) — 0 the warm-up, 1..REPEATS measured, -1 not due in this run."""
    planned = [0] * 10 + [n for n in range(1, REPEATS + 1) for _ in range(due)]
    planned += [-1] * max(0, pending - len(planned))
    out = []
    for n, sweep in enumerate(planned):
        tenant, agency = TENANTS[n % 3], AGENCIES[n % 3]
        aad = f"aad-tb-{n}"
        recipient = Recipient(naam=f"Trajectbegeleider {n}", email=f"tb{n}@{agency}.example", aad_object_id=aad,
                              tenant_id=tenant, agentschap=agency)
        address = base.delivery.address if base.delivery else None
        assert address is not None
        delivery = Delivery(address=Address(service_url=address.service_url, conversation_id=f"a:1{aad}",
                                            tenant_id=tenant, user_id=aad), activity_id="act-1", attempt=1)
        at = DAY + timedelta(minutes=30 * max(sweep, 0)) - timedelta(minutes=15)
        if sweep < 0:
            at = DAY + timedelta(hours=6)  # later than any sweep of this run
        out.append((base.model_copy(update={
            "id": new_id(), "draft_id": new_id(), "reference": f"TK-{n:06X}", "due_at": at, "version": 1,
            "recipient": recipient, "delivery": delivery}), sweep))
    return out


async def fill(store: SqliteStore, settings: Settings, handoffs: list[Handoff]) -> None:
    await write_rows(store, await sealer_of(settings), handoffs)


async def connector_cpu(connector: BenchConnector, posts: int) -> float:
    """CPU seconds this process spends on ``posts`` posts to the stand-in from a bare client."""
    async with ClientSession() as session:
        began = time.process_time()
        for n in range(posts):
            url = f"{connector.url}v3/conversations/a:1bare-{n % 50}/activities"
            async with session.post(url, json={"type": "message", "text": "x"}) as response:
                await response.read()
        return time.process_time() - began


async def run(due: int, pending: int, folder: Path, host: str = "botbuilder") -> dict[str, Any]:
    async with BenchConnector() as connector:
        env: dict[str, Any] = {"BOT_STORE": f"sqlite:///{folder / 'b.db'}",
                               "BOT_DATA_KEY": os.environ.get("BOT_DATA_KEY") or new_data_key(),
                               "BOT_TEAMS_SERVICE_URL": connector.url, "BOT_DIRECTORY_FILE": str(DIRECTORY_FILE),
                               "BOT_SWEEP_INTERVAL_SECONDS": 0,
                               "BOT_TEAMS_TENANT_RATE": 100_000,  # waiting costs no CPU: keep the run short
                               "BOT_HOST": host}
        settings = Settings(_env_file=None, **env)
        store = await open_store(settings, await sealer_of(settings))
        planned = pending_handoffs(template(connector.url), due, pending)
        assert isinstance(store, SqliteStore)
        await fill(store, settings, [h for h, _ in planned])
        await store.close()

        clock = FixedClock(DAY)
        runtime = await build(settings, clock=clock)
        settle_heap()  # as ``python -m bot`` does once started
        measured: list[dict[str, Any]] = []
        try:
            for sweep in range(REPEATS + 1):
                clock.set(DAY + timedelta(minutes=30 * sweep))
                expected = 10 if sweep == 0 else due
                posts = connector.posts
                began, cpu = time.perf_counter(), time.process_time()
                done = await runtime.service.sweep()
                seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
                sent = connector.posts - posts
                if done.get("remind", 0) != expected or sent != expected:
                    raise RuntimeError(f"sweep {sweep}: expected {expected} reminders, got {dict(done)}, {sent} posts")
                if sweep:
                    measured.append({"due": due, "seconds": seconds, "cpu_seconds": cpu})
        finally:
            for hook in runtime.app.on_cleanup:  # the Agents host's connector session
                await hook(runtime.app)
            await runtime.close()
        stand_in = await connector_cpu(connector, due)
    per = [m["cpu_seconds"] / due for m in measured]
    return {"host": host, "due": due, "pending": pending, "sweeps": measured,
            "cpu_ms_per_reminder_with_connector": statistics.median(per) * 1e3,
            "connector_cpu_ms_per_post": stand_in / due * 1e3,
            "bot_cpu_ms_per_reminder": (statistics.median(per) - stand_in / due) * 1e3,
            "wall_ms_per_reminder": statistics.median(m["seconds"] / due for m in measured) * 1e3}


def compare(base: str, rounds: int, hosts: list[str], due: int, pending: int) -> None:
    """This checkout against ``base``, interleaved: see the module's docstring."""
    from bench.ab import export  # only here: it imports the whole load bench
    from bench.common import ROOT, child_env

    trees = {"base": export(base, Path(tempfile.mkdtemp(prefix="sweep-cpu-")) / "base"), "new": ROOT}
    figures: dict[tuple[str, str], list[float]] = {(h, t): [] for h in hosts for t in trees}
    for n in range(rounds):
        for host in hosts:
            for which in random.sample(sorted(trees), 2):
                tree = trees[which]
                out = subprocess.run([sys.executable, "-m", "bench.sweep_cpu", "--host", host, "--due", str(due),
                                      "--pending", str(pending)], cwd=tree, env=child_env(PYTHONPATH=str(tree)),
                                     check=True, capture_output=True, text=True).stdout
                figure = json.loads(out.strip().splitlines()[-1])["bot_cpu_ms_per_reminder"]
                figures[host, which].append(figure)
                print(f"round {n + 1} {host} {which}: {figure:.3f} ms", file=sys.stderr, flush=True)
    result: dict[str, dict[str, Any]] = {}
    for host in hosts:
        old, new = statistics.median(figures[host, "base"]), statistics.median(figures[host, "new"])
        result[host] = {"base_ms": old, "new_ms": new, "ratio": new / old,
                        "base_runs": figures[host, "base"], "new_runs": figures[host, "new"]}
    print(json.dumps({"base": base, "due": due, "pending": pending, "rounds": rounds, "hosts": result}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep_cpu")
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--pending", type=int, default=5_000)
    parser.add_argument("--host", choices=("botbuilder", "agents"), default="botbuilder")
    parser.add_argument("--base", help="compare with this git revision (A/B, interleaved)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hosts", default="botbuilder,agents")
    args = parser.parse_args()
    if args.base:
        compare(args.base, args.rounds, args.hosts.split(","), args.due, args.pending)
        return
    logs.setup(os.environ.get("BOT_LOG_LEVEL", "WARNING"))
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run(args.due, args.pending, Path(folder), args.host))
        print(json.dumps(result), file=sys.stdout, flush=True)


if __name__ == "__main__":
    main()
