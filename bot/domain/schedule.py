"""When the sweep acts on a handoff: delivery retries, reminders, escalation, the retention cap.

Pure functions of a handoff and a moment, so the rules can be read (and tested) in one place.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.calendar import Calendars, WorkingCalendar
from bot.domain.handoff import Handoff, HandoffState


class Step(StrEnum):
    """What is due for a handoff."""

    DELIVER = "deliver"
    REMIND = "remind"
    ESCALATE = "escalate"
    EXPIRE = "expire"
    FOLLOW_UP = "follow_up"
    FORGET = "forget"  # the bot's own retention: a closed handoff's envelope is deleted
    TRANSFER = "transfer"  # issue 14: the undo window of "Overgezet" has passed: close and purge


@dataclass(frozen=True)
class Schedule:
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)  # when no per-organisation calendars
    # Each organisation's working days: reminders count the recipient's agency's, the escalation
    # to the counsellor VDAB's (issue 15).
    calendars: Calendars | None = None
    reminder_every: int = 2  # working days
    max_reminders: int = 3
    retention: timedelta = timedelta(days=30)
    lease: timedelta = timedelta(minutes=2)  # how long a claimed step is left to its claimant
    retry_base: timedelta = timedelta(seconds=30)
    retry_cap: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    max_removals: int = 5  # tries to overwrite and delete a recipient's card before giving up (an incident)
    # Storage limitation: how long a closed handoff's content-free envelope is kept (None: for ever).
    keep_closed: timedelta | None = timedelta(days=365)

    def forget_at(self, handoff: Handoff) -> datetime | None:
        """When the envelope of a closed handoff is deleted."""
        if self.keep_closed is None:
            return None
        return (handoff.closed_at or handoff.created_at) + self.keep_closed
    concurrency: int = 8  # due steps a sweep works on at once (well under Teams' per-bot rate limits)
    undo_window: timedelta = timedelta(minutes=10)  # issue 14: "Overgezet" can be undone this long (0: off)

    def purge_at(self, handoff: Handoff) -> datetime:
        """The retention cap: content not confirmed by then is purged, whatever else is due."""
        return handoff.created_at + self.retention

    def next_reminder(self, handoff: Handoff) -> datetime:
        """``reminder_every`` working days after the card arrived, then after each reminder (counted
        from when it went out, so a sweep that was down for days does not fire a burst); one more
        interval after the last reminder, the counsellor is told."""
        assert handoff.sent_at is not None
        calendar = self.calendar_for(handoff)
        return calendar.add_working_days(handoff.last_reminded_at or handoff.sent_at, self.reminder_every)

    def calendar_for(self, handoff: Handoff) -> WorkingCalendar:
        """Whose working days the next step counts: the agency's for a reminder to its
        trajectbegeleider, VDAB's for the escalation to the counsellor."""
        if self.calendars is None:
            return self.calendar
        if handoff.reminders_sent >= self.max_reminders:
            return self.calendars.vdab
        return self.calendars.of(handoff.agency.value)

    def due(self, handoff: Handoff) -> datetime | None:
        """When the sweep should next look at a delivered handoff."""
        if handoff.state is not HandoffState.DELIVERED:
            return None
        if handoff.escalated:
            return self.purge_at(handoff)
        return min(self.next_reminder(handoff), self.purge_at(handoff))

    def step(self, handoff: Handoff, now: datetime) -> Step | None:
        """What to do for ``handoff`` at ``now``, if anything."""
        if handoff.due_at is None or handoff.due_at > now:
            return None
        if handoff.state is HandoffState.DELIVERING:
            return Step.DELIVER
        if handoff.undo_until is not None and handoff.state is HandoffState.DELIVERED:
            return Step.TRANSFER  # issue 14 (due_at is the end of the undo window)
        if not handoff.state.is_open:
            return Step.FOLLOW_UP if handoff.follow_up else Step.FORGET
        if now >= self.purge_at(handoff):
            return Step.EXPIRE
        if handoff.escalated or now < self.next_reminder(handoff):
            return None
        if self.calendar_for(handoff).in_office_hours(now) != now:
            return None  # people are told things in office hours only; see ``reschedule``
        return Step.REMIND if handoff.reminders_sent < self.max_reminders else Step.ESCALATE

    def reschedule(self, handoff: Handoff, now: datetime) -> datetime | None:
        """A due handoff with nothing to do now (e.g. a reminder outside office hours): when to look again."""
        due = self.due(handoff)
        if due is not None and due <= now:
            due = max(self.calendar_for(handoff).in_office_hours(now), now + self.lease)
        return due

    def retry_delay(self, attempts: int, retry_after: float | None, rng: random.Random | None = None) -> timedelta:
        """Exponential backoff, jittered between half and all of it so replicas drift apart, and
        never sooner than the connector's ``Retry-After``."""
        ceiling = min(self.retry_cap, self.retry_base * 2 ** max(attempts - 1, 0))
        delay = timedelta(seconds=(rng or random).uniform(0.5, 1.0) * ceiling.total_seconds())
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        return min(delay, self.retry_cap) if retry_after is None else delay
