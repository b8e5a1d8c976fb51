"""The composition root: builds every adapter from settings and hands them to the services."""

from __future__ import annotations

import gc
import ipaddress
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from azure.core.credentials_async import AsyncTokenCredential
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from bot import health, telemetry
from bot.adapters.clock import SystemClock
from bot.adapters.crypto import Sealer, decode_key, generate_key
from bot.adapters.directory_file import DirectoryFileError, FileDirectory
from bot.adapters.directory_http import CircuitBreaker, HttpDirectory, Limits
from bot.adapters.ratelimit import Limit, RateLimiter
from bot.adapters.resolver import RecipientResolver
from bot.adapters.sqlite_checks import StoreFileRefused, check_key_file, check_sqlite_file
from bot.adapters.sqlite_store import SqliteStore
from bot.app.outbox import Backups
from bot.app.ports import ClientDirectory, Clock, DirectoryUnavailable, Store, StoreUnavailable
from bot.app.retention import RetentionSweep, Signer
from bot.app.services import Bounds, Terugkoppeling
from bot.config import Settings
from bot.domain.calendar import Calendars
from bot.domain.limits import SlidingWindow
from bot.domain.model import Agency, DirectoryClient, Recipient
from bot.domain.policy import Policy
from bot.domain.retention import Retention
from bot.domain.schedule import Schedule
from bot.domain.template import Identity
from bot.teams.cards import Cards
from bot.teams.graph import GraphApp, GraphInstaller, graph_credentials
from bot.web import ServerLimits, create_app

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """The settings cannot run safely; the message says which one and why."""


@dataclass
class Runtime:
    settings: Settings
    store: Store
    service: Terugkoppeling
    app: web.Application
    installer: GraphInstaller | None = None
    # The Teams host (bot.teams.host or bot.agents.host). Its connector session (either host's), which
    # the messenger sends on, is closed here: after the server stopped AND the running sweep
    # finished its deliveries, not with the app.
    host: Any = None

    async def close(self) -> None:
        closer = getattr(self.service.directory, "close", None)  # the HTTP directory's session and credential
        if closer is not None:
            await closer()
        if self.installer is not None:
            await self.installer.close()
        if self.host is not None:
            await self.host.close()
        await self.store.close()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_store(settings: Settings) -> None:
    if settings.sqlite_path is None and settings.store != "azure-tables" and not settings.store.startswith("https://"):
        raise ConfigurationError(
            f"BOT_STORE: expected sqlite:///path, https://<account>.table.core.windows.net, or azure-tables with "
            f"BOT_STORE_CONNECTION_STRING; got {settings.store.split(':')[0]!r}"
        )
    if settings.store == "azure-tables" and not settings.store_connection_string:
        raise ConfigurationError("BOT_STORE=azure-tables needs BOT_STORE_CONNECTION_STRING (local use and tests)")


def master_key(settings: Settings) -> bytes:
    """``BOT_DATA_KEY``; in local mode a development key kept beside the database."""
    check_store(settings)
    if settings.data_key:
        return decode_key(settings.data_key)
    if not settings.local_mode:
        raise ConfigurationError("BOT_DATA_KEY is required outside local mode")
    if settings.sqlite_path is None:
        raise ConfigurationError("BOT_DATA_KEY is required with Azure Table Storage (even locally)")
    key_file = settings.sqlite_path.parent / "dev-master.key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_key())
        log.warning("generated a development data key", extra={"path": str(key_file)})
    return decode_key(key_file.read_text().strip())


async def sealer_of(settings: Settings, *, key_vault_options: dict[str, Any] | None = None) -> Sealer:
    """The current master key encrypts; previous ones still decrypt. From ``BOT_DATA_KEY`` (+
    ``BOT_DATA_KEYS_PREVIOUS``), or from Azure Key Vault (``BOT_KEY_VAULT_URL``)."""
    try:
        if settings.key_vault_url:
            ring = await _key_ring_from_key_vault(settings, key_vault_options or {})
            current, previous = ring.current, ring.previous
        else:
            current = master_key(settings)
            previous = tuple(
                decode_key(v, "BOT_DATA_KEYS_PREVIOUS") for v in settings.data_keys_previous.split(",") if v.strip()
            )
        hmac_key = decode_key(settings.hmac_key, "BOT_HMAC_KEY") if settings.hmac_key else None
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    if previous and hmac_key is None:
        # Without it the audit chain's and the fingerprints' key derives from the oldest data key,
        # and changes when that key is dropped: `audit verify` would then cry tampering.
        raise ConfigurationError(
            "key rotation needs BOT_HMAC_KEY: set it to the oldest data key still listed (in "
            "BOT_DATA_KEYS_PREVIOUS, or the oldest enabled Key Vault version), from which the audit chain "
            "and client fingerprints derive today, and keep it when that data key is dropped"
        )
    return Sealer(current, previous, hmac_key)


async def _key_ring_from_key_vault(settings: Settings, options: dict[str, Any]) -> Any:
    from azure.core.exceptions import AzureError
    from azure.identity.aio import DefaultAzureCredential

    from bot.adapters.key_vault import key_ring_from_key_vault

    credential = options.pop("credential", None) or DefaultAzureCredential()
    try:
        return await key_ring_from_key_vault(settings.key_vault_url, settings.key_vault_secret, credential, **options)
    except AzureError as error:
        raise ConfigurationError(
            f"BOT_KEY_VAULT_URL: cannot read secret {settings.key_vault_secret!r} ({type(error).__name__}); "
            "the identity needs the Key Vault Secrets User role"
        ) from None
    finally:
        await credential.close()


async def open_store(settings: Settings, sealer: Sealer) -> Store:
    """``sqlite:///path``, or Azure Table Storage: ``https://<account>.table.core.windows.net``
    with the managed identity, or ``azure-tables`` with a connection string (local use and tests)."""
    check_store(settings)
    if settings.sqlite_path is not None:
        keys = Path(settings.key_store.removeprefix("sqlite:///")) if settings.key_store else None
        keys = keys or SqliteStore.key_store_of(settings.sqlite_path)
        try:
            check_sqlite_file(settings.sqlite_path)  # a zero-length or foreign file is refused, not replaced
            check_key_file(keys, settings.sqlite_path)  # and a key store that is not where the keys are
        except StoreFileRefused as error:
            raise ConfigurationError(str(error)) from None
        return await SqliteStore.open(settings.sqlite_path, sealer, keys)
    # Only deployments on Azure Table Storage pay for importing its SDK.
    from azure.data.tables.aio import TableClient

    from bot.adapters.table_store import CLIENT_OPTIONS, TableStore

    key_table = settings.key_store or f"{settings.store_table}keys"  # the keys apart (README, "Backups")
    if not (key_table.isascii() and key_table.isalnum() and key_table[0].isalpha() and 3 <= len(key_table) <= 63) \
            or key_table == settings.store_table:
        raise ConfigurationError(f"BOT_KEY_STORE: with Azure Table Storage, a table name (3-63 letters and digits, "
                                 f"not BOT_STORE_TABLE's), got {key_table!r}")
    if settings.store_connection_string:
        if not settings.local_mode:
            raise ConfigurationError("BOT_STORE_CONNECTION_STRING is for local use and tests; in production use "
                                     "BOT_STORE=https://<account>.table.core.windows.net and a managed identity")
        connection = settings.store_connection_string
        table, key_client = (TableClient.from_connection_string(connection, name, **CLIENT_OPTIONS)
                             for name in (settings.store_table, key_table))
    else:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()  # managed identity in Azure; role: Storage Table Data Contributor
        table, key_client = (TableClient(settings.store, name, credential=credential, **CLIENT_OPTIONS)
                             for name in (settings.store_table, key_table))
        return await TableStore.open(table, sealer, keys=key_client, closing=credential)
    return await TableStore.open(table, sealer, keys=key_client)


async def check_keys(settings: Settings, store: Store, sealer: Sealer, *, strict: bool = True) -> None:
    """The configured keys must open every stored record: a wrong ``BOT_DATA_KEY``, or a previous key
    dropped while records still need it, is refused at start-up with the missing key's id (what
    ``bot.adapters.crypto.key_id_of`` gives), instead of failing later record by record. With
    ``strict=False`` (the sweep) it only warns: the healthy records still get reminders and purges."""
    try:
        sealed = await store.sealed_key_ids()
    except StoreUnavailable as error:
        raise ConfigurationError(f"BOT_STORE: cannot be read to check the data keys ({error})") from None
    known = set(sealer._keyring)  # the ids of every key the sealer opens (current and previous)
    missing = {key_id: count for key_id, count in sorted(sealed.items()) if key_id not in known}
    if not missing:
        return
    keys = ", ".join(f"the key with id {k} (records sealed under it: {n})" for k, n in missing.items())
    where = "an enabled version of BOT_KEY_VAULT_SECRET" if settings.key_vault_url else "BOT_DATA_KEYS_PREVIOUS"
    if strict:
        raise ConfigurationError(f"{where} must include {keys}; the current key has id {sealer.key_id}")
    log.warning("records sealed under a key that is not configured are skipped",
                extra={"error": f"{where} must include {keys}", "count": sum(missing.values())})


def installer_of(
    settings: Settings, credentials: Callable[[str], AsyncTokenCredential] | None = None
) -> GraphInstaller | None:
    """Graph provisioning (BOT_GRAPH_CREDENTIAL), with the bot registration that serves each tenant;
    ``credentials`` replaces azure-identity (tests)."""
    if not settings.graph_credential:
        return None
    if settings.local_mode and not is_loopback(urlsplit(settings.graph_base_url).hostname or ""):
        raise ConfigurationError("BOT_GRAPH_CREDENTIAL needs MicrosoftAppId: Graph tokens are the bot registration's")
    teams_app_id = settings.teams_app_id or settings.app_id
    if not teams_app_id:
        raise ConfigurationError("BOT_GRAPH_CREDENTIAL needs BOT_TEAMS_APP_ID (the Teams app manifest id)")
    if settings.graph_credential == "certificate" and not settings.graph_certificate_path:
        raise ConfigurationError("BOT_GRAPH_CREDENTIAL=certificate needs BOT_GRAPH_CERTIFICATE_PATH")
    per_tenant = {r.tenant: r for r in settings.registrations}

    def app_for(tenant_id: str) -> GraphApp:
        own = per_tenant.get(tenant_id)
        if own is not None:
            return GraphApp(own.app_id, own.password, settings.graph_certificate_path)
        secret = settings.graph_client_secret or settings.app_password
        return GraphApp(settings.app_id, secret, settings.graph_certificate_path)

    if credentials is None:
        credentials = graph_credentials(settings.graph_credential, app_for, authority=settings.graph_authority or None)
    return GraphInstaller(
        settings.graph_base_url, credentials, teams_app_id,
        catalog_ids=settings.graph_catalog_ids, timeout=settings.delivery_timeout_seconds,
    )


DEMO_DIRECTORY = Path(__file__).resolve().parents[1] / "examples" / "clients.json"


def is_demo_directory(path: Path) -> bool:
    """The fictitious demo directory shipped in ``examples/``, wherever it is run from."""
    try:
        return path.resolve() == DEMO_DIRECTORY or (path.exists() and path.samefile(DEMO_DIRECTORY))
    except OSError:
        return False


def refuse_demo_directory(settings: Settings) -> None:
    """Outside local mode the recipient must come from VDAB's system (protocol art. 4), never from
    the demo file the bot would otherwise fall back to."""
    if not settings.local_mode and not settings.directory_url and is_demo_directory(settings.directory_file):
        raise ConfigurationError(
            "BOT_DIRECTORY_URL is required outside local mode (VDAB's client-tracking system, with "
            f"BOT_DIRECTORY_SCOPE); BOT_DIRECTORY_FILE={settings.directory_file} is the demo directory"
        )


def directory_limits(settings: Settings) -> Limits:
    try:
        return Limits(connect=settings.directory_connect_timeout_seconds, total=settings.directory_timeout_seconds,
                      budget=settings.directory_budget_seconds, retries=settings.directory_retries)
    except ValueError as error:
        raise ConfigurationError(
            f"BOT_DIRECTORY_TIMEOUT_SECONDS / _CONNECT_ / BOT_DIRECTORY_BUDGET_SECONDS: {error}"
        ) from None


def check_directory(settings: Settings) -> None:
    """VDAB's system over HTTPS with a token scope and timeouts that fit a card action, or a file that exists."""
    if not settings.directory_url:
        if not settings.directory_file.exists():
            raise ConfigurationError(f"BOT_DIRECTORY_FILE not found: {settings.directory_file}")
        return
    parts = urlsplit(settings.directory_url)
    loopback = is_loopback(parts.hostname or "")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback and settings.local_mode):
        raise ConfigurationError("BOT_DIRECTORY_URL: expected https://… (plain http only to a loopback stand-in, "
                                 "in local mode): the bearer token must not travel in clear")
    if not settings.directory_scope:
        raise ConfigurationError("BOT_DIRECTORY_URL needs BOT_DIRECTORY_SCOPE (api://<directory app id>/.default)")
    directory_limits(settings)


def http_directory_of(
    settings: Settings, installer: GraphInstaller | None, credential: AsyncTokenCredential | None = None
) -> HttpDirectory:
    """VDAB's client-tracking system (BOT_DIRECTORY_URL); ``credential`` replaces DefaultAzureCredential (tests)."""
    check_directory(settings)
    if installer is None:
        log.warning("BOT_DIRECTORY_URL without BOT_GRAPH_CREDENTIAL: a trajectbegeleider the directory names "
                    "without an Entra object id cannot be reached")
    resolver = RecipientResolver(installer, settings.agency_tenants, ttl=settings.directory_recipient_cache_seconds)
    breaker = CircuitBreaker(settings.directory_breaker_failures, settings.directory_breaker_window_seconds,
                             settings.directory_breaker_open_seconds)
    return HttpDirectory(settings.directory_url, settings.directory_scope, resolver, credential=credential,
                         limits=directory_limits(settings), breaker=breaker)


def schedule_of(settings: Settings) -> Schedule:
    start, end = settings.office_hours
    try:
        calendars = Calendars.build(start, end, settings.closing_days, settings.closed_days)
    except ValueError as error:
        raise ConfigurationError(f"BOT_CLOSED_DAYS_*: {error}") from None
    return Schedule(
        calendar=calendars.vdab,
        calendars=calendars,
        reminder_every=settings.reminder_working_days,
        max_reminders=settings.max_reminders,
        retention=timedelta(days=settings.retention_days),
        keep_closed=timedelta(days=settings.keep_closed_days) if settings.keep_closed_days else None,
        retry_base=timedelta(seconds=settings.delivery_retry_base_seconds),
        retry_cap=timedelta(seconds=settings.delivery_retry_cap_seconds),
        max_attempts=settings.delivery_max_attempts,
        undo_window=timedelta(minutes=settings.undo_minutes),  # issue 14
    )


# -- the bot's own retention (issue 15) ---------------------------------------------------------


def retention_of(settings: Settings) -> Retention:
    return Retention(keep_fingerprints_months=settings.keep_fingerprints_months,
                     keep_audit_years=settings.keep_audit_years or None, protocol_end=settings.protocol_end)


def checkpoint_signer_of(settings: Settings) -> Signer:
    """The evidence signing key for audit checkpoints, loaded the first time one is made (rarely:
    at most once a day) and kept. Without one (or if it cannot be read) a checkpoint is sealed only."""
    loaded: list[Ed25519PrivateKey | None] = []

    async def signer() -> Ed25519PrivateKey | None:
        if not loaded:
            from bot.evidence_setup import signing_key_of  # it imports this module

            try:
                loaded.append(await signing_key_of(settings))
            except ConfigurationError as error:
                log.warning("audit checkpoint not signed: no evidence signing key", extra={"error": str(error)})
                loaded.append(None)
        return loaded[0]

    return signer
def backups_of(settings: Settings) -> Backups | None:
    """Issue 14: the backup recipient per agency (BOT_BACKUP_RECIPIENTS), if any is configured."""
    if not settings.backup_recipients:
        return None
    after = settings.backup_after_reminders
    return Backups(dict(settings.backup_recipients), settings.max_reminders if after is None else after)
def rate_limiter_of(settings: Settings) -> RateLimiter:
    """Teams' rate limits (issue 16): one limiter per process, shared by every outgoing connector call."""
    return RateLimiter(
        tenant_limits=(Limit(settings.teams_tenant_rate, 1.0, spread=True),),
        conversation_limits=(Limit(settings.teams_conversation_rate, 1.0),
                             Limit(settings.teams_conversation_per_30s, 30.0),
                             Limit(settings.teams_conversation_per_hour, 3_600.0)),
    )


def bounds_of(settings: Settings) -> Bounds:
    window = timedelta(minutes=settings.rate_window_minutes)
    return Bounds(commands=SlidingWindow(settings.rate_commands, window),
                  identifications=SlidingWindow(settings.rate_identifications, window))


def policy_of(settings: Settings) -> Policy:
    return Policy(
        counsellor_tenants=settings.counsellor_tenants,
        agency_tenants=settings.agency_tenants,
        protocol_start=settings.protocol_start,
        protocol_end=settings.protocol_end,
        draft_ttl=timedelta(hours=settings.draft_ttl_hours),
        agency_end=settings.agency_end,
        end_notice=timedelta(days=settings.protocol_end_notice_days),
    )


async def build(
    settings: Settings, *, clock: Clock | None = None, key_vault_options: dict[str, Any] | None = None,
    graph_credential_for: Callable[[str], AsyncTokenCredential] | None = None,
    directory_credential: AsyncTokenCredential | None = None, strict_keys: bool = True,
    directory_required: bool = True,
) -> Runtime:
    if settings.local_mode and not is_loopback(settings.host):
        # Anonymous mode posts to any serviceUrl a caller names: it must never face a network.
        if not settings.insecure_no_auth:
            raise ConfigurationError("local mode (no MicrosoftAppId) listens on loopback only; set HOST=127.0.0.1")
        log.critical("INSECURE: no Bot Framework authentication on a network address "
                     "(BOT_INSECURE_DEVELOPMENT_NO_AUTH); anyone who can reach it can use the bot",
                     extra={"host": settings.host})
    if settings.registrations and settings.local_mode:
        raise ConfigurationError("BOT_REGISTRATIONS needs MicrosoftAppId too (the registration for other tenants)")
    if not settings.local_mode and (settings.counsellor_tenants is None or settings.agency_tenants is None):
        raise ConfigurationError("BOT_COUNSELLOR_TENANTS and BOT_AGENCY_TENANTS are required outside local mode")
    check_directory(settings)
    installer = installer_of(settings, graph_credential_for)
    sealer = await sealer_of(settings, key_vault_options=key_vault_options)
    try:
        directory: ClientDirectory = (http_directory_of(settings, installer, directory_credential)
                                      if settings.directory_url else _directory(settings))
    except ConfigurationError as error:
        if directory_required:
            raise
        # The sweep purges and reminds without the directory; only queued deliveries need it, and wait.
        log.error("client directory unavailable, the sweep goes on without it", extra={"error": str(error)})
        directory = UnreachableDirectory("not_configured")
    store = await open_store(settings, sealer)
    try:
        await check_keys(settings, store, sealer, strict=strict_keys)
        refuse_demo_directory(settings)  # art. 4: outside local mode, VDAB's own system names the recipient
    except BaseException:
        await store.close()  # its worker thread would keep a refused start-up alive
        raise
    if telemetry.enabled():  # look-ups timed, audit events counted; nothing wrapped when it is off
        directory, store = telemetry.TimedDirectory(directory), telemetry.instrument_store(store)
    try:
        return _assemble(settings, clock, installer, sealer, directory, store)
    except BaseException:
        await store.close()  # its worker thread would keep a failed start-up alive
        raise


FULL_COLLECTION_AFTER = 100  # collections of the middle generation (Python's default: 10)


def settle_heap() -> None:
    """Once started (issue 16): what the process holds now (the modules, both SDKs, pydantic's
    validators, the templates: some 170,000 objects) lives as long as the process, so it is taken
    out of the garbage collector's view (``gc.freeze``, after one last collection), and a full
    collection waits for 100 younger ones instead of 10. A sweep of 1,000 reminders made one or two
    full collections, which scanned all of it and found nothing to free (~0.1-0.2 ms per reminder);
    the young generations, and so the length of each pause, are as they were. ``python -m bot``
    (serving, ``sweep``) calls it; a test harness that builds many runtimes in one process does not."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)


class UnreachableDirectory:
    """Stands in for a directory that could not be set up, for the sweep: every look-up is
    "unavailable", so queued deliveries wait while reminders and retention purges go on."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def find(self, identity: Identity) -> list[DirectoryClient]:
        raise DirectoryUnavailable(self.reason)

    async def lookup(self, klant_id: str) -> DirectoryClient | None:
        raise DirectoryUnavailable(self.reason)

    async def colleagues(self, agency: Agency) -> list[Recipient]:  # issue 14, "Doorsturen"
        raise DirectoryUnavailable(self.reason)


def _directory(settings: Settings) -> FileDirectory:
    """The directory file, or one line that says what is wrong with it (never an entry's values)."""
    try:
        return FileDirectory(Path(settings.directory_file))
    except DirectoryFileError as error:
        problem = str(error)  # says where, never a value
    except OSError as error:
        problem = f"cannot be read ({type(error).__name__}: {error.strerror})"
    except json.JSONDecodeError as error:
        problem = f"is not valid JSON (line {error.lineno}, column {error.colno})"
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        own = first["type"] in ("value_error", "assertion_error")  # a validator's own text may quote the value
        what = first["type"] if own else first["msg"]
        problem = f"is not a valid client directory ({error.error_count()} problem(s); first at {where}: {what})"
    except ValueError as error:
        problem = f"cannot be read ({type(error).__name__})"
    raise ConfigurationError(f"BOT_DIRECTORY_FILE {settings.directory_file} {problem}")


def _assemble(settings: Settings, clock: Clock | None, installer: GraphInstaller | None, sealer: Sealer,
              directory: ClientDirectory, store: Store) -> Runtime:
    cards = Cards(retention_days=settings.retention_days, admin_contact=settings.admin_contact,
                  protocol_url=settings.protocol_url, protocol_start=settings.protocol_start,
                  protocol_end=settings.protocol_end)
    # Each host package is the only code that imports its SDK, and is imported only when chosen.
    limiter = rate_limiter_of(settings)  # Teams' rate limits, shared by every connector call (issue 16)
    host: TeamsHost | AgentsHost
    if settings.bot_host == "agents":  # the Microsoft 365 Agents SDK
        from bot.agents.host import AgentsHost

        host = AgentsHost(settings, cards, installer, limiter=limiter)
    else:  # botbuilder, the default
        from bot.teams.host import TeamsHost

        host = TeamsHost(settings, cards, installer, limiter=limiter)
    service = Terugkoppeling(
        store=store,
        directory=directory,
        messenger=host.messenger,
        clock=clock or SystemClock(),
        policy=policy_of(settings),
        fingerprint_key=sealer.fingerprint_key,
        schedule=schedule_of(settings),
        bounds=bounds_of(settings),
        dpo=settings.dpo,  # art. 9: who hears of incidents (bot.app.incidents)
        retention=RetentionSweep(store=store, clock=clock or SystemClock(), rules=retention_of(settings),
                                 audit_key=sealer.audit_key, signer=checkpoint_signer_of(settings)),
        backups=backups_of(settings),  # issue 14
    )
    mode = "production" if not settings.local_mode else "local" if is_loopback(settings.host) else "insecure"
    ready = health.readiness({"store": health.store_check(store), "directory": health.directory_check(directory),
                              "data_key": health.key_check(sealer)})
    limits = ServerLimits(
        header_timeout=settings.server_header_timeout_seconds, body_timeout=settings.server_body_timeout_seconds,
        idle_timeout=settings.server_idle_timeout_seconds, max_connections=settings.server_max_connections,
    )
    endpoint = host.endpoint(service)
    app = create_app(endpoint, health={"mode": mode}, ready=ready, limits=limits,
                     middlewares=[telemetry.middleware()])
    return Runtime(settings, store, service, app, installer, host=host)
