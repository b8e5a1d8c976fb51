"""Per-person bounds on how often something may be tried: a sliding window per key, in memory.

Used for abuse bounds (issue 17): how many ``terugkoppeling`` commands and how many
identification attempts one counsellor may make in a window. Each replica counts on its own, so
with N replicas a person gets at most N times the bound — still far below what brute-forcing a
birth date needs. Keys are a person's tenant and object id, never client data.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class SlidingWindow:
    """At most ``limit`` attempts per key in any ``window``; ``limit`` 0 means no bound."""

    limit: int
    window: timedelta
    max_keys: int = 10_000  # memory bound: the least recently seen keys are forgotten first
    _seen: dict[str, deque[datetime]] = field(default_factory=dict, repr=False)

    def allow(self, key: str, now: datetime) -> bool:
        """Count an attempt for ``key`` at ``now``; ``False`` (and not counted) when over the bound."""
        if self.limit <= 0:
            return True
        times = self._seen.pop(key, None) or deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        self._seen[key] = times  # (re)inserted last: dicts keep insertion order, oldest keys first
        if len(self._seen) > self.max_keys:
            del self._seen[next(iter(self._seen))]
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True
