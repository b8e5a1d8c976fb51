"""Command line: ``python -m bot [serve]``, ``python -m bot sweep`` and ``python -m bot audit``."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import sys
from datetime import UTC, date, datetime, time

from aiohttp import web
from pydantic import ValidationError

from bot import logs
from bot.adapters.clock import FixedClock
from bot.adapters.crypto import Sealer
from bot.bootstrap import ConfigurationError, Runtime, build, master_key, open_store
from bot.config import Settings
from bot.domain.calendar import BRUSSELS

log = logging.getLogger("bot")


async def _serve(settings: Settings) -> None:
    runtime = await build(settings)
    if settings.local_mode:
        print(
            "Local mode: no Bot Framework authentication, loopback only.\n"
            f"  store:     {settings.store}\n"
            f"  directory: {settings.directory_file}\n"
            f"  data key:  {'BOT_DATA_KEY' if settings.data_key else 'development key in ./data/dev-master.key'}\n"
            f"  listening: http://{settings.host}:{settings.port}/api/messages",
            flush=True,
        )
    runner = web.AppRunner(runtime.app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    log.info("listening", extra={"host": settings.host, "port": settings.port,
                                 "mode": "local" if settings.local_mode else "production"})
    sweeper = asyncio.create_task(_sweep_forever(runtime, settings.sweep_interval_seconds))
    try:
        await asyncio.Event().wait()
    finally:
        sweeper.cancel()
        await runner.cleanup()
        await runtime.close()


async def _sweep_forever(runtime: Runtime, interval: float) -> None:
    """The server's timer: sweep, then sleep until the next due moment (at most ``interval``)."""
    if interval <= 0:
        return
    while True:
        try:
            await runtime.service.sweep()
            next_due = await runtime.store.next_due()
        except Exception as error:  # noqa: BLE001 - the next round tries again; nothing is lost
            log.error("sweep failed", extra={"error": type(error).__name__})
            next_due = None
        delay = interval
        if next_due is not None:
            delay = min(interval, max(1.0, (next_due - runtime.service.clock.now()).total_seconds()))
        await asyncio.sleep(delay)


async def _sweep(settings: Settings, args: argparse.Namespace) -> None:
    clock = FixedClock(args.now) if args.now else None
    runtime = await build(settings, clock=clock)
    try:
        done = await runtime.service.sweep()
    finally:
        await runtime.close()
    print(json.dumps({"at": runtime.service.clock.now().isoformat(), "done": dict(done)}))


def _moment(value: str) -> datetime:
    """An ISO 8601 moment; without an offset it is Brussels time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 moment: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BRUSSELS)


def _day(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time(), UTC)


async def _audit(settings: Settings, args: argparse.Namespace) -> None:
    store = await open_store(settings, Sealer(master_key(settings)))
    try:
        events = await store.audit_events(_day(args.since) if args.since else None,
                                          _day(args.until) if args.until else None)
    finally:
        await store.close()
    rows = [e.model_dump(mode="json") for e in events]
    if args.format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=["seq", "at", "event", "subject", "actor", "agency", "reason"])
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Terugkoppeling-bot")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the server (default)")
    sweep = commands.add_parser("sweep", help="one reminder/retention/delivery sweep, then exit")
    sweep.add_argument("--now", type=_moment, help="act as if it were this moment (ISO 8601; Brussels if no offset)")
    audit = commands.add_parser("audit", help="export the audit trail (no client data)")
    audit.add_argument("--since", help="first day, YYYY-MM-DD (inclusive)")
    audit.add_argument("--until", help="last day, YYYY-MM-DD (exclusive)")
    audit.add_argument("--format", choices=("csv", "json"), default="csv")
    args = parser.parse_args(argv)

    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "settings"
            print(f"configuration error: {field}: {problem['msg']}", file=sys.stderr)
        return 2
    logs.setup(settings.log_level)
    try:
        if args.command == "audit":
            asyncio.run(_audit(settings, args))
        elif args.command == "sweep":
            asyncio.run(_sweep(settings, args))
        else:
            asyncio.run(_serve(settings))
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
