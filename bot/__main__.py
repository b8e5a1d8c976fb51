"""Command line: ``python -m bot [serve]``, ``sweep``, ``audit [verify]`` and ``stats``."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import csv
import errno
import json
import logging
import os
import re
import signal
import sqlite3
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from bot import logs, telemetry
from bot import manifest as teams_manifest
from bot.adapters.clock import FixedClock
from bot.app import incidents
from bot.app.evidence import monthly_statistics, verify
from bot.bootstrap import ConfigurationError, Runtime, build, open_store, sealer_of, settle_heap
from bot.config import Settings
from bot.domain.audit import Checkpoint
from bot.domain.calendar import BRUSSELS
from bot.domain.model import AuditEvent
from bot.web import Server

log = logging.getLogger("bot")
REFERENCE = re.compile(r"TK-[0-9A-F]{6}")


class StartupError(Exception):
    """The bot cannot start; the message is the one line an operator sees."""


async def _serve(settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    # Blocking SDK calls (the Connector client's HTTP) run here; at shutdown it is not waited for
    # past the bound, as asyncio.run would.
    executor = ThreadPoolExecutor(thread_name_prefix="bot-io")
    loop.set_default_executor(executor)
    deadline = None
    runtime = await build(settings)
    settle_heap()  # issue 16: what start-up made is not scanned by the collector again (before any request)
    try:
        server = Server(runtime.app, settings.host, settings.port, shutdown_timeout=settings.shutdown_timeout_seconds)
        try:
            await server.start()
        except OSError as error:
            raise StartupError(_bind_problem(settings, error)) from None
        try:
            deadline = await _run_until_signalled(runtime, server, settings)
        finally:
            await server.stop()  # at once if already stopped; otherwise (a failure) stop accepting now
    finally:
        await runtime.close()
        executor.shutdown(wait=False, cancel_futures=True)
    if deadline is None:
        return
    while any(t.name.startswith("bot-io") for t in threading.enumerate()) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    if any(t.name.startswith("bot-io") for t in threading.enumerate()):
        # Past the bound: leave now, as a kill would. Everything pressed is in the store (the crash
        # tests show a kill at any point loses nothing); the next start or sweep finishes it.
        log.warning("shutdown bound reached; unfinished work is resumed by the next start",
                    extra={"delay_s": settings.shutdown_timeout_seconds})
        _leave(0)


async def _run_until_signalled(runtime: Runtime, server: Server, settings: Settings) -> float:
    """Serve until SIGTERM or SIGINT; then stop accepting, let in-flight requests and the running
    sweep finish (each at most BOT_SHUTDOWN_TIMEOUT_SECONDS) and return the deadline (loop time)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    if settings.local_mode:
        print(
            "Local mode: no Bot Framework authentication, loopback only.\n"
            f"  store:     {settings.store}\n"
            f"  directory: {settings.directory_file}\n"
            f"  data key:  {'BOT_DATA_KEY' if settings.data_key else 'development key in ./data/dev-master.key'}\n"
            f"  listening: http://{settings.host}:{settings.port}/api/messages",
            flush=True,
        )
    log.info("listening", extra={"host": settings.host, "port": settings.port,
                                 "mode": "local" if settings.local_mode else "production"})
    sweeper = asyncio.create_task(_sweep_forever(runtime, settings.sweep_interval_seconds, stopping))
    await stopping.wait()
    started = loop.time()
    log.info("stopping", extra={"count": server.in_flight()})
    bound = settings.shutdown_timeout_seconds
    await asyncio.gather(server.stop(), _finish(sweeper, bound))
    # Work a cancelled request still does (a delivery under way is shielded) gets what is left.
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    if others:
        await asyncio.wait(others, timeout=max(0.05, bound - (loop.time() - started)))
    log.info("stopped", extra={"elapsed_ms": round((loop.time() - started) * 1000)})
    return started + bound


async def _finish(sweeper: asyncio.Task[None], bound: float) -> None:
    """Let a running sweep end (it stops at its next pause); cut it short after ``bound`` seconds."""
    try:
        await asyncio.wait_for(asyncio.shield(sweeper), bound)
    except TimeoutError:
        sweeper.cancel()
        log.warning("sweep cut short by the shutdown bound; the next start resumes it", extra={"delay_s": bound})
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper


def _bind_problem(settings: Settings, error: OSError) -> str:
    where = f"{settings.host}:{settings.port}"
    if error.errno == errno.EADDRINUSE:
        return (f"PORT {settings.port}: {where} is already in use (another bot still running?); "
                "stop it or set PORT to a free port")
    if error.errno == errno.EACCES:
        return f"PORT {settings.port}: not allowed to listen on {where}"
    return f"HOST/PORT: cannot listen on {where} ({error.strerror or type(error).__name__})"


async def _sweep_forever(runtime: Runtime, interval: float, stopping: asyncio.Event) -> None:
    """The server's timer: sweep, then sleep until the next due moment (at most ``interval``),
    until ``stopping`` is set. A sweep under way when it is set runs to its end."""
    if interval <= 0:
        return
    while not stopping.is_set():
        try:
            await _traced_sweep(runtime)
            next_due = await runtime.store.next_due()
        except Exception as error:  # noqa: BLE001 - the next round tries again; nothing is lost
            log.error("sweep failed", extra={"error": type(error).__name__})
            next_due = None
        delay = interval
        if next_due is not None:
            delay = min(interval, max(1.0, (next_due - runtime.service.clock.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)


async def _traced_sweep(runtime: Runtime) -> dict[str, int]:
    """One sweep in a span, with how late the most overdue work was when it started (``sweep.lag``)."""
    if telemetry.enabled():
        due, now = await runtime.store.next_due(), runtime.service.clock.now()
        if due is not None and due <= now:
            telemetry.sweep_lag((now - due).total_seconds())
    with telemetry.span("sweep") as current:
        done = dict(await runtime.service.sweep())
        if current is not None:
            for step, count in done.items():
                current.set_attribute(f"sweep.done.{step}", count)
    return done


async def _sweep(settings: Settings, args: argparse.Namespace) -> None:
    clock = FixedClock(args.now) if args.now else None
    # A record it cannot open is skipped, not fatal; nor is a broken directory: only deliveries need it.
    runtime = await build(settings, clock=clock, strict_keys=False, directory_required=False)
    settle_heap()  # as the server does once started (issue 16)
    try:
        done = await _traced_sweep(runtime)
    finally:
        await runtime.close()
    print(json.dumps({"at": runtime.service.clock.now().isoformat(), "done": dict(done)}), flush=True)
    if done.get("failed"):
        raise SystemExit(1)  # a step failed (it stays due for the next sweep): cron and CI see it


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


async def _evidence(settings: Settings) -> tuple[list[AuditEvent], int, list[str], bytes, Checkpoint | None]:
    sealer = await sealer_of(settings)
    store = await open_store(settings, sealer)
    try:
        checkpoint = await store.audit_checkpoint()  # read first: a prune meanwhile only leaves more behind it
        return (await store.audit_events(), await store.audit_head(), await store.ended_with_content(),
                sealer.audit_key, checkpoint)
    finally:
        await store.close()


async def _checkpoint_key(settings: Settings, checkpoint: Checkpoint | None) -> Ed25519PublicKey | None:
    """Issue 15: the public key a signed checkpoint is checked with (``None``: unsigned, or no key here)."""
    from bot.evidence_setup import signing_key_of

    if checkpoint is None or not checkpoint.signature:
        return None
    try:
        return (await signing_key_of(settings)).public_key()
    except ConfigurationError:
        return None


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
    events, head, content_left, audit_key, checkpoint = await _evidence(settings)
    verdict = verify(events, head, audit_key, checkpoint, await _checkpoint_key(settings, checkpoint))
    if args.action == "verify":
        if verdict.intact:
            starts = f" {verdict.starts()}" if verdict.checkpoint else ""  # issue 15: older events pruned
            print(f"audit trail intact: {verdict.events} events, every link verified{starts}; "
                  f"last link {verdict.last_mac}")
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
              "reminders", "needed_a_reminder", "expired", "incidents"]
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


async def _incidents(settings: Settings, args: argparse.Namespace) -> int:
    """Art. 9: every incident with when it was detected, notified to each organisation's DPO, and
    acknowledged (``bot.app.incidents``); content-free."""
    sealer = await sealer_of(settings)
    store = await open_store(settings, sealer)
    try:
        rows = await incidents.listing(store, only_open=args.open)
    finally:
        await store.close()

    def when(at: datetime | None) -> str:
        return at.astimezone(BRUSSELS).strftime("%d/%m/%Y %H:%M") if at else "—"

    def per_org(moments: dict[str, datetime]) -> str:
        return "; ".join(f"{org} {when(at)}" for org, at in sorted(moments.items())) or "—"

    table = [{"incident": r.seq, "reference": r.reference, "category": r.category, "agency": r.agency or "—",
              "detected": when(r.detected_at), "notified": per_org(r.notified),
              "acknowledged": per_org(r.acknowledged), "pending": r.pending, "failed": r.failed,
              "open": "yes" if r.open else "no"} for r in rows]
    if args.format == "json":
        json.dump(table, sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    fields = list(table[0]) if table else ["incident", "reference", "category", "agency", "detected", "notified",
                                           "acknowledged", "pending", "failed", "open"]
    print("| " + " | ".join(fields) + " |")
    print("|" + " --- |" * len(fields))
    for row in table:
        print("| " + " | ".join(str(row[f]) for f in fields) + " |")
    return 0


async def _report_incident(settings: Settings, args: argparse.Namespace) -> int:
    """Art. 9 for a breach found later (``bot.app.incidents.report``): recorded, the handoff withdrawn
    if still open, and the DPOs told now (the server's sweep would within one interval)."""
    reference = (args.reference or "").strip().upper()
    if not REFERENCE.fullmatch(reference):
        print("incidents report: give the reference, e.g. TK-7F3A9C", file=sys.stderr)
        return 2
    runtime = await build(settings, strict_keys=False, directory_required=False)
    try:
        done = await incidents.report(runtime.service, reference, args.category, args.by)
        if done.seq is None:
            print(f"{reference}: not found in the store or the audit trail; nothing recorded", file=sys.stderr)
            return 1
        told = await runtime.service.incidents.sweep()
    finally:
        await runtime.close()
    card = {None: "", True: ", the recipient's card deleted", False: ", the card's deletion not confirmed yet "
            "(the sweep retries; see the audit)"}[done.card_removed]
    print(f"{reference}: incident {args.category} " + ("was already recorded" if done.already else "recorded")
          + f" (audit #{done.seq})" + (f"; the open terugkoppeling withdrawn and purged{card}" if done.withdrawn
                                        else "; nothing open to withdraw")
          + f"; DPO notices sent now: {told.get('dpo_notified', 0)}")
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
    listed = commands.add_parser("incidents", help="art. 9 incidents: detected, notified to the DPOs, acknowledged; "
                                                   "report REF: record one found later")
    listed.add_argument("action", nargs="?", default="list", choices=("list", "report"))
    listed.add_argument("reference", nargs="?", help="report: the terugkoppeling's reference, e.g. TK-7F3A9C")
    listed.add_argument("--category", choices=incidents.REPORTABLE, default="wrong_recipient",
                        help="report: what happened (no free text: it could hold client data)")
    listed.add_argument("--by", default="operator", help="report: who reports it (an Entra object id or a role)")
    listed.add_argument("--open", action="store_true", help="only those not yet notified to or acknowledged by all")
    listed.add_argument("--format", choices=("markdown", "json"), default="markdown")
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
        if args.command == "incidents" and args.action == "report":
            return asyncio.run(_report_incident(settings, args))
        if args.command == "incidents":
            return asyncio.run(_incidents(settings, args))
        _telemetry_on(settings)
        if args.command == "sweep":
            asyncio.run(_sweep(settings, args))
        else:
            asyncio.run(_serve(settings))
    except KeyboardInterrupt:
        pass
    except Exception as error:  # noqa: BLE001 - every start-up failure: one line, no traceback, no data
        code, line = _failure(error)
        print(line, file=sys.stderr, flush=True)
        _exit_if_held(code)
        return code
    return 0


def _failure(error: Exception) -> tuple[int, str]:
    """The exit code and the one line for a command that could not run. Messages are shown only
    for errors whose text is known to be free of data; for others, the type and where it came from."""
    if isinstance(error, ConfigurationError):
        return 2, f"configuration error: {error}"
    if isinstance(error, StartupError):
        return 1, f"start-up error: {error}"
    if isinstance(error, sqlite3.Error):  # SQLite's texts name the condition ("database is locked"), not rows
        return 1, f"start-up error: BOT_STORE: {type(error).__name__}: {error}"
    if isinstance(error, OSError):
        return 1, f"start-up error: {type(error).__name__}: {error.strerror or 'failed'} ({error.filename or '-'})"
    frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    origin = f" at {os.path.basename(frame[0].filename)}:{frame[0].lineno}" if frame else ""
    return 1, f"start-up error: {type(error).__name__}{origin} (message withheld: it may quote data)"


def _telemetry_on(settings: Settings) -> None:
    """OpenTelemetry for the server and the sweep, if the environment asks for it (``bot.telemetry``);
    the Application Insights connection string may also come from ``.env``."""
    environ = dict(os.environ)
    connection_string = getattr(settings, "applicationinsights_connection_string", "")
    if connection_string and not environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        environ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = connection_string
    try:
        exporters = telemetry.setup(environ)
    except Exception as error:  # noqa: BLE001 - a malformed connection string or endpoint
        raise ConfigurationError("APPLICATIONINSIGHTS_CONNECTION_STRING / OTEL_EXPORTER_OTLP_ENDPOINT: cannot start "
                                 f"telemetry ({type(error).__name__})") from None
    if exporters:
        atexit.register(_telemetry_off)
        log.info("telemetry on", extra={"mode": "+".join(exporters)})


def _telemetry_off() -> None:
    """Flush and stop the exporters, for at most 2 s (an unreachable collector must not hold the exit)."""
    worker = threading.Thread(target=telemetry.shutdown, name="telemetry-shutdown", daemon=True)
    worker.start()
    worker.join(2)


def _exit_if_held(code: int) -> None:
    """A failed start-up can leave a worker thread (a store's, an SDK's) that would keep the
    interpreter alive: then leave at once, rather than hang."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        _leave(code)


def _leave(code: int) -> None:
    _telemetry_off()
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
