"""Teams' rate limits, respected before a call is made instead of discovered by its 429.

Teams throttles a bot's outgoing Bot Connector calls per app per tenant (50 requests/s) and per
conversation (7/s, 60 per 30 s, 1,800 per hour). One :class:`RateLimiter` is shared by every
concurrent send of the process; each call takes a slot first::

    limiter = RateLimiter()  # Teams' limits
    async with limiter.slot(tenant_id, conversation_id):
        await post_the_activity()

Each limit is a sliding window: at most ``count`` calls in any ``seconds``-long stretch, the way
the service counts them on arrival. (A token bucket of the same size would allow twice the count in
a window that straddles a refill.) The limiter cannot see arrivals, only when a call started and
when it ended, and a call arrives in between. So a call counts from its start until ``seconds``
after it *ended* (plus ``slack``, 10 ms by default, for timer granularity): however late it
arrived, the next calls cannot share one of the service's windows with it. Slow calls therefore
lower the rate a little (50 calls per 1.01 s plus one call's round trip). A tenant's calls are
also spread evenly (one per 20 ms, ``Limit.spread``) rather than sent 50 at once: a burst queues
in the client and the server and makes every call in it slow. A conversation's may come in
bursts of 7.

Calls to one conversation go one at a time, in order (Teams wants a conversation's messages sent
one after another anyway). Calls to different conversations wait for each other only through
their tenant's window, which admits them first come, first served among those whose conversation
is ready. Memory is what the windows hold (a tenant's last second of calls, a conversation's last
hour); idle tenants and conversations are forgotten.

:func:`retry_delay` says how long to wait before retrying a throttled or failed call (412, 429,
502, 504): the service's ``Retry-After`` if it sent one, else exponential backoff with jitter.

Host-neutral: no SDK here. The clock and the sleep are injectable (unit tests run in virtual time).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from bisect import bisect_right, insort
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` calls in any ``seconds``-long window; ``spread``: and at a steady pace of
    one per ``(seconds + slack) / count`` (two may start together), instead of bursts of ``count``."""

    count: int
    seconds: float
    spread: bool = False

    def __post_init__(self) -> None:
        if self.count < 1 or self.seconds <= 0:
            raise ValueError("a limit needs count ≥ 1 and seconds > 0")


# Teams: "per bot per tenant" and "per bot per thread" (conversation) limits.
TEAMS_TENANT_LIMITS: tuple[Limit, ...] = (Limit(50, 1.0, spread=True),)
TEAMS_CONVERSATION_LIMITS: tuple[Limit, ...] = (Limit(7, 1.0), Limit(60, 30.0), Limit(1_800, 3_600.0))

# Statuses worth retrying: precondition failed (Teams' transient 412), throttled, bad gateway, gateway timeout.
RETRYABLE_STATUSES = frozenset({412, 429, 502, 504})


class _Calls:
    """One tenant's or one conversation's calls: when the finished ones ended (sorted, as far back
    as the longest window reaches), how many are in flight, and the pace."""

    __slots__ = ("due", "ended", "freed", "in_flight", "interval", "limits", "lock", "reach", "slack")

    def __init__(self, limits: Sequence[Limit], slack: float) -> None:
        self.limits = tuple(limits)
        self.slack = slack
        self.reach = max((limit.seconds for limit in self.limits), default=0.0) + slack
        self.ended: list[float] = []
        self.in_flight = 0
        # The pace: ``due`` is when the next call would start on schedule; it moves on by one
        # ``interval`` per call, so a late wake-up does not push every later call back.
        self.interval = max(((lim.seconds + slack) / lim.count for lim in self.limits if lim.spread), default=0.0)
        self.due = -math.inf
        self.lock = asyncio.Lock()  # one caller at a time waits for the next slot: first come, first served
        self.freed = asyncio.Event()  # a call in flight ended

    def delay(self, now: float) -> float | None:
        """Seconds from ``now`` until one more call fits every limit (0: it fits now), or None when
        the calls in flight alone fill a window: then only one of them ending can make room."""
        at = max(now, self.due - self.interval)
        for limit in self.limits:  # a later moment only lowers the counts: one pass settles it
            window = limit.seconds + self.slack
            first = bisect_right(self.ended, at - window)  # the ended calls still in the window at ``at``
            excess = self.in_flight + len(self.ended) - first + 1 - limit.count
            if excess > 0:
                if excess > len(self.ended) - first:
                    return None
                at = max(at, self.ended[first + excess - 1] + window)
        return at - now

    def start(self, now: float) -> None:
        self.in_flight += 1
        self.due = max(self.due, now) + self.interval

    def finish(self, now: float) -> None:
        self.in_flight -= 1
        insort(self.ended, now)
        gone = bisect_right(self.ended, now - self.reach)
        if gone:
            del self.ended[:gone]
        self.freed.set()

    def idle(self, now: float) -> bool:
        """Nothing in flight and every call out of its window: forgetting this changes nothing."""
        return not self.in_flight and not self.lock.locked() and (not self.ended or self.ended[-1] <= now - self.reach)


class RateLimiter:
    """Slots for outgoing calls, per tenant and per conversation, shared across concurrent sends.

    ``clock`` gives monotonic seconds and ``sleep`` waits that long (``time.monotonic`` and
    ``asyncio.sleep`` unless a test gives virtual ones). ``tenant_limits`` and
    ``conversation_limits`` default to Teams'; ``slack`` lengthens every window (see the module).
    """

    def __init__(
        self,
        tenant_limits: Sequence[Limit] = TEAMS_TENANT_LIMITS,
        conversation_limits: Sequence[Limit] = TEAMS_CONVERSATION_LIMITS,
        *,
        slack: float = 0.01,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if slack < 0:
            raise ValueError("slack must be ≥ 0")
        self.tenant_limits = tuple(tenant_limits)
        self.conversation_limits = tuple(conversation_limits)
        self.slack = slack
        self._clock, self._sleep = clock, sleep
        self._tenants: dict[str, _Calls] = {}
        self._conversations: dict[tuple[str, str], _Calls] = {}
        self._busy: dict[tuple[str, str | None], int] = {}  # callers inside slot()/acquire(), per conversation
        self._granted = 0
        self.waited = 0.0  # seconds spent waiting for slots, all calls together

    @asynccontextmanager
    async def slot(self, tenant_id: str, conversation_id: str | None) -> AsyncIterator[float]:
        """``async with limiter.slot(tenant, conversation):`` — the call inside has its slot, and
        counts until it ends; the value is the seconds waited for it. ``conversation_id`` None: a
        call that has no conversation yet (creating one), held to the tenant's limits only. One
        call per slot: a slot taken inside another may wait for the outer one to end, for ever."""
        async with self._turn(tenant_id, conversation_id) as (began, tenant, conversation):
            waited = await self._admit(began, tenant, conversation)
            try:
                yield waited
            finally:
                now = self._clock()
                tenant.finish(now)
                conversation.finish(now)

    async def acquire(self, tenant_id: str, conversation_id: str | None) -> float:
        """Wait for a slot and take it; returns the seconds waited. The call is taken to have ended
        at once, so a call that takes long after this may arrive later than the limiter assumes:
        ``slot()`` is the safer form."""
        async with self._turn(tenant_id, conversation_id) as (began, tenant, conversation):
            waited = await self._admit(began, tenant, conversation)
            now = self._clock()
            tenant.finish(now)
            conversation.finish(now)
        return waited

    @asynccontextmanager
    async def _turn(self, tenant_id: str, conversation_id: str | None) -> AsyncIterator[tuple[float, _Calls, _Calls]]:
        """The conversation's turn (its lock held for the whole call), when it was asked for, and
        the two records."""
        began = self._clock()
        key = (tenant_id, conversation_id)
        self._busy[key] = self._busy.get(key, 0) + 1
        try:
            if conversation_id is None:  # nothing to count for a conversation that does not exist yet
                conversation = _Calls((), self.slack)
            elif (found := self._conversations.get((tenant_id, conversation_id))) is not None:
                conversation = found
            else:
                conversation = self._conversations[tenant_id, conversation_id] = _Calls(self.conversation_limits,
                                                                                        self.slack)
            tenant = self._tenants.get(tenant_id)
            if tenant is None:
                tenant = self._tenants[tenant_id] = _Calls(self.tenant_limits, self.slack)
            async with conversation.lock:
                yield began, tenant, conversation
        finally:
            left = self._busy[key] - 1
            if left:
                self._busy[key] = left
            else:
                del self._busy[key]
        self._granted += 1
        if self._granted % 1_000 == 0:
            self._forget_idle()

    async def _admit(self, began: float, tenant: _Calls, conversation: _Calls) -> float:
        await self._wait_for_room(conversation)  # its lock is held: nothing else changes it meanwhile
        async with tenant.lock:
            await self._wait_for_room(tenant)
            now = self._clock()
            tenant.start(now)
        conversation.start(now)
        waited = now - began
        self.waited += waited
        return waited

    async def _wait_for_room(self, calls: _Calls) -> None:
        while True:
            delay = calls.delay(self._clock())
            if delay is None:
                calls.freed.clear()
                await calls.freed.wait()
            elif delay > 0:
                await self._sleep(delay)
            else:
                return

    def _forget_idle(self) -> None:
        now = self._clock()
        for key in [k for k, c in self._conversations.items() if k not in self._busy and c.idle(now)]:
            del self._conversations[key]
        busy = {tenant for tenant, _ in self._busy}
        for tenant in [t for t, c in self._tenants.items() if t not in busy and c.idle(now)]:
            del self._tenants[tenant]

    def tracked(self) -> tuple[int, int]:
        """(tenants, conversations) whose windows are kept now."""
        return len(self._tenants), len(self._conversations)


def retry_delay(
    attempt: int,
    retry_after: str | None = None,
    *,
    jitter: float | None = None,
    base: float = 0.5,
    cap: float = 30.0,
    max_retry_after: float = 120.0,
    now: datetime | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry) of a call answered
    412, 429, 502 or 504.

    With a ``Retry-After`` header (seconds, or an HTTP date, read against ``now``): that long, plus
    up to 10 % so that calls throttled together do not come back together, and at most
    ``max_retry_after``. Without one: exponential backoff, ``base × 2^(attempt-1)`` capped at
    ``cap``, of which a random half (``jitter`` in [0, 1), random unless given) is waited: from
    half the backoff to all of it ("equal jitter"). A pure function of its arguments once
    ``jitter`` is given.
    """
    if attempt < 1:
        raise ValueError("attempt counts retries from 1")
    share = random.random() if jitter is None else jitter
    if not 0 <= share < 1:
        raise ValueError("jitter must be in [0, 1)")
    told = parse_retry_after(retry_after, now=now)
    if told is not None:
        return min(max_retry_after, told * (1 + 0.1 * share))
    backoff = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return backoff / 2 + backoff / 2 * share


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """A ``Retry-After`` header in seconds (≥ 0), as Teams, Graph and the client directory send it
    (a number, not an HTTP date); None if absent or not a number. (``parse_retry_after`` also reads
    a date: the limiter's own retries use it.)"""
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from ``now`` (≥ 0), or None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def should_retry(status: int, attempt: int, max_attempts: int = 5) -> bool:
    """Whether a call answered ``status`` after ``attempt`` tries (1 = the first) should be tried again."""
    return status in RETRYABLE_STATUSES and attempt < max_attempts


# -- one connector call through the limiter, retried when throttled (issue 16) ------------------

T = TypeVar("T")


async def limited_call(
    limiter: RateLimiter | None,
    tenant_id: str,
    conversation_id: str | None,
    call: Callable[[], Awaitable[T]],
    *,
    status_of: Callable[[Exception], int | None],
    retry_after_of: Callable[[Exception], str | None],
    retry_on: frozenset[int] = RETRYABLE_STATUSES,
    max_attempts: int = 4,
    max_wait: float = 10.0,
    budget: float | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """``call()`` inside a slot of ``limiter`` (none: at once), tried again after ``retry_delay``
    when it fails with a status in ``retry_on``, at most ``max_attempts`` times. A wait longer than
    ``max_wait`` seconds (a long ``Retry-After``) is not waited here: the error is raised, and
    the caller's own retry (the outbox, the sweep) takes over; so is one that would end more than
    ``budget`` seconds after the first try began (a person waiting for a card action's answer).
    ``timeout`` bounds each call, not the wait for its slot. ``status_of`` says an error's HTTP
    status (None: not a connector answer, raised at once); ``retry_after_of`` its ``Retry-After``."""
    attempt = 1
    give_up_at = None if budget is None else time.monotonic() + budget
    while True:
        try:
            if limiter is None:
                async with asyncio.timeout(timeout):
                    return await call()
            async with limiter.slot(tenant_id, conversation_id):
                async with asyncio.timeout(timeout):
                    return await call()
        except Exception as error:
            status = status_of(error)
            if status is None or not should_retry(status, attempt, max_attempts) or status not in retry_on:
                raise
            delay = retry_delay(attempt, retry_after_of(error))
            if delay > max_wait or (give_up_at is not None and time.monotonic() + delay > give_up_at):
                raise
            await sleep(delay)
            attempt += 1
