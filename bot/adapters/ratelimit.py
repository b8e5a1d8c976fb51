"""Teams' rate limits, respected before a call is made instead of discovered by its 429.

Teams throttles a bot's outgoing Bot Connector calls per app per tenant (50 requests/s) and per
conversation (7/s, 60 per 30 s, 1,800 per hour). One :class:`RateLimiter` is shared by every
concurrent send of the process; each call takes a slot first::

    limiter = RateLimiter()  # Teams' limits
    async with limiter.slot(tenant_id, conversation_id):
        await post_the_activity()

Each limit is a sliding window: at most ``count`` calls in any ``seconds``-long stretch, the way
the service counts them. (A token bucket of the same size would allow twice the count in a window
that straddles a refill.) Each window is lengthened by ``slack`` so that jitter between taking a
slot and the call's arrival cannot push two calls into one of the service's windows: with the
default 50 ms the tenant rate is 50 / 1.05 s, 95 % of what Teams allows.

Calls for one conversation take their slots in order; calls for different conversations do not
wait for each other except for their tenant's window, which is granted first come, first served
among calls whose conversation is ready. A cancelled wait keeps its reservation (a wasted slot:
never too many calls). Memory is what the windows hold: the slots of the last hour per
conversation; idle conversations and tenants are forgotten.

:func:`retry_delay` says how long to wait before retrying a throttled or failed call (412, 429,
502, 504): the service's ``Retry-After`` if it sent one, else exponential backoff with jitter.

Host-neutral: no SDK here. The clock and the sleep are injectable (unit tests run in virtual time).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` calls in any ``seconds``-long window."""

    count: int
    seconds: float

    def __post_init__(self) -> None:
        if self.count < 1 or self.seconds <= 0:
            raise ValueError("a limit needs count ≥ 1 and seconds > 0")


# Teams: "per bot per tenant" and "per bot per thread" (conversation) limits.
TEAMS_TENANT_LIMITS: tuple[Limit, ...] = (Limit(50, 1.0),)
TEAMS_CONVERSATION_LIMITS: tuple[Limit, ...] = (Limit(7, 1.0), Limit(60, 30.0), Limit(1_800, 3_600.0))

# Statuses worth retrying: precondition failed (Teams' transient 412), throttled, bad gateway, gateway timeout.
RETRYABLE_STATUSES = frozenset({412, 429, 502, 504})


class _Windows:
    """The slots granted to one key (a tenant or a conversation), one sorted log per limit.

    Slots are appended in non-decreasing time, so each log stays sorted and the earliest moment a
    new slot fits is ``log[-count] + seconds`` once the log holds ``count`` slots.
    """

    __slots__ = ("limits", "logs", "slack")

    def __init__(self, limits: Sequence[Limit], slack: float) -> None:
        self.limits = tuple(limits)
        self.slack = slack
        self.logs: tuple[deque[float], ...] = tuple(deque() for _ in self.limits)

    def earliest(self, now: float) -> float:
        """The earliest moment ≥ ``now``, and not before the last slot, at which one more fits."""
        at = now
        for limit, log in zip(self.limits, self.logs, strict=True):
            if log:
                at = max(at, log[-1])
            if len(log) >= limit.count:
                at = max(at, log[-limit.count] + limit.seconds + self.slack)
        return at

    def take(self, at: float) -> None:
        for limit, log in zip(self.limits, self.logs, strict=True):
            log.append(at)
            while len(log) > limit.count:  # older ones no longer decide anything
                log.popleft()

    def idle(self, now: float) -> bool:
        """Every slot is older than its window: forgetting this key changes nothing."""
        return all(not log or log[-1] + limit.seconds + self.slack <= now
                   for limit, log in zip(self.limits, self.logs, strict=True))


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
        slack: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if slack < 0:
            raise ValueError("slack must be ≥ 0")
        self.tenant_limits = tuple(tenant_limits)
        self.conversation_limits = tuple(conversation_limits)
        self.slack = slack
        self._clock, self._sleep = clock, sleep
        self._tenants: dict[str, _Windows] = {}
        self._conversations: dict[tuple[str, str], _Windows] = {}
        self._in_order: dict[tuple[str, str], asyncio.Lock] = {}  # one conversation's calls, in turn
        self._waiting: dict[tuple[str, str], int] = {}
        self._granted = 0
        self.waited = 0.0  # seconds spent waiting for slots, all calls together (for the logs/stats)

    async def acquire(self, tenant_id: str, conversation_id: str) -> float:
        """Wait until one more call to ``conversation_id`` in ``tenant_id`` fits every limit, take
        that slot and return the seconds waited."""
        key = (tenant_id, conversation_id)
        lock = self._in_order.get(key)
        if lock is None:
            lock = self._in_order[key] = asyncio.Lock()
        self._waiting[key] = self._waiting.get(key, 0) + 1
        began = self._clock()
        try:
            async with lock:
                conversation = self._conversations.get(key)
                if conversation is None:
                    conversation = self._conversations[key] = _Windows(self.conversation_limits, self.slack)
                await self._until(conversation.earliest(self._clock()))
                tenant = self._tenants.get(tenant_id)
                if tenant is None:
                    tenant = self._tenants[tenant_id] = _Windows(self.tenant_limits, self.slack)
                # Reserve the tenant's slot before sleeping, so later callers queue behind it.
                at = tenant.earliest(self._clock())
                tenant.take(at)
                await self._until(at)
                conversation.take(max(at, self._clock()))
        finally:
            left = self._waiting[key] - 1
            if left:
                self._waiting[key] = left
            else:
                del self._waiting[key]
        waited = self._clock() - began
        self.waited += waited
        self._granted += 1
        if self._granted % 1_000 == 0:
            self._forget_idle()
        return waited

    @asynccontextmanager
    async def slot(self, tenant_id: str, conversation_id: str) -> AsyncIterator[float]:
        """``async with limiter.slot(tenant, conversation):`` — the call inside has its slot; the
        value is the seconds waited for it."""
        yield await self.acquire(tenant_id, conversation_id)

    async def _until(self, at: float) -> None:
        delay = at - self._clock()
        if delay > 0:
            await self._sleep(delay)

    def _forget_idle(self) -> None:
        now = self._clock()
        for key in [k for k, w in self._conversations.items() if k not in self._waiting and w.idle(now)]:
            del self._conversations[key]
            self._in_order.pop(key, None)
        busy = {tenant for tenant, _ in self._waiting}
        for tenant in [t for t, w in self._tenants.items() if t not in busy and w.idle(now)]:
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
    backoff = min(cap, base * 2 ** min(attempt - 1, 62))
    return backoff / 2 + backoff / 2 * share


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
