"""``python -m bench.identify_directory [--rounds N]``: the ``identificeer`` card action over HTTP, end to
end through the bot, with the client directory as the file (embedded default) and as VDAB's system
over HTTP (the loopback stand-in in its own process), in the same run, as ratios.

Each round, in a shuffled order, one new counsellor per sample opens a draft (not timed) and presses
*Zoek klant* (timed, client side: the HTTP request to the bot until its answer card). Both bots are
the real aiohttp app with its Bot Connector calls going to a loopback connector stand-in.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.directory_http import quantile, start_stand_in
from bot.adapters.clock import FixedClock
from tests.support.connector import FakeConnector
from tests.support.directory import DIRECTORY_SCOPE, DirectoryCredential
from tests.support.teams import Harness

IDENTITY = {"naam": "Amina El Idrissi", "geboortedatum": "1990-04-12"}


async def one(harness: Harness, n: int) -> float:
    counsellor = harness.user(f"aad-bench-{n}", "tenant-vdab", "Bench")
    await counsellor.say("terugkoppeling")
    assert counsellor.card is not None
    draft = next(a["data"]["draft"] for a in counsellor.card["actions"] if a.get("verb") == "identificeer")
    began = time.perf_counter()
    status, body = await counsellor.invoke({"action": {"type": "Action.Execute", "verb": "identificeer",
                                                       "data": {"draft": draft, **IDENTITY}}})
    elapsed = time.perf_counter() - began
    if status != 200 or "Els Peeters" not in str(body):
        raise SystemExit(f"identificeer answered {status}: {str(body)[:200]}")
    return elapsed * 1000


async def measure(rounds: int, per_round: int, base_url: str) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"file": [], "http": []}
    async with FakeConnector() as connector:
        harnesses = {
            "file": Harness(Path(tempfile.mkdtemp()), connector, FixedClock(datetime.now(UTC))),
            "http": Harness(Path(tempfile.mkdtemp()), connector, FixedClock(datetime.now(UTC)),
                            env={"BOT_DIRECTORY_URL": base_url, "BOT_DIRECTORY_SCOPE": DIRECTORY_SCOPE},
                            directory_credential=DirectoryCredential()),
        }
        for harness in harnesses.values():
            await harness.start()
        try:
            n = 0
            for name in harnesses:  # warm-up: imports, connections, the directory's first token
                for _ in range(5):
                    n += 1
                    await one(harnesses[name], n)
            for _ in range(rounds):
                order = list(harnesses)
                random.shuffle(order)
                for name in order:
                    for _ in range(per_round):
                        n += 1
                        samples[name].append(await one(harnesses[name], n))
        finally:
            for harness in harnesses.values():
                await harness.close()
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=20)
    args = parser.parse_args(argv)
    process, base_url = start_stand_in()
    try:
        samples = asyncio.run(measure(args.rounds, args.per_round, base_url))
    finally:
        process.terminate()
        process.wait(timeout=10)
    file_p50, http_p50 = statistics.median(samples["file"]), statistics.median(samples["http"])
    print(f"identificeer end to end, {len(samples['file'])} samples each, interleaved rounds")
    print("| directory | p50 (ms) | p99 (ms) |\n| --- | ---: | ---: |")
    for name, label in (("file", "file (embedded)"), ("http", "VDAB's system over HTTP (stand-in)")):
        print(f"| {label} | {statistics.median(samples[name]):.2f} | {quantile(samples[name], 0.99):.2f} |")
    print(f"http ÷ file: p50 {http_p50 / file_p50:.2f}×, "
          f"p99 {quantile(samples['http'], 0.99) / quantile(samples['file'], 0.99):.2f}×")


if __name__ == "__main__":
    main()
