"""``python -m bench.directory``: the file client directory at 1k and 100k clients, as ratios.

- load: ``FileDirectory(path)`` on a 100k-client file, against an empty file's load plus the bare
  parse of the same 100k file (read, ``json.loads``, pydantic validation of every entry: the work
  no loader can skip). Target ≤ 1.5.
- look-up: ``await find(identity)`` in µs at 1k and at 100k clients (target ≤ 1,000 µs at 100k),
  with the old linear scan (filter by birth date, then the name match) at 100k beside it.
- memory: the resident set a fresh process gains by loading the 100k file, against the file's
  size. Target ≤ 2. Beside it, a full garbage collection with the index loaded against one before
  (the index's entries hold only atomic values, so the collector need not walk them).

Each load figure is the median of several runs in this process (the 100k parse and load
interleaved); memory is read in a child
process (``--rss FILE``) so that nothing else this run allocated counts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from pydantic import TypeAdapter

from bench.common import child_env
from bot.adapters.directory_file import FileDirectory
from bot.domain.directory import matches
from bot.domain.model import DirectoryClient
from bot.domain.template import Identity

GIVEN = ["Amina", "Yonas", "Olena", "José", "Mohammed", "Fatima", "Ali", "Li", "Samira", "Nour", "Ahmad", "Zahra",
         "Oksana", "Tesfay", "Mariam", "Omar", "Ayşe", "Dmytro", "Hiba", "Karim", "Lina", "Mehmet", "Nadia", "Rami"]
FAMILY = ["El Idrissi", "Tesfaye", "Kovalenko", "Álvarez Ruiz", "Ahmadi", "Benali", "Hassan", "Wei", "Haddad",
          "Yılmaz", "Bondarenko", "Mensah", "Diallo", "Nguyen", "Rahimi", "Al-Masri", "Popescu", "Kaya",
          "Shevchenko", "Osman", "Jabari", "Tahiri", "Sadiq", "Barzani", "Hakimi", "Mansour", "Kader"]
AGENCIES = {"agii": "integratie-inburgering", "atlas": "atlas", "amal": "amal"}


def recipients(count: int) -> list[dict[str, str]]:
    out = []
    for i in range(count):
        agency = list(AGENCIES)[i % 3]
        out.append({"naam": f"Begeleider {i}", "email": f"begeleider.{i}@{AGENCIES[agency]}.example",
                    "aad_object_id": f"6f1c2a4e-8d3b-4c1a-9e2f-{i:012d}",
                    "tenant_id": f"2b7d0c6e-1f4a-4b8e-9c3d-aaaa0000000{i % 3 + 1}", "agentschap": agency})
    return out


def clients(count: int, seed: int = 12) -> list[dict[str, object]]:
    rng = random.Random(seed)
    people = recipients(max(3, count // 500))
    first_day = date(1930, 1, 1)
    return [
        {"klant_id": f"K-{100000 + i}",
         "naam": f"{rng.choice(GIVEN)} {rng.choice(GIVEN) + ' ' if rng.random() < 0.2 else ''}{rng.choice(FAMILY)}",
         "geboortedatum": (first_day + timedelta(days=rng.randrange(27_000))).isoformat(),
         "actief_inburgeringstraject": rng.random() < 0.9,
         "trajectbegeleider": rng.choice(people)}
        for i in range(count)
    ]


def write(path: Path, entries: list[dict[str, object]]) -> Path:
    # One entry a line, as examples/clients.json is written.
    lines = ",\n".join("    " + json.dumps(e, ensure_ascii=False) for e in entries)
    path.write_text('{\n  "clients": [\n' + lines + "\n  ]\n}\n", encoding="utf-8")
    return path


def median_seconds(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bare_parse(path: Path) -> list[DirectoryClient]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return TypeAdapter(list[DirectoryClient]).validate_python(data["clients"])


class LinearScan:
    """The directory as it was: every entry a model in a list, a scan by birth date per look-up."""

    def __init__(self, path: Path) -> None:
        self.clients = bare_parse(path)

    async def find(self, identity: Identity) -> list[DirectoryClient]:
        return [c for c in self.clients if c.geboortedatum == identity.geboortedatum]


def lookup_us(directory, wanted: list[Identity], rounds: int) -> float:
    async def run() -> float:
        for identity in wanted[:50]:  # warm
            matches(identity, await directory.find(identity))
        started = time.perf_counter()
        for i in range(rounds):
            identity = wanted[i % len(wanted)]
            found = matches(identity, await directory.find(identity))
            assert found, "a look-up of a client in the file found nothing"
        return (time.perf_counter() - started) / rounds * 1e6

    return asyncio.run(run())


def identities(entries: list[dict[str, object]], count: int) -> list[Identity]:
    rng = random.Random(5)
    picked = rng.sample(entries, min(count, len(entries)))
    # the name's words reversed, upper-cased: what the index must see through
    return [Identity(naam=" ".join(reversed(str(e["naam"]).split())).upper(),
                     geboortedatum=date.fromisoformat(str(e["geboortedatum"]))) for e in picked]


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def measure_rss(path: Path) -> None:
    """Child process: the resident set before and after loading ``path``, as JSON on stdout."""
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    gc.collect()
    gc_before = time.perf_counter() - started
    tracked_before = len(gc.get_objects())
    directory = FileDirectory(path)
    gc.collect()
    after = rss_bytes()
    started = time.perf_counter()
    gc.collect()  # a full collection, as any request may trigger: does it walk the 100k entries?
    gc_after = time.perf_counter() - started
    with open("/proc/self/status") as status:  # VmHWM: this process's own peak (ru_maxrss survives exec)
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"before": before, "after": after, "peak": peak, "clients": len(directory),
                      "gc_before": gc_before, "gc_after": gc_after, "tracked_before": tracked_before,
                      "tracked": len(gc.get_objects())}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--rss", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss:
        measure_rss(args.rss)
        return
    with tempfile.TemporaryDirectory(prefix="bench-directory-") as tmp:
        big_entries = clients(args.clients)
        small_entries = big_entries[:1_000]
        empty, small, big = (write(Path(tmp) / f"{name}.json", e) for name, e in
                             (("empty", []), ("small", small_entries), ("big", big_entries)))
        size = big.stat().st_size
        print(f"file: {args.clients:,} clients, {size / 1e6:.1f} MB", file=sys.stderr)

        load_empty = median_seconds(lambda: FileDirectory(empty), 21)
        parses, loads = [], []
        for _ in range(3):  # interleaved, so that a busy moment on the machine hits both
            parses.append(median_seconds(lambda: bare_parse(big), 1))
            loads.append(median_seconds(lambda: FileDirectory(big), 1))
        parse_big, load_big = statistics.median(parses), statistics.median(loads)
        load_ratio = load_big / (load_empty + parse_big)

        small_dir, big_dir = FileDirectory(small), FileDirectory(big)
        small_ids, big_ids = identities(small_entries, 500), identities(big_entries, 500)
        small_runs, big_runs = [], []
        for _ in range(5):  # interleaved rounds of 4,000 look-ups; the median round counts
            small_runs.append(lookup_us(small_dir, small_ids, 4_000))
            big_runs.append(lookup_us(big_dir, big_ids, 4_000))
        small_us, big_us = statistics.median(small_runs), statistics.median(big_runs)
        scan_us = lookup_us(LinearScan(big), big_ids, 200)

        child = subprocess.run([sys.executable, "-m", "bench.directory", "--rss", str(big)], env=child_env(),
                               capture_output=True, text=True, check=True, timeout=600)
        rss = json.loads(child.stdout)
        gained = rss["after"] - rss["before"]

    rows = [
        ("load 100k / (load empty + parse 100k)", f"{load_ratio:.2f}", "≤ 1.5",
         f"{load_big * 1e3:.0f} ms vs {load_empty * 1e3:.2f} + {parse_big * 1e3:.0f} ms"),
        ("look-up at 1k", f"{small_us:.1f} µs", "", ""),
        ("look-up at 100k", f"{big_us:.1f} µs", "≤ 1000 µs",
         f"{big_us / small_us:.2f}× the 1k look-up; old linear scan {scan_us:.0f} µs ({scan_us / big_us:.0f}×)"),
        ("RSS gained by loading 100k / file size", f"{gained / size:.2f}", "≤ 2",
         f"{gained / 1e6:.1f} MB for a {size / 1e6:.1f} MB file; peak RSS {rss['peak'] / 1e6:.0f} MB"),
        ("objects a full GC walks, 100k loaded / before", f"{rss['tracked'] / rss['tracked_before']:.2f}", "",
         f"{rss['tracked']:,} vs {rss['tracked_before']:,}; one full GC {rss['gc_after'] * 1e3:.0f} ms vs "
         f"{rss['gc_before'] * 1e3:.0f} ms (noisy on a busy machine)"),
    ]
    print("| measure | value | target | detail |\n| --- | ---: | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
