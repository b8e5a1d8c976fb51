"""The application: the ports the use cases work with, in one object the composition root builds.

The use cases themselves are thin modules — ``bot.app.counsellor`` (start, identify, compose,
preview, send), ``bot.app.recipient`` (close, view) — and ``bot.app.outbox`` owns every
lifecycle write, delivery, retry and the sweep. Every state change is audited, without client
data, in the same write as the change.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.app.incidents import Incidents
from bot.app.outbox import Backups, Outbox
from bot.app.ports import ClientDirectory, Clock, Messenger, Store
from bot.app.results import Refused
from bot.app.retention import RetentionSweep
from bot.domain.limits import SlidingWindow
from bot.domain.model import Actor, Agency, AuditEvent, AuditName, DpoSettings, Reason
from bot.domain.policy import Policy
from bot.domain.schedule import Schedule

BRUSSELS = ZoneInfo("Europe/Brussels")


@dataclass
class Bounds:
    """Abuse bounds per counsellor (``bot.domain.limits``): new terugkoppelingen, identifications."""

    commands: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, timedelta(minutes=10)))
    identifications: SlidingWindow = field(default_factory=lambda: SlidingWindow(10, timedelta(minutes=10)))


class Terugkoppeling:
    """What every use case needs: the store, the directory, Teams, the clock, the rules."""

    def __init__(
        self,
        *,
        store: Store,
        directory: ClientDirectory,
        messenger: Messenger,
        clock: Clock,
        policy: Policy,
        fingerprint_key: bytes,
        schedule: Schedule | None = None,
        bounds: Bounds | None = None,
        dpo: DpoSettings | None = None,
        retention: RetentionSweep | None = None,
        backups: Backups | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.messenger = messenger
        self.clock = clock
        self.policy = policy
        self.schedule = schedule or Schedule()
        self.fingerprint_key = fingerprint_key
        self.bounds = bounds or Bounds()
        self.outbox = Outbox(store=store, messenger=messenger, clock=clock, schedule=self.schedule,
                             directory=directory, policy=policy, backups=backups)
        self.incidents = Incidents(store=store, messenger=messenger, clock=clock, schedule=self.schedule, dpo=dpo)
        self.retention = retention  # issue 15: fingerprints and the audit trail past their periods

    def today(self) -> date:
        return self.clock.now().astimezone(BRUSSELS).date()

    async def refuse(self, reason: Reason, actor: Actor, subject: str = "", agency: Agency | None = None) -> Refused:
        """A refusal is evidence too; one outside the agreed agency tenants is an incident (art. 9)."""
        now = self.clock.now()
        events = [AuditEvent(at=now, event=AuditName.REFUSED, subject=subject, actor=actor.aad_object_id,
                             agency=agency, reason=reason.value)]
        if reason is Reason.RECIPIENT_NOT_ALLOWED:
            # The directory points outside the agreed agency tenants; nothing was sent, but the
            # privacy officers must see it.
            events.append(events[0].model_copy(update={"event": AuditName.INCIDENT}))
        await self.store.append_audit(*events)
        return Refused(reason, subject or None)

    def within(self, bound: SlidingWindow, actor: Actor) -> bool:
        return bound.allow(f"{actor.tenant_id}|{actor.aad_object_id}", self.clock.now())

    async def sweep(self, batch: int = 100) -> Counter[str]:
        """All time-driven work that is due now (``bot.app.outbox.Outbox.sweep``)."""
        done = await self.outbox.sweep(batch)
        done.update(await self.incidents.sweep(batch))  # art. 9: incidents to the DPOs, in the same sweep
        if self.retention is not None:
            done.update(await self.retention.sweep(batch))  # issue 15: the bot's own retention
        return done
