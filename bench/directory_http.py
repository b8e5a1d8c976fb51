"""``python -m bench.directory_http [--quick] [--rounds N] [--json PATH]``: a client look-up against
VDAB's client-tracking system over HTTP (the loopback stand-in, in its own process) vs the file
directory, in the same run, as ratios.

Rows, measured interleaved (every round runs each target once, in a shuffled order):

- ``file``: ``FileDirectory.find`` on ``examples/clients.json`` (in memory);
- ``http``: ``HttpDirectory.find``: bearer token from a credential, POST on a keep-alive aiohttp
  session, pydantic validation of the answer, the recipient complete (the demo entries carry their
  Entra object ids, so no Graph call: resolved ids are cached anyway);
- ``http, circuit open``: the refusal an outage costs once the breaker has opened;
- ``raw aiohttp POST``: the same request and answer with nothing around it (the floor).

The worst case of a failing look-up is set by configuration, not measured: ``Limits().worst_case``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import DIRECTORY_FILE, ROOT, child_env
from bot.adapters.directory_file import FileDirectory
from bot.adapters.directory_http import CircuitBreaker, HttpDirectory, Limits
from bot.adapters.resolver import RecipientResolver
from bot.app.ports import DirectoryUnavailable
from bot.domain.template import Identity
from tests.support.directory import DIRECTORY_SCOPE, DirectoryCredential

AMINA = Identity(naam="Amina El Idrissi", geboortedatum=date(1990, 4, 12))
TENANTS = {"atlas": frozenset({"2b7d0c6e-1f4a-4b8e-9c3d-aaaa00000002"})}


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def start_stand_in() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.directory", "--clients", str(DIRECTORY_FILE)],
        cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"the directory stand-in did not start (said {line!r})")
    return process, line


async def measure(rounds: int, warmup: int, base_url: str) -> dict[str, list[float]]:
    file_directory = FileDirectory(DIRECTORY_FILE)
    http = HttpDirectory(base_url, DIRECTORY_SCOPE, RecipientResolver(None, TENANTS), credential=DirectoryCredential())
    opened = CircuitBreaker(failures=1, open_for=3600)
    opened.failed()
    refusing = HttpDirectory(base_url, DIRECTORY_SCOPE, RecipientResolver(None, TENANTS),
                             credential=DirectoryCredential(), breaker=opened)

    raw = aiohttp.ClientSession()
    body = {"naam": AMINA.naam, "geboortedatum": AMINA.geboortedatum.isoformat()}
    headers = {"Authorization": f"Bearer {(await DirectoryCredential().get_token(DIRECTORY_SCOPE)).token}"}

    async def raw_post() -> None:
        async with raw.post(f"{base_url}/clients/search", json=body, headers=headers) as response:
            assert response.status == 200 and await response.read()

    async def file_find() -> None:
        assert len(await file_directory.find(AMINA)) >= 1

    async def http_find() -> None:
        assert [c.klant_id for c in await http.find(AMINA)] == ["K-1001"]

    async def open_find() -> None:
        try:
            await refusing.find(AMINA)
        except DirectoryUnavailable as error:
            assert error.reason == "circuit_open"
        else:
            raise AssertionError("the open breaker let a call through")

    targets = {"file": file_find, "http": http_find, "http, circuit open": open_find, "raw aiohttp POST": raw_post}
    samples: dict[str, list[float]] = {name: [] for name in targets}
    order = list(targets)
    shuffle = random.Random(12)
    try:
        for n in range(warmup + rounds):
            shuffle.shuffle(order)
            for name in order:
                started = time.perf_counter()
                await targets[name]()
                elapsed = time.perf_counter() - started
                if n >= warmup:
                    samples[name].append(elapsed)
    finally:
        await http.close()
        await refusing.close()
        await raw.close()
    return samples


def render(samples: dict[str, list[float]], rounds: int) -> tuple[str, dict[str, Any]]:
    base = samples["file"]
    rows, data = [], {"rounds": rounds, "worst_case_s": Limits().worst_case, "rows": {}}
    lines = [
        f"Client look-up, {rounds} interleaved rounds (loopback stand-in in its own process; "
        f"worst case of a failing look-up by configuration: {Limits().worst_case:.2f} s)",
        "",
        "| target | p50 | p99 | p50 vs file | p99 vs file |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, values in samples.items():
        p50, p99 = quantile(values, 0.5), quantile(values, 0.99)
        r50, r99 = p50 / quantile(base, 0.5), p99 / quantile(base, 0.99)
        data["rows"][name] = {"p50_ms": p50 * 1e3, "p99_ms": p99 * 1e3, "mean_ms": statistics.fmean(values) * 1e3,
                              "p50_ratio": r50, "p99_ratio": r99}
        rows.append(f"| {name} | {p50 * 1e3:.3f} ms | {p99 * 1e3:.3f} ms | {r50:.1f}× | {r99:.1f}× |")
    return "\n".join(lines + rows), data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 rounds instead of 3,000")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    rounds = args.rounds or (300 if args.quick else 3_000)
    logging.getLogger("bot").setLevel(logging.ERROR)  # every circuit-open refusal logs a warning
    process, base_url = start_stand_in()
    try:
        samples = asyncio.run(measure(rounds, max(20, rounds // 10), base_url))
    finally:
        process.terminate()
        process.wait(timeout=10)
    table, data = render(samples, rounds)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
