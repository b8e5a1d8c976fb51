"""The results as markdown: load table with ratios, targets met or missed, sweep, memory, cold start."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Results = dict[str, Any]


def _ms(seconds: float) -> str:
    return "–" if math.isnan(seconds) else f"{seconds * 1000:.1f}" if seconds < 1 else f"{seconds * 1000:.0f}"


def _ratio(a: float, b: float) -> str:
    return "–" if not b or math.isnan(a) or math.isnan(b) else f"{a / b:.2f}"


def load_row(results: Results, target: str, scenario: str, users: int) -> dict[str, Any] | None:
    return next((r for r in results["load"] if (r["target"], r["scenario"], r["users"]) == (target, scenario, users)),
                None)


@dataclass(frozen=True)
class Target:
    name: str
    limit: str
    measured: str
    met: bool | None  # None: not measured in this run, or made meaningless by errors


def targets(results: Results) -> list[Target]:
    found: list[Target] = []

    def from_rows(name: str, limit: str, rows: list[dict[str, Any] | None], value: Callable[..., float], shape: str,
                  ok: Callable[[float], bool]) -> None:
        if None in rows:
            return
        errors = sum(r["errors"] for r in rows if r)
        if errors:
            found.append(Target(name, limit, f"invalid: {errors} errors", None))
            return
        measured = value(*rows)
        found.append(Target(name, limit, shape.format(measured), ok(measured)))

    def row(target: str, scenario: str, users: int) -> dict[str, Any] | None:
        return load_row(results, target, scenario, users)

    from_rows("message: bot p50 ÷ echo p50, 1 user", "≤ 0.35", [row("bot", "message", 1), row("echo", "message", 1)],
              lambda bot, echo: bot["p50"] / echo["p50"], "{:.2f}", lambda r: r <= 0.35)
    from_rows("message: bot req/s ÷ echo req/s, 32 users", "≥ 3",
              [row("bot", "message", 32), row("echo", "message", 32)],
              lambda bot, echo: bot["rps"] / echo["rps"], "{:.2f}", lambda r: r >= 3)
    from_rows("verstuur: bot p99, 1 user", "≤ 50 ms", [row("bot", "verstuur", 1)],
              lambda bot: bot["p99"] * 1000, "{:.1f} ms", lambda ms: ms <= 50)
    # Issue 16's targets for the host on the Agents SDK (on the botbuilder host if the run had no other).
    agents = "bot-agents" if row("bot-agents", "message", 1) else "bot"
    host = "Agents" if agents == "bot-agents" else f"{results.get('host', 'botbuilder')} (no Agents host in this run)"
    from_rows(f"verstuur: bot p50 ÷ floor verstuur p50, 1 user ({host} host)", "≤ 2",
              [row(agents, "verstuur", 1), row("floor", "verstuur", 1)],
              lambda bot, floor: bot["p50"] / floor["p50"], "{:.2f}", lambda r: r <= 2)
    from_rows(f"message: bot p50 ÷ Agents SDK echo p50, 1 user ({host} host)", "≤ 1.0",
              [row(agents, "message", 1), row("agents", "message", 1)],
              lambda bot, peer: bot["p50"] / peer["p50"], "{:.2f}", lambda r: r <= 1.0)
    from_rows(f"message: bot req/s ÷ Agents SDK echo req/s, 32 users ({host} host)",
              "≥ 1.0", [row(agents, "message", 32), row("agents", "message", 32)],
              lambda bot, peer: bot["rps"] / peer["rps"], "{:.2f}", lambda r: r >= 1.0)

    name = "sweep: 100k pending/1k due ÷ 1k pending/10 due"
    sweeps = {s["pending"]: s for s in results["sweep"] if s.get("store", "sqlite") == "sqlite"}
    if 1_000 in sweeps and 100_000 in sweeps:
        r = sweep_stats(sweeps[100_000], "1% due")["seconds"] / sweep_stats(sweeps[1_000], "1% due")["seconds"]
        found.append(Target(name, "≤ 10×", f"{r:.1f}×", r <= 10))
    else:
        found.append(Target(name, "≤ 10×", "not measured (quick run)", None))

    name = "bot server RSS, 100k pending"
    memory = {m["pending"]: m for m in results["memory"]}
    if big := memory.get(100_000):
        found.append(Target(name, "≤ 150 MB", f"{big['rss_mb']:.0f} MB", big["rss_mb"] <= 150))
    else:
        most = memory[max(memory)]
        found.append(Target(name, "≤ 150 MB", f"not measured (quick run; {most['rss_mb']:.0f} MB with "
                                              f"{most['pending']:,})", None))

    cold = results["cold_start"]["median"]
    found.append(Target("cold start to first 200 on /healthz, median", "≤ 1.5 s", f"{cold:.2f} s", cold <= 1.5))
    return found


PEER_ORDER = ("raw", "floor", "agents", "agents-app", "teams", "echo", "bot", "bot-agents")
NAMES = {"raw": "bare aiohttp handler",
         "floor": "floor: aiohttp + parse + one seal + one SQLite transaction + connector POST",
         "echo": "stock botbuilder echo", "bot": "this bot, botbuilder host", "bot-agents": "this bot, Agents host"}


def peers_section(results: Results) -> list[str]:
    """Every server answering ``message`` side by side, and ``verstuur`` against its floor."""
    names = {**NAMES, **results.get("peers", {})}
    lines = [
        "",
        "## Peers: the same `message` activity answered by every server",
        "",
        "The SDK peers are each SDK's own echo bot, in its own virtualenv (`bench/peers/`), anonymous, replying",
        "through the SDK's own connector client to the same loopback connector. *CPU*: the server process's",
        "CPU time per request (user + system, warm-up included). Ratios: this row's figure ÷ the Agents SDK",
        "echo's (`ActivityHandler`) and ÷ the stock botbuilder echo's, at the same number of users.",
        "*This bot* runs on each of its Teams hosts (`BOT_HOST`) the run had.",
        "",
        "| target | users | p50 / p99 (ms) | req/s | CPU ms/req | ÷ Agents echo p50 · req/s "
        "| ÷ stock echo p50 · req/s | errors | others |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def ratio(a: dict[str, Any], b: dict[str, Any] | None) -> str:
        return f"{_ratio(a['p50'], b['p50'])} · {_ratio(a['rps'], b['rps'])}" if b else "–"

    def line(label: str, r: dict[str, Any], agents: dict[str, Any] | None, echo: dict[str, Any] | None) -> str:
        cpu = r.get("cpu_ms", math.nan)
        return (f"| {label} | {r['users']} | {_ms(r['p50'])} / {_ms(r['p99'])} | {r['rps']:.0f} "
                f"| {'–' if math.isnan(cpu) else f'{cpu:.2f}'} | {ratio(r, agents)} | {ratio(r, echo)} "
                f"| {r['errors']} | {r['others_cpu']:.0%} |")

    for users in sorted({r["users"] for r in results["load"]}):
        agents = load_row(results, "agents", "message", users)
        echo = load_row(results, "echo", "message", users)
        for target in PEER_ORDER:
            if r := load_row(results, target, "message", users):
                lines.append(line(names.get(target, target), r, agents, echo))
    all_users = sorted({r["users"] for r in results["load"]})
    if any(load_row(results, "floor", "verstuur", u) for u in all_users):
        lines += ["", "`verstuur` (two connector calls, one seal, one transaction) against the floor doing the same:",
                  "", "| target | users | p50 / p99 (ms) | req/s | CPU ms/req | bot ÷ floor p50 · req/s | errors |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for users in all_users:
            floor = load_row(results, "floor", "verstuur", users)
            for target in ("floor", "bot", "bot-agents"):
                if r := load_row(results, target, "verstuur", users):
                    cpu = r.get("cpu_ms", math.nan)
                    vs = ratio(r, floor) if target != "floor" else "–"
                    lines.append(f"| {names.get(target, target)}, `verstuur` | {users} | {_ms(r['p50'])} / "
                                 f"{_ms(r['p99'])} | {r['rps']:.0f} | {'–' if math.isnan(cpu) else f'{cpu:.2f}'} "
                                 f"| {vs} | {r['errors']} |")
    for name, why in results.get("peers_missing", {}).items():
        lines.append(f"\n*{names.get(name, name)} not measured*: {why}")
    return lines


def sweep_stats(entry: dict[str, Any], label: str) -> dict[str, float]:
    """The median, fastest and slowest of one pending size's repeated sweeps of one kind."""
    runs = [s for s in entry["sweeps"] if s["label"] == label]
    seconds = [s["seconds"] for s in runs]
    cpu = [s["cpu_seconds"] for s in runs if "cpu_seconds" in s]
    return {"due": runs[0]["due"], "seconds": statistics.median(seconds), "min": min(seconds), "max": max(seconds),
            "runs": len(runs), "cpu_seconds": statistics.median(cpu) if cpu else math.nan}


def render(results: Results) -> str:
    m = results["machine"]
    profiled = "profile" in results
    lines = [
        f"# Benchmark {m['date']} on {m['machine_id']} ({results['mode']} run{', profiled' if profiled else ''})",
        "",
        *(["**The bot ran under cProfile: its request figures are slower than without, and not comparable.**",
           ""] if profiled else []),
        f"- machine: {m['cores']} cores ({m['cpu']}), {m['platform']}",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- code: {m['commit']}",
        f"- load: at most {results['plan']['requests']} measured requests and {results['plan']['seconds']:.0f} s per "
        "row, after a warm-up; latency is client-side, loopback, per request (`time.perf_counter`)"
        + (f"; the `message` rows in {results['plan']['rounds']} rounds, each in a shuffled order, their medians"
           if results["plan"].get("rounds", 1) > 1 else ""),
        f"- took {results['took_seconds']:.0f} s; other processes used {results['others_cpu']:.0%} of the machine "
        f"meanwhile (1-minute load average {results['loadavg_before']:.1f} at the start). A busy machine skews "
        "every figure, ratios too: their two sides are measured one after the other, so a disturbance may hit one "
        "side only",
        "",
        "## Targets",
        "",
        "| target | measured | limit | |",
        "| --- | --- | --- | --- |",
    ]
    for t in targets(results):
        verdict = "met" if t.met else "missed" if t.met is False else "n/a"
        lines.append(f"| {t.name} | {t.measured} | {t.limit} | {verdict} |")
    lines += [
        "",
        "## Requests",
        "",
        "p50 / p99 in ms; req/s is all users together. Echo and raw answer the `message` activity;",
        "for the other scenarios the bot/echo ratio compares against that same echo `message` row",
        "(echo has no cards). A ratio below 1 means the bot is faster (latency) or slower (req/s).",
        "*others*: the largest share of the machine's CPU that other programs took during this row's",
        "measurements (raw, echo or bot); above a few percent, the row is disturbed.",
        "",
        "| scenario | users | n | bot p50 / p99 | bot req/s | echo p50 / p99 | echo req/s | raw p50 / p99 | raw req/s"
        " | bot/echo p50 · p99 · req/s | echo/raw p50 · p99 · req/s | errors | others |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in (r for r in results["load"] if r["target"] == "bot"):
        echo = load_row(results, "echo", "message", row["users"])
        raw = load_row(results, "raw", "message", row["users"])

        def cells(r: dict[str, Any] | None) -> list[str]:
            return [f"{_ms(r['p50'])} / {_ms(r['p99'])}", f"{r['rps']:.0f}"] if r else ["–", "–"]

        def ratios(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
            if not a or not b:
                return "–"
            return f"{_ratio(a['p50'], b['p50'])} · {_ratio(a['p99'], b['p99'])} · {_ratio(a['rps'], b['rps'])}"

        errors = sum(r["errors"] for r in (row, echo, raw) if r)
        others = max(r["others_cpu"] for r in (row, echo, raw) if r)
        lines.append(" | ".join([f"| {row['scenario']}", str(row["users"]), str(row["n"]), *cells(row), *cells(echo),
                                 *cells(raw), ratios(row, echo), ratios(echo, raw), str(errors), f"{others:.0%} |"]))
    lines += peers_section(results)
    failed = [r for r in results["load"] if r["errors"]]
    for r in failed:
        lines.append(f"\n**{r['target']} {r['scenario']} ×{r['users']}: {r['errors']} errors**, first: "
                     f"`{(r['first_error'] or '')[:200]}`")
    lines += [
        "",
        "## Sweep (in-process `Terugkoppeling.sweep()`, each due handoff gets one reminder)",
        "",
        "The median of each kind's repeats (each on handoffs of its own), the fastest and slowest beside it.",
        "*CPU per due*: the sweep process's CPU time (all its threads; the in-process connector stand-in",
        "included, so an upper bound on the bot's own) ÷ the due handoffs (issue 16: ≤ 1 ms on SQLite).",
        "",
        "| store | pending | due | sweep (ms) | fastest–slowest (ms) | per due handoff (ms) | CPU per due (ms) "
        "| fill (s) | db (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in results["sweep"]:
        for label in ("10 due", "1% due"):
            s = sweep_stats(entry, label)
            store = entry.get("store", "sqlite")
            size = f"{entry['db_mb']:.0f}" if store == "sqlite" else "—"
            lines.append(f"| {store} | {entry['pending']:,} | {s['due']:,} | {_ms(s['seconds'])} "
                         f"| {_ms(s['min'])}–{_ms(s['max'])} | {_ms(s['seconds'] / s['due'])} "
                         f"| {_ms(s['cpu_seconds'] / s['due'])} | {entry['fill_seconds']:.1f} | {size} |")
    lines += [
        "",
        "## Memory (bot server, `/proc/<pid>/status` after the same warm-up traffic)",
        "",
        "| pending handoffs in its database | VmRSS (MB) | VmHWM (MB) |",
        "| ---: | ---: | ---: |",
    ]
    for entry in results["memory"]:
        lines.append(f"| {entry['pending']:,} | {entry['rss_mb']:.0f} | {entry['hwm_mb']:.0f} |")
    if after := results.get("rss_after_load"):
        lines.append(f"\nThe load-test bot server after all request rows: VmRSS {after['rss_mb']:.0f} MB, "
                     f"VmHWM {after['hwm_mb']:.0f} MB.")
    cold = results["cold_start"]
    runs = ", ".join(f"{s:.2f}" for s in cold["runs"])
    lines += [
        "",
        "## Cold start (`python -m bot` spawned → first 200 on `/healthz`)",
        "",
        f"Median {cold['median']:.2f} s of {len(cold['runs'])} runs ({runs} s), each on a new empty database, "
        "after one discarded run that warms the file and bytecode caches.",
        "",
    ]
    for extra in results.get("extras", []):
        lines += [f"## `python -m bench.{extra['name']}`", ""]
        lines += [f"Failed: {extra['error']}", ""] if extra["error"] else [extra["markdown"], ""]
    if profiled:
        lines += ["## Profile (the load-test bot server, by time spent in the function itself)", "", "```",
                  results["profile"], "```", ""]
    return "\n".join(lines)
