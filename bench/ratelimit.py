"""``python -m bench.ratelimit [--sends N]``: the rate limiter against a connector that enforces Teams' limits.

- **rate**: ``N`` sends (1,000 by default) over 3 tenants and 300 conversations (as reminders to
  recipients who have several handoffs each), all started at once, each through
  ``RateLimiter.slot`` and a POST on one keep-alive aiohttp session to ``FakeConnector`` with
  ``enforce_rate_limits()`` (50/s per tenant, 7/s and 60/30 s per conversation, counted on arrival).
  Each tenant's rate is its sends ÷ the time between its first and last arrival, against the 50/s
  Teams allows. Target: ≥ 90 % of it, with 0 × 429.
- **cost**: the limiter's own CPU per slot, with limits that never make it wait (10,000 slots).

Prints a markdown table (``python -m bench`` appends it to its report).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import defaultdict
from urllib.parse import quote

from aiohttp import ClientSession, ClientTimeout, TCPConnector

from bot.adapters.ratelimit import Limit, RateLimiter
from tests.support.connector import FakeConnector

TENANTS = ("tenant-a", "tenant-b", "tenant-c")
TEAMS_TENANT_RATE = 50.0


async def sends(count: int) -> tuple[dict[str, float], int, float]:
    """(rate per tenant, 429s, seconds for all) for ``count`` sends through the limiter."""
    rng = random.Random(16)
    calls = [(t := rng.choice(TENANTS), f"a:1{t}-{rng.randrange(100)}") for _ in range(count)]
    limiter = RateLimiter()
    async with FakeConnector() as connector, ClientSession(
            connector=TCPConnector(limit=200), timeout=ClientTimeout(total=10)) as session:
        throttle = connector.enforce_rate_limits()

        async def send(n: int, tenant: str, conversation: str) -> None:
            url = f"{connector.url}v3/conversations/{quote(conversation, safe='')}/activities"
            body = {"type": "message", "text": f"herinnering {n}", "conversation": {"id": conversation,
                                                                                  "tenantId": tenant}}
            async with limiter.slot(tenant, conversation), session.post(url, json=body) as response:
                await response.read()

        began = time.perf_counter()
        await asyncio.gather(*(send(n, t, c) for n, (t, c) in enumerate(calls)))
        took = time.perf_counter() - began
        arrivals: dict[str, list[float]] = defaultdict(list)
        for call in connector.calls:
            arrivals[call.body["conversation"]["tenantId"]].append(call.time)
    rates = {t: (len(a) - 1) / (max(a) - min(a)) for t, a in sorted(arrivals.items())}
    return rates, throttle.throttled, took


async def cost(slots: int = 10_000) -> float:
    """Seconds of CPU per slot, with limits that never bind."""
    limiter = RateLimiter(tenant_limits=(Limit(10**9, 1.0),), conversation_limits=(Limit(10**9, 1.0),))
    began = time.process_time()
    for n in range(slots):
        async with limiter.slot(TENANTS[n % 3], f"c{n % 300}"):
            pass
    return (time.process_time() - began) / slots


async def run(count: int) -> str:
    rates, throttled, took = await sends(count)
    per_slot = await cost()
    worst = min(rates.values()) / TEAMS_TENANT_RATE
    rows = [
        ("sends", f"{count:,} over {len(TENANTS)} tenants, 300 conversations", "", f"all done in {took:.1f} s"),
        ("slowest tenant's rate ÷ 50/s", f"{worst:.2f}", "≥ 0.90",
         ", ".join(f"{t}: {r:.1f}/s" for t, r in rates.items())),
        ("429 answers", str(throttled), "0",
         "from the stand-in enforcing 50/s per tenant, 7/s and 60/30 s per conversation"),
        ("limiter CPU per slot", f"{per_slot * 1e6:.1f} µs", "", "limits that never bind; 10,000 slots"),
    ]
    lines = ["| measure | value | target | detail |", "| --- | ---: | --- | --- |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ratelimit", description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=1_000)
    args = parser.parse_args()
    print(asyncio.run(run(args.sends)))


if __name__ == "__main__":
    main()
