"""Who may do what, and when: the protocol's limits as configuration-driven rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.model import Actor, Reason, Recipient


@dataclass(frozen=True, slots=True)
class Policy:
    """``None`` for an allow-list means "anyone" (local mode only)."""

    counsellor_tenants: frozenset[str] | None = None
    agency_tenants: dict[str, frozenset[str]] | None = None
    protocol_start: date = date(2025, 4, 1)
    protocol_end: date | None = None
    draft_ttl: timedelta = field(default=timedelta(hours=24))

    def may_start(self, counsellor: Actor, today: date) -> Reason | None:
        if self.counsellor_tenants is not None and counsellor.tenant_id not in self.counsellor_tenants:
            return Reason.COUNSELLOR_TENANT
        return self.in_force(today)

    def in_force(self, today: date) -> Reason | None:
        """Art. 5 and 12: the protocol applies from its start date, and only until it ends."""
        if today < self.protocol_start or (self.protocol_end and today > self.protocol_end):
            return Reason.OUTSIDE_PROTOCOL
        return None

    def may_receive(self, recipient: Recipient) -> Reason | None:
        """The recipient's tenant must be a configured tenant of their own agency."""
        if self.agency_tenants is None:
            return None
        if recipient.tenant_id not in self.agency_tenants.get(recipient.agentschap.value, frozenset()):
            return Reason.RECIPIENT_NOT_ALLOWED
        return None
