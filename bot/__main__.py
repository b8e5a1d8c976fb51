"""Command line: ``python -m bot [serve]`` and ``python -m bot audit``."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import sys
from datetime import UTC, date, datetime, time

from aiohttp import web

from bot import logs
from bot.adapters.crypto import Sealer
from bot.bootstrap import ConfigurationError, build, master_key, open_store
from bot.config import Settings

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
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await runtime.close()


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
    audit = commands.add_parser("audit", help="export the audit trail (no client data)")
    audit.add_argument("--since", help="first day, YYYY-MM-DD (inclusive)")
    audit.add_argument("--until", help="last day, YYYY-MM-DD (exclusive)")
    audit.add_argument("--format", choices=("csv", "json"), default="csv")
    args = parser.parse_args(argv)

    settings = Settings()
    logs.setup(settings.log_level)
    try:
        if args.command == "audit":
            asyncio.run(_audit(settings, args))
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
