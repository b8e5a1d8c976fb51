"""Readiness checks for ``GET /readyz``: the store answers, the directory answers, the data key
opens a test envelope. Each is a small async callable with its own timeout; a failure is named
by the check and the exception's type, never its message (messages can quote data)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any

from bot.adapters.crypto import Sealer
from bot.app.ports import ClientDirectory, Store
from bot.domain.template import Identity

Check = Callable[[], Awaitable[object]]
PROBE = Identity(naam="Readiness Probe", geboortedatum=date(1900, 1, 1))
_PROBE_RECORD = "readiness-probe"
_PROBE_VALUE = b"readiness probe"


class NotReady(Exception):
    """A check answered, but with something other than ready."""


def store_check(store: Store) -> Check:
    async def check() -> None:
        await store.next_due()

    return check


def directory_check(directory: ClientDirectory) -> Check:
    """A look-up of a probe identity nobody has: ``DirectoryUnavailable`` (or any error) is not ready."""

    async def check() -> None:
        await directory.find(PROBE)

    return check


def key_check(sealer: Sealer) -> Check:
    async def check() -> None:
        if sealer.open(_PROBE_RECORD, sealer.seal(_PROBE_RECORD, _PROBE_VALUE)) != _PROBE_VALUE:
            raise NotReady("the data key does not open its own envelope")

    return check


def readiness(checks: Mapping[str, Check], *, timeout: float = 2.0, reuse_for: float = 1.0
              ) -> Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]:
    """One callable for ``create_app(ready=…)``: every check at once, each within ``timeout``.
    Probes that arrive together share one round, and its result serves for ``reuse_for`` seconds,
    so a flood of probes cannot flood the store or VDAB's directory."""
    last: tuple[float, tuple[bool, dict[str, Any]]] | None = None
    running: asyncio.Task[tuple[bool, dict[str, Any]]] | None = None

    async def one(check: Check) -> str:
        try:
            async with asyncio.timeout(timeout):
                await check()
        except TimeoutError:
            return "timeout"
        except Exception as error:  # noqa: BLE001 - the probe reports, it does not crash
            return f"failed: {type(error).__name__}"
        return "ok"

    async def round_() -> tuple[bool, dict[str, Any]]:
        names = list(checks)
        results = await asyncio.gather(*(one(checks[name]) for name in names))
        return all(r == "ok" for r in results), dict(zip(names, results, strict=True))

    async def ready() -> tuple[bool, dict[str, Any]]:
        nonlocal last, running
        now = time.monotonic()
        if last is not None and now - last[0] < reuse_for:
            return last[1]
        if running is None or running.done():
            running = asyncio.ensure_future(round_())
        outcome = await asyncio.shield(running)
        last = (time.monotonic(), outcome)
        return outcome

    return ready
