"""The protocol's things: clients, recipients, addresses, refusals, audit events.

Drafts and handoffs, and the transitions between their states, are in ``bot.domain.handoff``.
Client data (``ClientData``) is the only part that is sensitive: stores seal it, purges drop
it, and nothing else ever holds it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.template import Content, Identity
from bot.domain.text import normalise_name


class Agency(StrEnum):
    AGII = "agii"
    ATLAS = "atlas"
    AMAL = "amal"


class Recipient(BaseModel):
    """A trajectbegeleider, as VDAB's client system records them (never typed by a counsellor)."""

    model_config = ConfigDict(frozen=True)

    naam: str
    email: str
    aad_object_id: str
    tenant_id: str
    agentschap: Agency
    # The member id to open the 1:1 chat with, if not the Entra object id (which Teams accepts).
    # The Agents Playground's mock connector knows its users only by their channel id.
    teams_user_id: str | None = None


class DirectoryClient(BaseModel):
    """One entry of the client directory. ``klant_id`` stays inside VDAB: it is never sent."""

    model_config = ConfigDict(frozen=True)

    klant_id: str
    naam: str
    geboortedatum: date
    actief_inburgeringstraject: bool
    trajectbegeleider: Recipient


class Actor(BaseModel):
    """Whoever clicked or typed: identified by Entra ID object id and tenant, never by name."""

    model_config = ConfigDict(frozen=True)

    aad_object_id: str
    tenant_id: str
    name: str = ""

    def same_person(self, other: Actor) -> bool:
        """Object ids are unique within a tenant only: a person is their object id *and* tenant."""
        return (self.aad_object_id, self.tenant_id) == (other.aad_object_id, other.tenant_id)


class Address(BaseModel):
    """Where a Teams conversation lives, enough to post into it later (proactively)."""

    model_config = ConfigDict(frozen=True)

    service_url: str
    conversation_id: str
    tenant_id: str
    user_id: str
    bot_id: str = ""
    bot_name: str = ""
    channel_id: str = "msteams"


class Delivery(BaseModel):
    """The recipient's copy of a handoff: which message in which chat."""

    model_config = ConfigDict(frozen=True)

    address: Address
    activity_id: str
    attempt: int = 0  # which delivery attempt posted it: any other card for the handoff is an orphan


class ClientData(BaseModel):
    """Everything that identifies or describes the client. Sealed at rest, purged when done."""

    model_config = ConfigDict(frozen=True)

    identity: Identity
    content: Content | None = None
    # VDAB's own id for the client (never sent): the directory is asked again by this id at
    # ``verstuur`` and before a queued card is delivered, without the name.
    klant_id: str | None = None


class Reason(StrEnum):
    """Why something was refused: codes for the audit, Dutch text in the Teams layer."""

    NOT_PERSONAL = "not_personal_chat"
    COUNSELLOR_TENANT = "counsellor_tenant_not_allowed"
    OUTSIDE_PROTOCOL = "outside_protocol_period"
    UNKNOWN_CLIENT = "unknown_client"
    AMBIGUOUS_CLIENT = "ambiguous_client"
    NOT_ACTIVE = "no_active_inburgeringstraject"
    RECIPIENT_NOT_ALLOWED = "recipient_not_allowed"
    NOT_OWNER = "not_draft_owner"
    NOT_RECIPIENT = "not_recipient"
    STALE = "stale"
    DIRECTORY_UNAVAILABLE = "directory_unavailable"  # VDAB's client-tracking system did not answer
    RECIPIENT_UNRESOLVED = "recipient_unresolved"  # the trajectbegeleider is not found in their tenant
    RECIPIENT_CHANGED = "recipient_changed"  # the directory names another trajectbegeleider now
    RATE_LIMITED = "rate_limited"  # too many attempts by one person in a short time (abuse bound)
    AGENCY_ENDED = "agency_participation_ended"  # art. 8: the agency's participation ended (not an incident)
    AGENCY_NOT_LISTED = "agency_not_participating"  # art. 8: the agency is not (or no longer) on the allow-list
    # -- the trajectbegeleider's side (issue 14) --
    NOT_A_COLLEAGUE = "not_a_colleague"  # "Doorsturen" to someone the directory does not list for the agency


class AuditName(StrEnum):
    """Every kind of audit event, in one vocabulary (the export, ``stats`` and tests speak it)."""

    STARTED = "started"
    IDENTIFIED = "identified"
    REPEAT_CONFIRMED = "repeat_confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PURGED = "purged"
    REFUSED = "refused"
    INCIDENT = "incident"
    RECORDED = "recorded"
    SENT = "sent"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_DEFERRED = "delivery_deferred"
    DELIVERY_ABANDONED = "delivery_abandoned"
    REMINDED = "reminded"
    REMINDER_FAILED = "reminder_failed"
    ESCALATED = "escalated"
    TRANSFERRED = "transferred"
    RETURNED = "returned"
    RECORD_UNREADABLE = "record_unreadable"
    WITHDRAWN = "withdrawn"
    CARD_OVERWRITTEN = "card_overwritten"
    CARD_DELETED = "card_deleted"
    CARD_DELETE_FAILED = "card_delete_failed"
    NOTIFIED = "dpo_notified"  # art. 9: an incident reached a DPO (reason: incident seq, organisation, channel)
    ACKNOWLEDGED = "acknowledged"  # a DPO pressed "Kennis genomen" on an incident
    PROTOCOL_ENDED = "protocol_ended"
    FORGOTTEN = "record_deleted"  # the bot's own retention: a closed handoff's envelope is deleted
    # The bot's own retention (issue 15): counts only, never a fingerprint or an event's content.
    FINGERPRINTS_DELETED = "fingerprints_deleted"  # reason: how many, and the cut-off
    AUDIT_PRUNED = "audit_pruned"  # reason: how many events, which numbers, and their period
    # -- the trajectbegeleider's side (issue 14) --
    REASSIGNED = "reassigned"  # handed to another trajectbegeleider of the agency (reason: colleague | backup)
    TRANSFER_UNDOABLE = "transfer_undoable"  # "Overgezet" clicked: undoable until the window ends (reason: minutes)
    TRANSFER_UNDONE = "transfer_undone"  # "Ongedaan maken": back to waiting, the content was never purged
    # issue 14, the counsellor's side: a sent, unconfirmed terugkoppeling corrected (its card replaced)
    # or withdrawn (``WITHDRAWN``, reason ``by_counsellor``). Neither is a repeat (art. 5) nor an incident.
    CORRECTED = "corrected"
    CORRECTION_DELIVERED = "correction_delivered"  # the corrected card arrived (not "sent": no second send)


class AuditEvent(BaseModel):
    """One line of evidence. By construction it has no field that could hold client data."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    event: AuditName
    subject: str
    actor: str = ""
    agency: Agency | None = None
    reason: str | None = None
    seq: int | None = Field(default=None, description="assigned by the store")
    mac: str | None = Field(default=None, description="the hash-chain link, assigned by the store")


Organisation = Literal["vdab", "agii", "atlas", "amal"]


class DpoContact(BaseModel):
    """A data protection officer to tell of incidents (art. 9): a Teams user (Entra object id and
    tenant) or a mailbox. Configuration, not client data."""

    model_config = ConfigDict(frozen=True)

    organisation: Organisation
    aad_object_id: str = ""
    tenant_id: str = ""
    mailbox: str = ""

    @property
    def channel(self) -> Literal["teams", "mail"]:
        return "mail" if self.mailbox else "teams"

    @property
    def key(self) -> str:
        return f"{self.organisation}|{self.channel}|{self.tenant_id}|{self.aad_object_id}|{self.mailbox.casefold()}"

    def is_person(self, actor: Actor) -> bool:
        return self.channel == "teams" and (self.aad_object_id, self.tenant_id) == (actor.aad_object_id,
                                                                                     actor.tenant_id)


class DpoSettings(BaseModel):
    """Who hears of incidents, and the mailbox Graph ``sendMail`` sends from (in ``sender_tenant``)."""

    model_config = ConfigDict(frozen=True)

    contacts: tuple[DpoContact, ...] = ()
    sender_mailbox: str = ""
    sender_tenant: str = ""

    def concerned(self, agency: Agency | None) -> list[DpoContact]:
        """VDAB's DPOs and those of the agency concerned (art. 9)."""
        wanted = {"vdab", agency.value if agency else "vdab"}
        return [c for c in self.contacts if c.organisation in wanted]


class Notification(BaseModel):
    """One incident to one DPO contact: the outbox of art. 9. Content-free by construction: the
    incident's audit fields only (its ``seq``, reference, category, agency, time)."""

    model_config = ConfigDict(frozen=True)

    id: str  # derived from the incident's seq and the contact: created once, whoever sweeps
    incident: int  # the ``seq`` of the incident's audit event
    subject: str
    category: str
    agency: Agency | None = None
    detected_at: datetime
    contact: DpoContact
    attempts: int = 0
    due_at: datetime | None = None  # None once sent or given up
    sent_at: datetime | None = None
    failed: str | None = None  # why it was given up (a status), if it was
    acknowledged_at: datetime | None = None
    version: int = 0


def new_id() -> str:
    """An unguessable id for drafts and handoffs (carried in card data)."""
    return secrets.token_urlsafe(16)


def new_reference() -> str:
    """A short reference people can read out and search for, e.g. ``TK-7F3A9C``."""
    return "TK-" + secrets.token_hex(3).upper()


def client_fingerprint(key: bytes, naam: str, geboortedatum: date) -> str:
    """A keyed hash that recognises a client again without storing who it is."""
    message = f"{normalise_name(naam)}|{geboortedatum.isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
