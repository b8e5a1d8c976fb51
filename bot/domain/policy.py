"""Who may do what, and when: the protocol's limits as configuration-driven rules."""

from __future__ import annotations

from collections.abc import Mapping
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
    # Art. 8: an agency's participation may end before the protocol does (agency value → last day).
    agency_end: Mapping[str, date] = field(default_factory=dict)
    end_notice: timedelta = field(default=timedelta(days=30))  # counsellors see the end coming

    def may_start(self, counsellor: Actor, today: date) -> Reason | None:
        if self.counsellor_tenants is not None and counsellor.tenant_id not in self.counsellor_tenants:
            return Reason.COUNSELLOR_TENANT
        return self.in_force(today)

    def counsellor_tenant(self, tenant_id: str | None) -> bool:
        """Someone of this tenant may send a terugkoppeling (anyone, in local mode)."""
        return self.counsellor_tenants is None or tenant_id in self.counsellor_tenants

    def agency_tenant(self, tenant_id: str | None) -> bool:
        """Someone of this tenant may receive one: a tenant of an agency (anyone, in local mode)."""
        return self.agency_tenants is None or any(tenant_id in tenants for tenants in self.agency_tenants.values())

    def in_force(self, today: date) -> Reason | None:
        """Art. 5 and 12: the protocol applies from its start date, and only until it ends."""
        if today < self.protocol_start or (self.protocol_end and today > self.protocol_end):
            return Reason.OUTSIDE_PROTOCOL
        return None

    def ended(self, agency: str | None, today: date) -> Reason | None:
        """Art. 8 and 12: past the protocol's end, or past this agency's participation (``agency``
        an ``Agency`` value; ``None``: the protocol only). Not an incident: nobody did anything wrong.
        An agency taken off the allow-list is not "ended" here: that only stops new terugkoppelingen
        and queued deliveries (``may_receive``), so a typo in the list cannot purge open handoffs."""
        if self.protocol_end and today > self.protocol_end:
            return Reason.OUTSIDE_PROTOCOL
        end = self.agency_end.get(str(agency)) if agency is not None else None
        if end is not None and today > end:
            return Reason.AGENCY_ENDED
        return None

    def any_ended(self, today: date) -> bool:
        """Has the protocol, or any agency's participation, ended by ``today``?"""
        ends = [self.protocol_end, *self.agency_end.values()]
        return any(end is not None and today > end for end in ends)

    def agency_listed(self, agency: str) -> bool:
        """Art. 8: an agency takes part while the allow-list names a tenant for it (always, in local
        mode). Taking it off the list ends its part; it is not a breach."""
        return self.agency_tenants is None or bool(self.agency_tenants.get(agency))

    def end_ahead(self, today: date, agency: str | None = None) -> date | None:
        """The last day of the protocol (or of ``agency``'s participation), when it is near."""
        ends = [e for e in (self.protocol_end, self.agency_end.get(str(agency)) if agency else None) if e]
        soonest = min(ends, default=None)
        return soonest if soonest is not None and today <= soonest <= today + self.end_notice else None

    def may_receive(self, recipient: Recipient) -> Reason | None:
        """The recipient's tenant must be a configured tenant of their own agency. A recipient of a
        listed agency in another tenant is an incident (art. 9); an agency not listed is not."""
        if self.agency_tenants is None:
            return None
        if not self.agency_listed(recipient.agentschap.value):
            return Reason.AGENCY_NOT_LISTED
        if recipient.tenant_id not in self.agency_tenants.get(recipient.agentschap.value, frozenset()):
            return Reason.RECIPIENT_NOT_ALLOWED
        return None
