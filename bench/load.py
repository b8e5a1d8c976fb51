"""The load generator: concurrent users posting activities over loopback, timing each request."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession

Check = Callable[[int, Any], bool]  # (HTTP status, parsed body or None) → the answer we expected?


@dataclass
class Result:
    """One phase: every measured request's latency (seconds), the phase's wall time, the requests not
    answered as expected, and each well-answered request's activity and parsed answer (warm-up
    included in both), to feed the next phase."""

    latencies: list[float] = field(default_factory=list)
    answers: list[tuple[dict[str, Any], Any]] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0
    first_error: str | None = None

    @property
    def count(self) -> int:
        return len(self.latencies)

    def quantile(self, q: float) -> float:
        """Nearest-rank quantile, in seconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan

    @property
    def p50(self) -> float:
        return self.quantile(0.50)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)

    @property
    def throughput(self) -> float:
        """Answered requests per second of wall time, all users together."""
        return self.count / self.elapsed if self.elapsed else math.nan


async def post(session: ClientSession, url: str, activity: dict[str, Any]) -> tuple[int, Any]:
    """One untimed request (for preparing state): status and parsed JSON body (or None)."""
    async with session.post(url, data=json.dumps(activity), headers={"Content-Type": "application/json"}) as r:
        raw = await r.read()
    return r.status, json.loads(raw) if raw and r.content_type == "application/json" else None


async def drive(session: ClientSession, url: str, queues: Sequence[list[dict[str, Any]]], check: Check, *,
                warmup: int, count: int, seconds: float) -> Result:
    """Each queue is one user's activities, sent one after another; users run concurrently.

    Each user first sends ``warmup`` requests (not measured); then all users together send at most
    ``count`` measured requests, and start none after ``seconds``. A request is timed from just
    before sending its (already serialised) body until its answer is read in full.
    """
    result = Result()
    bodies = [[(a, json.dumps(a).encode()) for a in queue] for queue in queues]
    headers = {"Content-Type": "application/json"}
    issued = 0
    deadline = math.inf

    async def send(activity: dict[str, Any], body: bytes, measured: bool) -> None:
        began = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=headers) as response:
                raw = await response.read()
        except (ClientError, TimeoutError) as error:  # e.g. the server went away: an error, not a latency
            result.errors += 1
            result.first_error = result.first_error or repr(error)
            return
        took = time.perf_counter() - began
        if measured:
            result.latencies.append(took)
        payload = json.loads(raw) if raw and response.content_type == "application/json" else None
        if not check(response.status, payload):
            result.errors += 1
            result.first_error = result.first_error or f"{response.status} {raw[:300]!r}"
        else:
            result.answers.append((activity, payload))

    async def user(mine: list[tuple[dict[str, Any], bytes]], measured: bool) -> None:
        nonlocal issued
        while mine:
            if measured and (issued >= count or time.perf_counter() >= deadline):
                return
            issued += measured
            await send(*mine.pop(0), measured)

    await asyncio.gather(*(user(queue[:warmup], False) for queue in bodies))
    began = time.perf_counter()
    deadline = began + seconds
    await asyncio.gather(*(user(queue[warmup:], True) for queue in bodies))
    result.elapsed = time.perf_counter() - began
    return result
