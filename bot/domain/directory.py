"""Finding a client in VDAB's client directory, and deciding whether they qualify."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.model import DirectoryClient, Reason, Recipient
from bot.domain.template import Identity
from bot.domain.text import normalise_name


@dataclass(frozen=True, slots=True)
class Eligible:
    client: DirectoryClient

    @property
    def recipient(self) -> Recipient:
        return self.client.trajectbegeleider


@dataclass(frozen=True, slots=True)
class Ineligible:
    reason: Reason


def matches(identity: Identity, candidates: Iterable[DirectoryClient]) -> list[DirectoryClient]:
    """Entries with the same name (ignoring case, accents and spaces) and the exact birth date."""
    wanted = normalise_name(identity.naam)
    return [
        c
        for c in candidates
        if c.geboortedatum == identity.geboortedatum and normalise_name(c.naam) == wanted
    ]


def eligibility(found: list[DirectoryClient]) -> Eligible | Ineligible:
    """Protocol F.2.a: exactly one client, with an active inburgeringstraject."""
    if not found:
        return Ineligible(Reason.UNKNOWN_CLIENT)
    if len(found) > 1:
        return Ineligible(Reason.AMBIGUOUS_CLIENT)
    if not found[0].actief_inburgeringstraject:
        return Ineligible(Reason.NOT_ACTIVE)
    return Eligible(found[0])
