"""Command line: ``python -m bot [serve]``, ``sweep``, ``audit [verify]`` and ``stats``."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import sys
from datetime import date, datetime, time

from aiohttp import web
from pydantic import ValidationError

from bot import logs
from bot import manifest as teams_manifest
from bot.adapters.clock import FixedClock
from bot.app.evidence import monthly_statistics, verify
from bot.bootstrap import ConfigurationError, Runtime, build, open_store, sealer_of
from bot.config import Settings
from bot.domain.calendar import BRUSSELS
from bot.domain.model import AuditEvent

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


def _day(value: date) -> datetime:
    """Midnight starting that day in Brussels: the day as the people reading the export know it."""
    return datetime.combine(value, time(), BRUSSELS)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


async def _evidence(settings: Settings) -> tuple[list[AuditEvent], int, list[str], bytes]:
    sealer = await sealer_of(settings)
    store = await open_store(settings, sealer)
    try:
        return await store.audit_events(), await store.audit_head(), await store.ended_with_content(), sealer.audit_key
    finally:
        await store.close()


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import export as exports
    from bot.app import signing
    from bot.app.report import to_html
    from bot.domain.model import Agency
    from bot.evidence_setup import processors_of, signing_key_of

    if args.action == "public-key":
        public = (await signing_key_of(settings)).public_key()
        print(f"Ed25519 public key (hand this to the agencies' privacy officers): {signing.public_key_text(public)}\n"
              f"fingerprint: {signing.fingerprint(public)}\n{signing.public_key_pem(public)}", end="")
        return 0
    key = await signing_key_of(settings) if args.action != "verify" else None  # no key, no export: fail first
    events, head, content_left, audit_key = await _evidence(settings)
    verdict = verify(events, head, audit_key)
    if args.action == "verify":
        if verdict.intact:
            print(f"audit trail intact: {verdict.events} events, every link verified; last link {verdict.last_mac}")
            return 0
        print(f"audit trail BROKEN at event #{verdict.broken_at}: {verdict.problem}")
        return 1
    assert key is not None
    fmt = "html" if args.action == "report" else args.format or "csv"
    built = exports.build(
        events, verdict, content_left, agency=Agency(args.agency) if args.agency else None,
        since=_day(args.since) if args.since else None, until=_day(args.until) if args.until else None,
        exported_at=datetime.now(BRUSSELS), fingerprint=signing.fingerprint(key.public_key()),
        processors=processors_of(settings),
    )
    data = {"csv": exports.to_csv, "json": exports.to_json, "html": to_html}[fmt](built, key)
    if args.out:
        with open(args.out, "wb") as out:
            out.write(data)
        print(f"{args.out}: {len(built.events)} events, signed by key {built.fingerprint}")
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def _verify_export(args: argparse.Namespace) -> int:
    """Needs no settings, no store and no secret: what an agency's privacy officer runs."""
    from pathlib import Path

    from bot.app import signing

    if not args.file or not args.public_key:
        print("usage: python -m bot audit verify-export FILE --public-key KEY", file=sys.stderr)
        return 2
    try:
        public = signing.load_public_key(args.public_key)
        data = Path(args.file).read_bytes()
    except signing.BadKey as error:
        print(f"--public-key: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    check = signing.verify(data, public)
    print(check.message if check.valid else f"export NOT verified: {check.message}")
    return 0 if check.valid else 1


async def _stats(settings: Settings, args: argparse.Namespace) -> int:
    events, *_ = await _evidence(settings)
    rows = monthly_statistics(events)
    fields = ["month", "agency", "sent", "transferred", "median_hours_to_transfer", "p90_hours_to_transfer",
              "reminders", "needed_a_reminder", "expired"]
    table = [{f: getattr(row, f) for f in fields} for row in rows]
    if args.format == "json":
        json.dump(table, sys.stdout, indent=1)
        print()
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=fields)
        writer.writeheader()
        writer.writerows(table)
    else:
        print("| " + " | ".join(fields) + " |")
        print("|" + " --- |" * len(fields))
        for row in table:
            print("| " + " | ".join("—" if row[f] is None else str(row[f]) for f in fields) + " |")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Terugkoppeling-bot")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the server (default)")
    sweep = commands.add_parser("sweep", help="one reminder/retention/delivery sweep, then exit")
    sweep.add_argument("--now", type=_moment, help="act as if it were this moment (ISO 8601; Brussels if no offset)")
    audit = commands.add_parser("audit", help="signed export of the audit trail, its report, or a chain check")
    audit.add_argument("action", nargs="?", default="export",
                       choices=("export", "report", "verify", "public-key", "verify-export"),
                       help="export (default, signed); report: the one-page HTML; verify: prove the trail is whole; "
                            "public-key: the key that checks exports; verify-export FILE: check a signed export")
    audit.add_argument("file", nargs="?", help="verify-export: the exported file")
    audit.add_argument("--public-key", help="verify-export: the public key (base64, PEM, or a file holding one)")
    audit.add_argument("--agency", choices=("agii", "atlas", "amal"), help="only that agency's events")
    audit.add_argument("--since", type=_date, help="first day, YYYY-MM-DD (inclusive)")
    audit.add_argument("--until", type=_date, help="last day, YYYY-MM-DD (exclusive)")
    audit.add_argument("--format", choices=("csv", "json", "html"), help="csv (default), json or html (the report)")
    audit.add_argument("--out", help="write to this file instead of standard output")
    teams_manifest.add_arguments(commands.add_parser("manifest", help="build the Teams app package (zip), validated"))
    stats = commands.add_parser("stats", help="policy statistics per agency and month, without personal data")
    stats.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")
    args = parser.parse_args(argv)
    if args.command == "audit" and args.action == "verify-export":
        return _verify_export(args)

    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "settings"
            print(f"configuration error: {field}: {problem['msg']}", file=sys.stderr)
        return 2
    logs.setup(settings.log_level)
    try:
        if args.command == "manifest":
            return teams_manifest.run(args, settings)
        if args.command == "audit":
            return asyncio.run(_audit(settings, args))
        if args.command == "stats":
            return asyncio.run(_stats(settings, args))
        if args.command == "sweep":
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
