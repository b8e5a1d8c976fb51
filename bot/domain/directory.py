"""Finding a client in VDAB's client directory, and deciding whether they qualify."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.domain.model import DirectoryClient, Reason, Recipient
from bot.domain.template import Identity
from bot.domain.text import name_key


@dataclass(frozen=True, slots=True)
class Eligible:
    client: DirectoryClient

    @property
    def recipient(self) -> Recipient:
        return self.client.trajectbegeleider


@dataclass(frozen=True, slots=True)
class Ineligible:
    reason: Reason


def lookup_key(naam: str, geboortedatum: date) -> tuple[str, date]:
    """What identifies a client for the match: the name's words in any order (case, accents,
    spaces and commas ignored) and the exact birth date. A directory may index on it."""
    return name_key(naam), geboortedatum


def matches(identity: Identity, candidates: Iterable[DirectoryClient]) -> list[DirectoryClient]:
    """Entries with the same ``lookup_key``: "HADDAD, Samira" finds Samira Haddad, born that day."""
    wanted = lookup_key(identity.naam, identity.geboortedatum)
    return [c for c in candidates if lookup_key(c.naam, c.geboortedatum) == wanted]


def eligibility(found: list[DirectoryClient]) -> Eligible | Ineligible:
    """Protocol F.2.a: exactly one client, with an active inburgeringstraject."""
    if not found:
        return Ineligible(Reason.UNKNOWN_CLIENT)
    if len(found) > 1:
        return Ineligible(Reason.AMBIGUOUS_CLIENT)
    if not found[0].actief_inburgeringstraject:
        return Ineligible(Reason.NOT_ACTIVE)
    return Eligible(found[0])


def still_backed(found: DirectoryClient | None, recipient: Recipient) -> Reason | None:
    """Asked again later (at ``verstuur``, before a queued delivery): does the directory still name
    this recipient for a client with an active inburgeringstraject?"""
    if found is None:
        return Reason.UNKNOWN_CLIENT
    if not found.actief_inburgeringstraject:
        return Reason.NOT_ACTIVE
    now = found.trajectbegeleider
    if (now.aad_object_id, now.tenant_id) != (recipient.aad_object_id, recipient.tenant_id):
        return Reason.RECIPIENT_CHANGED
    return None
