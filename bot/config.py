"""Configuration from environment variables (and ``.env``), in one place.

Bot Framework's own names are kept (``MicrosoftAppId`` …); the bot's own start with ``BOT_``.
With no ``MicrosoftAppId`` the bot runs in local mode: no Bot Framework authentication.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.calendar import ClosingDays
from bot.domain.model import Agency, DpoContact, DpoSettings


def _agency_pairs(value: str, error: str) -> Iterator[tuple[str, str]]:
    """The ``agency=value`` items of a comma-separated setting, stripped; ``error`` (formatted with
    the offending ``part``) when an item names no known agency or no value."""
    for part in filter(None, (p.strip() for p in value.split(","))):
        agency, _, item = part.partition("=")
        if agency.strip() not in set(Agency) or not item.strip():
            raise ValueError(error.format(part=part))
        yield agency.strip(), item.strip()

EMEA_SERVICE_URL = "https://smba.trafficmanager.net/emea/"
TenantSet = frozenset[str]
AgencyTenants = dict[str, frozenset[str]]


def _csv_set(value: object) -> frozenset[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return frozenset(v.strip() for v in value.split(",") if v.strip())
    return frozenset(str(v) for v in value)  # type: ignore[attr-defined]


class Registration(BaseModel):
    """One more Azure Bot registration, serving the users of ``tenant``."""

    app_id: str = Field(min_length=1)
    password: str = ""
    type: Literal["SingleTenant", "UserAssignedMSI", "MultiTenant"] = "SingleTenant"
    tenant: str = Field(min_length=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True)

    host: str = Field("127.0.0.1", alias="HOST")
    port: int = Field(3978, ge=0, le=65535, alias="PORT")
    # Server limits against slow and silent clients (README, Running behind a reverse proxy).
    server_header_timeout_seconds: float = Field(10, gt=0, alias="BOT_SERVER_HEADER_TIMEOUT_SECONDS")
    server_body_timeout_seconds: float = Field(15, gt=0, alias="BOT_SERVER_BODY_TIMEOUT_SECONDS")
    server_idle_timeout_seconds: float = Field(30, gt=0, alias="BOT_SERVER_IDLE_TIMEOUT_SECONDS")
    server_max_connections: int = Field(512, ge=8, alias="BOT_SERVER_MAX_CONNECTIONS")
    # SIGTERM/SIGINT: in-flight requests and the running sweep get this long before the process exits.
    shutdown_timeout_seconds: float = Field(8, gt=0, le=300, alias="BOT_SHUTDOWN_TIMEOUT_SECONDS")

    # Which SDK hosts the Teams side (README, Two hosts): botbuilder (bot/teams/, the default) or
    # the Microsoft 365 Agents SDK (bot/agents/). Cards, texts and the use cases are the same.
    bot_host: Literal["botbuilder", "agents"] = Field("botbuilder", alias="BOT_HOST")
    app_id: str = Field("", alias="MicrosoftAppId")
    app_password: str = Field("", alias="MicrosoftAppPassword")
    app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = Field(
        "MultiTenant", alias="MicrosoftAppType"
    )
    app_tenant_id: str = Field("", alias="MicrosoftAppTenantId")
    # One registration per tenant (DESIGN.md, Tenancy), as JSON: [{"app_id": "…", "password": "…",
    # "type": "SingleTenant", "tenant": "…"}]; tenants without one use MicrosoftAppId.
    registrations: Annotated[list[Registration], NoDecode] = Field(default_factory=list, alias="BOT_REGISTRATIONS")
    # Where Bot Framework tokens come from: only for a sovereign cloud (or the test suite).
    openid_metadata_url: str = Field("", alias="BOT_FRAMEWORK_OPENID_METADATA_URL")
    token_issuer: str = Field("", alias="BOT_FRAMEWORK_TOKEN_ISSUER")
    # Development only: allow local mode (no authentication) on a non-loopback address. Loudly logged.
    insecure_no_auth: bool = Field(False, alias="BOT_INSECURE_DEVELOPMENT_NO_AUTH")

    store: str = Field("sqlite:///./data/terugkoppeling.db", alias="BOT_STORE")
    store_connection_string: str = Field("", alias="BOT_STORE_CONNECTION_STRING")
    store_table: str = Field("terugkoppeling", pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$", alias="BOT_STORE_TABLE")
    # The per-record keys, kept apart from the content and never backed up (README, "Backups"): with
    # SQLite a file path (default: the store's path + ".keys"), with Azure Table Storage a table in
    # the same account (default: BOT_STORE_TABLE + "keys").
    key_store: str = Field("", max_length=1000, alias="BOT_KEY_STORE")
    directory_file: Path = Field(Path("examples/clients.json"), alias="BOT_DIRECTORY_FILE")
    # VDAB's client-tracking system over HTTP (docs/client-directory.openapi.yaml); set, it replaces
    # BOT_DIRECTORY_FILE. Token for BOT_DIRECTORY_SCOPE from DefaultAzureCredential (managed identity).
    directory_url: str = Field("", alias="BOT_DIRECTORY_URL")
    directory_scope: str = Field("", alias="BOT_DIRECTORY_SCOPE")  # api://<directory app id>/.default
    # Per attempt; at most one retry, only if it fits the budget; the budget (Graph resolution included)
    # stays under the ~5 s Teams gives a card action.
    directory_timeout_seconds: float = Field(3, gt=0, le=4.5, alias="BOT_DIRECTORY_TIMEOUT_SECONDS")
    directory_connect_timeout_seconds: float = Field(1, gt=0, le=4.5, alias="BOT_DIRECTORY_CONNECT_TIMEOUT_SECONDS")
    directory_budget_seconds: float = Field(4, gt=0, le=4.5, alias="BOT_DIRECTORY_BUDGET_SECONDS")
    directory_retries: int = Field(1, ge=0, le=1, alias="BOT_DIRECTORY_RETRIES")
    directory_breaker_failures: int = Field(5, ge=1, alias="BOT_DIRECTORY_BREAKER_FAILURES")
    directory_breaker_window_seconds: float = Field(30, gt=0, alias="BOT_DIRECTORY_BREAKER_WINDOW_SECONDS")
    directory_breaker_open_seconds: float = Field(30, gt=0, alias="BOT_DIRECTORY_BREAKER_OPEN_SECONDS")
    # Entra object ids Graph resolved for trajectbegeleiders named by e-mail/UPN (not client data).
    directory_recipient_cache_seconds: float = Field(3600, ge=0, alias="BOT_DIRECTORY_RECIPIENT_CACHE_SECONDS")
    teams_service_url: str = Field(EMEA_SERVICE_URL, alias="BOT_TEAMS_SERVICE_URL")
    data_key: str = Field("", alias="BOT_DATA_KEY")
    data_keys_previous: str = Field("", alias="BOT_DATA_KEYS_PREVIOUS")
    hmac_key: str = Field("", alias="BOT_HMAC_KEY")
    # Or the master key from Azure Key Vault (managed identity): the secret's versions are the rotations.
    key_vault_url: str = Field("", alias="BOT_KEY_VAULT_URL")
    key_vault_secret: str = Field("terugkoppeling-data-key", alias="BOT_KEY_VAULT_SECRET")
    # Evidence (README, For privacy officers): the Ed25519 key that signs every audit export, as
    # base64 of a 32-byte seed, or the name of a Key Vault secret holding it (in BOT_KEY_VAULT_URL).
    evidence_signing_key: str = Field("", alias="BOT_EVIDENCE_SIGNING_KEY")
    evidence_signing_secret: str = Field("", alias="BOT_EVIDENCE_SIGNING_SECRET")
    # Processors (art. 6) the export lists: empty = derived from this configuration (+ BOT_HOSTING);
    # else "name: role; name: role" replaces that list.
    hosting: str = Field("", alias="BOT_HOSTING")
    processors: str = Field("", alias="BOT_PROCESSORS")
    applicationinsights_connection_string: str = Field("", alias="APPLICATIONINSIGHTS_CONNECTION_STRING")
    counsellor_tenants: Annotated[TenantSet | None, NoDecode] = Field(None, alias="BOT_COUNSELLOR_TENANTS")
    agency_tenants: Annotated[AgencyTenants | None, NoDecode] = Field(None, alias="BOT_AGENCY_TENANTS")
    protocol_start: date = Field(date(2025, 4, 1), alias="BOT_PROTOCOL_START")
    protocol_end: date | None = Field(None, alias="BOT_PROTOCOL_END")
    # Art. 8: one agency's participation ends (its last day): "atlas=2027-03-31,amal=2027-06-30".
    agency_end: Annotated[dict[str, date], NoDecode] = Field(default_factory=dict, alias="BOT_AGENCY_END")
    protocol_end_notice_days: int = Field(30, ge=0, alias="BOT_PROTOCOL_END_NOTICE_DAYS")
    # Issue 14: a backup trajectbegeleider per agency, as the directory names them (Entra object id or
    # e-mail): "atlas=<id>,amal=<e-mail>". Cards nobody reacted to after BOT_BACKUP_AFTER_REMINDERS
    # reminders (default BOT_MAX_REMINDERS: after the last, before the counsellor is told) go there.
    backup_recipients: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict,
                                                                   alias="BOT_BACKUP_RECIPIENTS")
    backup_after_reminders: int | None = Field(None, ge=0, le=10, alias="BOT_BACKUP_AFTER_REMINDERS")
    # Issue 14: "Overgezet" can be undone this many minutes; the content is purged after (0: at once).
    undo_minutes: int = Field(10, ge=0, le=60, alias="BOT_UNDO_MINUTES")
    # Where the protocol is published (the help card's "Protocol lezen"); empty: ask the administrator.
    protocol_url: str = Field("", pattern=r"^(https://[^\s]+)?$", max_length=2000, alias="BOT_PROTOCOL_URL")
    # How users reach the functioneel beheerder, e.g. an e-mail address or a team's name; shown after
    # "de functioneel beheerder" wherever a message sends someone to them.
    admin_contact: str = Field("", max_length=200, alias="BOT_ADMIN_CONTACT")
    draft_ttl_hours: float = Field(24, gt=0, alias="BOT_DRAFT_TTL_HOURS")
    # Abuse bounds per counsellor and replica (0 = none): new terugkoppelingen, identification attempts.
    rate_commands: int = Field(30, ge=0, alias="BOT_RATE_COMMANDS")
    rate_identifications: int = Field(10, ge=0, alias="BOT_RATE_IDENTIFICATIONS")
    rate_window_minutes: float = Field(10, gt=0, alias="BOT_RATE_WINDOW_MINUTES")
    log_level: str = Field("INFO", alias="BOT_LOG_LEVEL")

    # Reminders, retention and the outbox (DESIGN.md, Reminders and retention).
    reminder_working_days: int = Field(2, ge=1, alias="BOT_REMINDER_WORKING_DAYS")
    max_reminders: int = Field(3, ge=0, alias="BOT_MAX_REMINDERS")
    retention_days: int = Field(30, ge=1, le=365, alias="BOT_RETENTION_DAYS")
    # Storage limitation: days a closed handoff's content-free envelope is kept (0: for ever).
    keep_closed_days: int = Field(365, ge=0, alias="BOT_KEEP_CLOSED_DAYS")
    # The bot's own retention (issue 15; README, What the bot keeps): months a client fingerprint is
    # kept after the last terugkoppeling for that client (at most 24, and never past BOT_PROTOCOL_END),
    # and years audit events are kept before the sweep prunes them behind a checkpoint (0: for ever).
    keep_fingerprints_months: int = Field(24, ge=1, le=24, alias="BOT_KEEP_FINGERPRINTS_MONTHS")
    keep_audit_years: int = Field(5, ge=0, le=50, alias="BOT_KEEP_AUDIT_YEARS")
    office_hours: Annotated[tuple[time, time], NoDecode] = Field((time(9), time(17)), alias="BOT_OFFICE_HOURS")
    closed_days: Annotated[frozenset[date], NoDecode] = Field(frozenset(), alias="BOT_CLOSED_DAYS")
    # Each organisation's extra closing days, replacing its default (README, Closing days): MM-DD every
    # year, YYYY-MM-DD once, A..B a range, "none" for none. Unset: VDAB and AgII close on 11-02, 11-15
    # and 12-26..12-31 (Flemish public services), Atlas and Amal on no extra days. BOT_CLOSED_DAYS adds to all.
    closed_days_vdab: Annotated[ClosingDays | None, NoDecode] = Field(None, alias="BOT_CLOSED_DAYS_VDAB")
    closed_days_agii: Annotated[ClosingDays | None, NoDecode] = Field(None, alias="BOT_CLOSED_DAYS_AGII")
    closed_days_atlas: Annotated[ClosingDays | None, NoDecode] = Field(None, alias="BOT_CLOSED_DAYS_ATLAS")
    closed_days_amal: Annotated[ClosingDays | None, NoDecode] = Field(None, alias="BOT_CLOSED_DAYS_AMAL")
    sweep_interval_seconds: float = Field(60, ge=0, alias="BOT_SWEEP_INTERVAL_SECONDS")
    delivery_timeout_seconds: float = Field(4, gt=0, le=60, alias="BOT_DELIVERY_TIMEOUT_SECONDS")
    delivery_max_attempts: int = Field(8, ge=1, le=50, alias="BOT_DELIVERY_MAX_ATTEMPTS")
    delivery_retry_base_seconds: float = Field(30, gt=0, alias="BOT_DELIVERY_RETRY_BASE_SECONDS")
    delivery_retry_cap_seconds: float = Field(3600, gt=0, alias="BOT_DELIVERY_RETRY_CAP_SECONDS")
    # Teams' rate limits for outgoing connector calls (issue 16), per app: per tenant per second, per
    # conversation per second, per 30 s and per hour. Defaults are Teams' own; tests raise them to run short.
    teams_tenant_rate: int = Field(50, ge=1, alias="BOT_TEAMS_TENANT_RATE")
    teams_conversation_rate: int = Field(7, ge=1, alias="BOT_TEAMS_CONVERSATION_RATE")
    teams_conversation_per_30s: int = Field(60, ge=1, alias="BOT_TEAMS_CONVERSATION_PER_30S")
    teams_conversation_per_hour: int = Field(1_800, ge=1, alias="BOT_TEAMS_CONVERSATION_PER_HOUR")

    # Recipient provisioning: install the Teams app through Microsoft Graph for a trajectbegeleider
    # who never opened the bot. Off unless BOT_GRAPH_CREDENTIAL is set.
    graph_credential: Literal["", "secret", "certificate", "managed-identity"] = Field("", alias="BOT_GRAPH_CREDENTIAL")
    graph_base_url: str = Field("https://graph.microsoft.com/v1.0", alias="BOT_GRAPH_BASE_URL")
    graph_authority: str = Field("", alias="BOT_GRAPH_AUTHORITY")  # sovereign clouds, e.g. login.microsoftonline.us
    teams_app_id: str = Field("", alias="BOT_TEAMS_APP_ID")  # the manifest id; default MicrosoftAppId
    graph_client_secret: str = Field("", alias="BOT_GRAPH_CLIENT_SECRET")  # default MicrosoftAppPassword
    graph_certificate_path: str = Field("", alias="BOT_GRAPH_CERTIFICATE_PATH")  # PEM or PKCS12, with the key
    # tenant=catalog app id,…: skips the catalog lookup (and with it AppCatalog.Read.All)
    graph_catalog_ids: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict, alias="BOT_GRAPH_CATALOG_IDS")

    # Art. 9: the DPOs told of every incident (README, Data protection officers), as JSON per
    # organisation: {"vdab": {"teams": [{"aad_object_id": "…", "tenant_id": "…"}], "mail": ["dpo@…"]}, …}.
    # Mail goes through Graph sendMail from BOT_DPO_SENDER_MAILBOX (Mail.Send), with an app-only token of
    # BOT_DPO_SENDER_TENANT (default MicrosoftAppTenantId, else the one counsellor tenant).
    dpo_contacts: Annotated[tuple[DpoContact, ...], NoDecode] = Field((), alias="BOT_DPO_CONTACTS")
    dpo_sender_mailbox: str = Field("", max_length=320, alias="BOT_DPO_SENDER_MAILBOX")
    dpo_sender_tenant: str = Field("", alias="BOT_DPO_SENDER_TENANT")

    @field_validator("registrations", mode="before")
    @classmethod
    def _registrations(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            raise ValueError("BOT_REGISTRATIONS: expected a JSON list of {app_id, password, type, tenant}") from None

    @field_validator("dpo_contacts", mode="before")
    @classmethod
    def _dpo_contacts(cls, value: object) -> object:
        """``{"vdab": {"teams": [{"aad_object_id", "tenant_id"}], "mail": ["…"]}, "atlas": {…}}``"""
        if not isinstance(value, str):
            return value
        shape = 'expected JSON {"vdab": {"teams": [{"aad_object_id": …, "tenant_id": …}], "mail": ["…"]}, …}'
        try:
            parsed = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise ValueError(f"BOT_DPO_CONTACTS: {shape}") from None
        if not isinstance(parsed, dict):
            raise ValueError(f"BOT_DPO_CONTACTS: {shape}")
        contacts: list[dict[str, str]] = []
        for organisation, channels in parsed.items():
            if organisation not in ("vdab", "agii", "atlas", "amal") or not isinstance(channels, dict) or \
                    set(channels) - {"teams", "mail"}:
                raise ValueError(f"BOT_DPO_CONTACTS: {organisation!r}: {shape}")
            for person in channels.get("teams") or []:
                if not isinstance(person, dict) or not person.get("aad_object_id") or not person.get("tenant_id"):
                    raise ValueError(f"BOT_DPO_CONTACTS: {organisation}.teams: each needs aad_object_id and tenant_id")
                contacts.append({"organisation": organisation, "aad_object_id": str(person["aad_object_id"]),
                                 "tenant_id": str(person["tenant_id"])})
            for mailbox in channels.get("mail") or []:
                if not isinstance(mailbox, str) or "@" not in mailbox:
                    raise ValueError(f"BOT_DPO_CONTACTS: {organisation}.mail: expected e-mail addresses")
                contacts.append({"organisation": organisation, "mailbox": mailbox.strip()})
        return tuple(contacts)

    @model_validator(mode="after")
    def _dpo_mail(self) -> Settings:
        if any(c.mailbox for c in self.dpo_contacts):
            if not self.dpo_sender_mailbox:
                raise ValueError("BOT_DPO_CONTACTS has mailboxes: BOT_DPO_SENDER_MAILBOX is required (Graph sendMail)")
            if not self.graph_credential:
                raise ValueError("BOT_DPO_CONTACTS has mailboxes: BOT_GRAPH_CREDENTIAL is required (Graph sendMail)")
            if not self.dpo.sender_tenant:
                raise ValueError("BOT_DPO_CONTACTS has mailboxes: BOT_DPO_SENDER_TENANT is required (its tenant)")
        return self

    @property
    def dpo(self) -> DpoSettings:
        """Art. 9: the DPO contacts and the mailbox incidents are mailed from."""
        tenants = sorted(self.counsellor_tenants or ())
        tenant = self.dpo_sender_tenant or self.app_tenant_id or (tenants[0] if len(tenants) == 1 else "")
        return DpoSettings(contacts=self.dpo_contacts, sender_mailbox=self.dpo_sender_mailbox, sender_tenant=tenant)

    @field_validator("graph_catalog_ids", mode="before")
    @classmethod
    def _catalog_ids(cls, value: object) -> object:
        """``<tenant>=<catalog app id>,…``"""
        if not isinstance(value, str):
            return value
        pairs = [p.partition("=") for p in value.split(",") if p.strip()]
        if any(not sep or not k.strip() or not v.strip() for k, sep, v in pairs):
            raise ValueError("BOT_GRAPH_CATALOG_IDS: expected tenant=catalog-id separated by commas")
        return {k.strip(): v.strip() for k, _, v in pairs}

    @field_validator("office_hours", mode="before")
    @classmethod
    def _office_hours(cls, value: object) -> object:
        """``09:00-17:00``, Europe/Brussels."""
        if not isinstance(value, str):
            return value
        start, sep, end = value.partition("-")
        try:
            hours = (time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
        except ValueError:
            hours = None
        if not sep or hours is None or hours[0] >= hours[1]:
            raise ValueError(f"BOT_OFFICE_HOURS: expected HH:MM-HH:MM with start before end, got {value!r}")
        return hours

    @field_validator("agency_end", mode="before")
    @classmethod
    def _agency_end(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return dict(_agency_pairs(value, "expected agency=YYYY-MM-DD with agency agii, atlas or amal, got {part!r}"))

    @field_validator("backup_recipients", mode="before")
    @classmethod
    def _backup_recipients(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return dict(_agency_pairs(
            value, "expected agency=<object id or e-mail> with agency agii, atlas or amal, got {part!r}"))

    @field_validator("closed_days", mode="before")
    @classmethod
    def _closed_days(cls, value: object) -> object:
        """Extra closing days (e.g. bridge days), ``2026-12-24,2026-12-31``."""
        if not isinstance(value, str):
            return value
        try:
            return frozenset(date.fromisoformat(d.strip()) for d in value.split(",") if d.strip())
        except ValueError as error:
            raise ValueError(f"BOT_CLOSED_DAYS: expected YYYY-MM-DD dates separated by commas ({error})") from None

    @field_validator("closed_days_vdab", "closed_days_agii", "closed_days_atlas", "closed_days_amal", mode="before")
    @classmethod
    def _closing_days(cls, value: object, info: ValidationInfo) -> object:
        """``11-02,11-15,12-26..12-31,2027-05-07`` or ``none``."""
        if not isinstance(value, str):
            return value
        try:
            return ClosingDays.parse(value)
        except ValueError as error:
            raise ValueError(f"BOT_{str(info.field_name).upper()}: {error}") from None

    @field_validator("counsellor_tenants", mode="before")
    @classmethod
    def _tenants(cls, value: object) -> frozenset[str] | None:
        return _csv_set(value)

    @field_validator("agency_tenants", mode="before")
    @classmethod
    def _agencies(cls, value: object) -> dict[str, frozenset[str]] | None:
        """``agii=<tenant>,atlas=<tenant>,amal=<tenant>``; an agency may appear more than once."""
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value  # type: ignore[return-value]
        mapping: dict[str, set[str]] = {}
        for agency, tenant in _agency_pairs(value, "BOT_AGENCY_TENANTS: expected agency=tenant, got {part!r}"):
            mapping.setdefault(agency, set()).add(tenant)
        return {k: frozenset(v) for k, v in mapping.items()}

    @property
    def closing_days(self) -> dict[str, ClosingDays | None]:
        """Each organisation's configured extra closing days (None: its default), for ``Calendars.build``."""
        return {"vdab": self.closed_days_vdab, "agii": self.closed_days_agii,
                "atlas": self.closed_days_atlas, "amal": self.closed_days_amal}

    @property
    def local_mode(self) -> bool:
        """No bot registration configured: no authentication, for a developer's machine only."""
        return not self.app_id

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        return Path(self.store[len(prefix):]) if self.store.startswith(prefix) else None
