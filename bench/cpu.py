"""Who used the CPU: the whole machine (``/proc/stat``) against this bench's own processes, so a
report can say how much of the machine other programs took while it measured."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds the machine spent not idle (all cores, steal included), since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by one live process."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / TICK  # utime, stime


def own_cpu() -> float:
    """CPU seconds used by this process and its children that have exited."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Meter:
    """Share of the machine (0–1) taken by processes other than ours between ``start`` and ``stop``."""

    pids: tuple[int, ...] = ()
    _began: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def start(self, pids: Iterable[int] = ()) -> Meter:
        self.pids = tuple(pids)
        self._began = (time.perf_counter(), machine_busy(), own_cpu(), self._servers())
        return self

    def stop(self) -> float:
        wall, busy, own, servers = self._began
        elapsed = time.perf_counter() - wall
        others = (machine_busy() - busy) - (own_cpu() - own) - (self._servers() - servers)
        return max(0.0, others / (elapsed * (os.cpu_count() or 1))) if elapsed > 0 else 0.0

    def _servers(self) -> float:
        total = 0.0
        for pid in self.pids:
            try:
                total += process_cpu(pid)
            except OSError:  # exited: its time is in RUSAGE_CHILDREN once waited for
                pass
        return total
