"""The rate limiter against a connector stand-in that enforces Teams' limits, over real HTTP on loopback.

The stand-in answers 429 to a call over 50/s per tenant or 7/s, 60/30 s per conversation, counted on
arrival. The limiter must keep every call under those limits (0 × 429) while sending close to the
rate they allow (≥ 90 %).
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from aiohttp import ClientSession, ClientTimeout, TCPConnector

from bot.adapters.ratelimit import Limit, RateLimiter, retry_delay, should_retry
from tests.support.connector import FakeConnector

TENANTS = ("tenant-a", "tenant-b", "tenant-c")


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as running:
        running.enforce_rate_limits()
        yield running


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    async with ClientSession(connector=TCPConnector(limit=200), timeout=ClientTimeout(total=10)) as client:
        yield client


async def post(session: ClientSession, connector: FakeConnector, tenant: str, conversation: str, n: int) -> int:
    url = f"{connector.url}v3/conversations/{quote(conversation, safe='')}/activities"
    body = {"type": "message", "text": f"herinnering {n}", "conversation": {"id": conversation, "tenantId": tenant}}
    async with session.post(url, json=body) as response:
        await response.read()
        return response.status


def sends(tenants: tuple[str, ...], conversations: int, each: int) -> list[tuple[str, str]]:
    """(tenant, conversation) per call, shuffled as a sweep finds them."""
    calls = [(t, f"a:1{t}-{c}") for t in tenants for c in range(conversations) for _ in range(each)]
    random.Random(16).shuffle(calls)
    return calls


def rate(times: list[float]) -> float:
    """Calls per second between the first arrival and the last."""
    ordered = sorted(times)
    return (len(ordered) - 1) / (ordered[-1] - ordered[0])


def arrivals(connector: FakeConnector, by: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for call in connector.calls:
        key = call.body["conversation"]["tenantId"] if by == "tenant" else call.conversation_id
        found[str(key)].append(call.time)
    return found


async def test_300_sends_over_3_tenants_at_the_tenant_rate_without_a_429(
    connector: FakeConnector, session: ClientSession
) -> None:
    limiter = RateLimiter()

    async def send(tenant: str, conversation: str, n: int) -> int:
        async with limiter.slot(tenant, conversation):
            return await post(session, connector, tenant, conversation, n)

    statuses = await asyncio.gather(*(send(t, c, n) for n, (t, c) in enumerate(sends(TENANTS, 25, 4))))
    assert statuses == [201] * 300
    assert connector.throttle is not None and connector.throttle.throttled == 0
    per_tenant = arrivals(connector, "tenant")
    assert sorted(per_tenant) == sorted(TENANTS)
    for times in per_tenant.values():
        assert len(times) == 100
        assert rate(times) >= 0.9 * 50, f"{rate(times):.1f}/s is under 90 % of 50/s"


async def test_a_conversations_limit_binds_before_the_tenants(connector: FakeConnector, session: ClientSession) -> None:
    limiter = RateLimiter()

    async def send(tenant: str, conversation: str, n: int) -> int:
        async with limiter.slot(tenant, conversation):
            return await post(session, connector, tenant, conversation, n)

    statuses = await asyncio.gather(*(send(t, c, n) for n, (t, c) in enumerate(sends(TENANTS[:1], 3, 15))))
    assert statuses == [201] * 45
    assert connector.throttle is not None and connector.throttle.throttled == 0
    for times in arrivals(connector, "conversation").values():
        assert len(times) == 15
        assert rate(times) >= 0.9 * 7, f"{rate(times):.1f}/s is under 90 % of 7/s"


async def test_without_the_limiter_the_stand_in_throttles(connector: FakeConnector, session: ClientSession) -> None:
    calls = sends(TENANTS[:1], 10, 10)
    statuses = await asyncio.gather(*(post(session, connector, t, c, n) for n, (t, c) in enumerate(calls)))
    assert statuses.count(429) >= 40
    assert connector.throttle is not None and connector.throttle.throttled == statuses.count(429)
    assert len(connector.sent()) == statuses.count(201)  # a refused call is not applied
    refused = next(c for c in connector.calls if c.status == 429)
    assert refused.result_id is None


async def test_throttled_calls_come_through_when_retried_after_retry_after(
    connector: FakeConnector, session: ClientSession
) -> None:
    """A limiter set too loose for the service (60/s against 50/s): the 429s it meets are retried
    after the service's ``Retry-After`` and every call lands once."""
    connector.enforce_rate_limits(retry_after=0)  # "0": come back at once (with a little spread)
    limiter = RateLimiter(tenant_limits=(Limit(60, 1.0),), conversation_limits=(), slack=0)
    tries: list[int] = []

    async def send(tenant: str, conversation: str, n: int) -> int:
        attempt = 1
        while True:
            async with limiter.slot(tenant, conversation):
                url = f"{connector.url}v3/conversations/{quote(conversation, safe='')}/activities"
                body = {"type": "message", "text": f"herinnering {n}",
                        "conversation": {"id": conversation, "tenantId": tenant}}
                async with session.post(url, json=body) as response:
                    await response.read()
                    status: int = response.status
                    header = response.headers.get("Retry-After")
            if not should_retry(status, attempt, max_attempts=50):
                tries.append(attempt)
                return status
            await asyncio.sleep(max(retry_delay(attempt, header), 0.05))
            attempt += 1

    statuses = await asyncio.gather(*(send(t, c, n) for n, (t, c) in enumerate(sends(TENANTS[:1], 60, 1))))
    assert statuses == [201] * 60
    assert max(tries) > 1  # some were throttled, and came through
    assert len(connector.sent()) == 60
