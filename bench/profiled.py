"""``python -m bench.profiled``: ``python -m bot`` under cProfile, switched on by SIGUSR1 and off by
SIGUSR2, which also writes the profile to ``$BENCH_PROFILE`` (for ``bench.where``: only the
measured requests are profiled, not the start-up or the untimed preparation)."""

from __future__ import annotations

import cProfile
import os
import signal
import sys
from types import FrameType

from bot.__main__ import main

PROFILE = cProfile.Profile()


def _on(_signum: int, _frame: FrameType | None) -> None:
    PROFILE.enable()


def _off(_signum: int, _frame: FrameType | None) -> None:
    PROFILE.disable()
    PROFILE.dump_stats(os.environ["BENCH_PROFILE"])


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _on)
    signal.signal(signal.SIGUSR2, _off)
    sys.exit(main())
