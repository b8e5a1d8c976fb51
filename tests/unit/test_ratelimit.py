"""Teams' rate limits kept before the call: windows per tenant and per conversation, in virtual time."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from bot.adapters.ratelimit import (
    RETRYABLE_STATUSES,
    Limit,
    RateLimiter,
    parse_retry_after,
    retry_delay,
    should_retry,
)


class VirtualTime:
    """A clock that jumps to the next sleeper's wake-up once every runnable task has run."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._seq), future))
        await future

    async def run(self, *calls: Awaitable[Any]) -> list[Any]:
        tasks = [asyncio.ensure_future(c) for c in calls]
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0)
            while loop._ready:  # type: ignore[attr-defined]  # every task that can go on has done so
                await asyncio.sleep(0)
            if all(t.done() for t in tasks):
                return [t.result() for t in tasks]
            while self._sleepers and self._sleepers[0][2].done():  # cancelled sleeps
                heapq.heappop(self._sleepers)
            assert self._sleepers, "tasks are stuck without sleeping"
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            future.set_result(None)


@pytest.fixture
def time_() -> VirtualTime:
    return VirtualTime()


def limiter(time_: VirtualTime, **options: Any) -> RateLimiter:
    return RateLimiter(clock=time_.clock, sleep=time_.sleep, **{"slack": 0.0, **options})


def most_in_window(times: Sequence[float], seconds: float) -> int:
    """The most calls in any half-open window (t - seconds, t], as the service counts them."""
    ordered = sorted(times)
    return max(sum(1 for u in ordered if t - seconds < u <= t + 1e-9) for t in ordered)


async def granted_at(time_: VirtualTime, rl: RateLimiter, tenant: str, conversation: str | None) -> float:
    await rl.acquire(tenant, conversation)
    return time_.now


BURSTS = (Limit(50, 1.0),)  # the tenant's window without the pacing


async def test_a_tenant_gets_50_calls_a_second_across_its_conversations(time_: VirtualTime) -> None:
    rl = limiter(time_, tenant_limits=BURSTS)
    times = await time_.run(*(granted_at(time_, rl, "t1", f"c{n}") for n in range(120)))
    assert times.count(0.0) == 50 and times.count(1.0) == 50 and times.count(2.0) == 20
    assert most_in_window(times, 1.0) == 50


async def test_a_tenants_calls_are_paced_by_default(time_: VirtualTime) -> None:
    rl = limiter(time_, slack=0.05)
    times = await time_.run(*(granted_at(time_, rl, "t1", f"c{n}") for n in range(201)))
    assert times[:4] == [0.0, 0.0, pytest.approx(0.021), pytest.approx(0.042)]
    assert all(later - earlier >= 0.021 - 1e-9 for earlier, later in zip(times, times[2:], strict=False))
    assert most_in_window(times, 1.0) <= 50
    assert 200 / times[-1] == pytest.approx(50 / 1.05, rel=0.02)  # 95 % of Teams' 50/s


async def test_a_conversation_gets_7_a_second_and_60_in_30_seconds(time_: VirtualTime) -> None:
    rl = limiter(time_, tenant_limits=BURSTS)
    times = await time_.run(*(granted_at(time_, rl, "t1", "c1") for _ in range(61)))
    assert times[:7] == [0.0] * 7 and times[7:14] == [1.0] * 7
    assert most_in_window(times, 1.0) == 7
    assert most_in_window(times, 30.0) == 60
    assert times[60] == 30.0  # the 61st waits for the first to leave the 30-second window


async def test_the_hourly_limit_of_a_conversation(time_: VirtualTime) -> None:
    rl = limiter(time_, conversation_limits=(Limit(1_800, 3_600.0),))
    times = await time_.run(*(granted_at(time_, rl, "t1", "c1") for _ in range(1_801)))
    assert times[1_799] < 60 and times[1_800] == 3_600.0  # (the tenant's pace: 50 a second)


async def test_one_conversation_is_served_in_order(time_: VirtualTime) -> None:
    rl = limiter(time_)
    order: list[int] = []

    async def call(n: int) -> None:
        await rl.acquire("t1", "c1")
        order.append(n)

    await time_.run(*(call(n) for n in range(30)))
    assert order == list(range(30))


async def test_a_busy_conversation_does_not_hold_up_the_others(time_: VirtualTime) -> None:
    rl = limiter(time_, tenant_limits=BURSTS)
    busy = [granted_at(time_, rl, "t1", "busy") for _ in range(20)]
    times = await time_.run(*busy, granted_at(time_, rl, "t1", "quiet"))
    assert times[-1] == 0.0
    assert max(times[:-1]) == 2.0
    paced = limiter(time_)
    start = time_.now
    busy = [granted_at(time_, paced, "t1", "busy") for _ in range(20)]
    times = await time_.run(*busy, granted_at(time_, paced, "t1", "quiet"))
    assert times[-1] - start <= 0.05  # behind at most a couple of the tenant's paced slots


async def test_tenants_do_not_share_windows(time_: VirtualTime) -> None:
    rl = limiter(time_, tenant_limits=BURSTS)
    times = await time_.run(*(granted_at(time_, rl, tenant, f"c{n}") for tenant in ("a", "b", "c") for n in range(50)))
    assert times == [0.0] * 150


async def test_slack_lengthens_every_window(time_: VirtualTime) -> None:
    rl = limiter(time_, slack=0.05, tenant_limits=BURSTS)
    times = await time_.run(*(granted_at(time_, rl, "t1", f"c{n}") for n in range(51)))
    assert times[50] == pytest.approx(1.05)
    times = await time_.run(*(granted_at(time_, rl, "t1", "c0") for _ in range(8)))
    assert times[:7] == [pytest.approx(1.05)] * 7  # c0's call at 0 has just left its window
    assert times[7] == pytest.approx(2.10)


async def test_calls_spread_over_time_never_wait(time_: VirtualTime) -> None:
    rl = limiter(time_)

    async def paced() -> list[float]:
        waits = []
        for _ in range(20):
            waits.append(await rl.acquire("t1", "c1"))
            await time_.sleep(0.2)  # 5 a second: under 7/s
        return waits

    (waits,) = await time_.run(paced())
    assert waits == [0.0] * 20


async def test_slot_as_a_context_manager_says_how_long_it_waited(time_: VirtualTime) -> None:
    rl = limiter(time_, conversation_limits=(Limit(1, 0.5),))
    seen: list[float] = []

    async def call() -> None:
        async with rl.slot("t1", "c1") as waited:
            seen.append(waited)

    await time_.run(call(), call(), call())
    assert seen == [0.0, 0.5, 1.0]
    assert rl.waited == pytest.approx(1.5)


async def test_a_cancelled_wait_leaves_the_windows_sound(time_: VirtualTime) -> None:
    rl = limiter(time_, tenant_limits=BURSTS)
    await time_.run(*(granted_at(time_, rl, "t1", f"c{n}") for n in range(50)))
    waiting = asyncio.ensure_future(rl.acquire("t1", "late"))
    await asyncio.sleep(0)
    waiting.cancel()
    times = await time_.run(*(granted_at(time_, rl, "t1", f"d{n}") for n in range(50)))
    assert min(times) == 1.0
    assert most_in_window([0.0] * 50 + times, 1.0) == 50  # the cancelled wait took no slot


async def test_idle_conversations_and_tenants_are_forgotten(time_: VirtualTime) -> None:
    rl = limiter(time_)
    await time_.run(*(granted_at(time_, rl, f"t{n % 3}", f"c{n}") for n in range(999)))
    assert rl.tracked() == (3, 999)
    time_.now += 3_601
    await time_.run(granted_at(time_, rl, "t9", "fresh"))  # the 1,000th call cleans up
    assert rl.tracked() == (1, 1)


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError):
        Limit(0, 1.0)
    with pytest.raises(ValueError):
        Limit(5, 0)
    with pytest.raises(ValueError):
        RateLimiter(slack=-1)


# -- retries ---------------------------------------------------------------------------------------


def test_backoff_doubles_with_equal_jitter_and_a_cap() -> None:
    assert retry_delay(1, jitter=0.0) == 0.25
    assert retry_delay(1, jitter=0.5) == 0.375
    assert retry_delay(3, jitter=0.0) == 1.0
    assert retry_delay(3, jitter=0.999) == pytest.approx(2.0, abs=0.01)
    assert retry_delay(40, jitter=0.999) <= 30.0
    assert retry_delay(10_000, jitter=0.0) == 15.0
    assert 0.25 <= retry_delay(1) < 0.5  # random jitter stays within the bounds


def test_retry_after_in_seconds_is_honoured_with_a_little_spread() -> None:
    assert retry_delay(1, "3", jitter=0.0) == 3.0
    assert retry_delay(5, "3", jitter=0.999) == pytest.approx(3.3, abs=0.01)
    assert retry_delay(1, "0.5", jitter=0.0) == 0.5
    assert retry_delay(1, "0", jitter=0.0) == 0.0
    assert retry_delay(1, "86400", jitter=0.0) == 120.0  # an absurd wait is capped


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert retry_delay(1, header, jitter=0.0, now=now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("header", [None, "", "  ", "soon", "nan", "inf", "-"])
def test_an_unreadable_retry_after_falls_back_to_backoff(header: str | None) -> None:
    assert retry_delay(2, header, jitter=0.0) == 0.5


def test_which_answers_are_retried() -> None:
    assert RETRYABLE_STATUSES == {412, 429, 502, 504}
    assert should_retry(429, 1) and should_retry(412, 2) and should_retry(502, 3) and should_retry(504, 4)
    assert not should_retry(429, 5)
    assert not any(should_retry(status, 1) for status in (200, 400, 403, 404, 500, 503))
    with pytest.raises(ValueError):
        retry_delay(0)
    with pytest.raises(ValueError):
        retry_delay(1, jitter=1.0)


async def test_a_call_counts_until_a_window_after_it_ended(time_: VirtualTime) -> None:
    """However late a slow call reached the service, the next one cannot share a window with it."""
    rl = limiter(time_, tenant_limits=(Limit(2, 1.0),), conversation_limits=())

    async def call(conversation: str, takes: float) -> tuple[float, float]:
        async with rl.slot("t1", conversation):
            began = time_.now
            await time_.sleep(takes)
        return began, time_.now

    slow = [call(f"c{n}", 5.0) for n in range(2)]
    (_, ended), _, (third, _) = await time_.run(*slow[:1], *slow[1:], call("c2", 0.0))
    assert ended == 5.0
    assert third == 6.0  # both slots were in flight; one ended at 5, its window runs to 6


async def test_slot_serves_one_call_per_conversation_at_a_time(time_: VirtualTime) -> None:
    rl = limiter(time_)
    inside = 0
    most = 0

    async def call() -> None:
        nonlocal inside, most
        async with rl.slot("t1", "c1"):
            inside += 1
            most = max(most, inside)
            await time_.sleep(0.01)
            inside -= 1

    await time_.run(*(call() for _ in range(10)))
    assert most == 1


async def test_creating_a_conversation_counts_for_the_tenant_only(time_: VirtualTime) -> None:
    rl = limiter(time_, tenant_limits=BURSTS)
    times = await time_.run(*(granted_at(time_, rl, "t1", None) for _ in range(60)))
    assert times.count(0.0) == 50 and times.count(1.0) == 10
    assert rl.tracked() == (1, 0)
