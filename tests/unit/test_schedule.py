"""The sweep's rules: when to retry, remind, escalate and purge."""

import random
from datetime import datetime, timedelta

from bot.domain.calendar import BRUSSELS
from bot.domain.handoff import HandoffState
from bot.domain.schedule import Schedule, Step
from tests.factories import handoff

SCHEDULE = Schedule()
SENT = datetime(2026, 12, 23, 10, 0, tzinfo=BRUSSELS)


def delivered(**changes):
    h = handoff().model_copy(update={"state": HandoffState.DELIVERED, "created_at": SENT, "sent_at": SENT, **changes})
    return h.model_copy(update={"due_at": SCHEDULE.due(h)})


def test_backoff_grows_with_jitter_up_to_the_cap():
    rng = random.Random(7)
    delays = [SCHEDULE.retry_delay(n, None, rng) for n in range(1, 12)]
    assert timedelta(seconds=15) <= delays[0] <= timedelta(seconds=30)
    assert delays[4] >= timedelta(seconds=240)  # 30 s × 2⁴ × at least one half
    assert max(delays) <= SCHEDULE.retry_cap
    assert len({d.total_seconds() for d in delays}) == len(delays)  # jittered, never in lockstep


def test_retry_after_is_honoured_even_beyond_the_backoff():
    assert SCHEDULE.retry_delay(1, 120) >= timedelta(seconds=120)
    assert SCHEDULE.retry_delay(1, 0.5) >= timedelta(seconds=15)


def test_reminders_then_escalation_then_the_retention_cap():
    h = delivered()
    assert h.due_at == datetime(2026, 12, 28, 10, 0, tzinfo=BRUSSELS)
    assert SCHEDULE.step(h, h.due_at - timedelta(minutes=1)) is None
    assert SCHEDULE.step(h, h.due_at) is Step.REMIND
    h = delivered(reminders_sent=3, last_reminded_at=datetime(2027, 1, 4, 10, 0, tzinfo=BRUSSELS))
    assert h.due_at == datetime(2027, 1, 6, 10, 0, tzinfo=BRUSSELS)  # 8 working days, New Year skipped
    assert SCHEDULE.step(h, h.due_at) is Step.ESCALATE
    h = delivered(reminders_sent=3, escalated=True)
    assert h.due_at == SENT + timedelta(days=30)
    assert SCHEDULE.step(h, h.due_at) is Step.EXPIRE


def test_closed_handoffs_are_only_due_for_their_follow_up():
    h = delivered().model_copy(update={"state": HandoffState.TRANSFERRED, "follow_up": True})
    assert SCHEDULE.step(h, SENT + timedelta(days=99)) is Step.FOLLOW_UP
    assert SCHEDULE.due(h) is None


def test_a_reminder_found_after_closing_time_waits_for_the_next_opening():
    h = delivered()
    evening = datetime(2026, 12, 28, 18, 0, tzinfo=BRUSSELS)
    assert SCHEDULE.step(h, evening) is None
    assert SCHEDULE.reschedule(h, evening) == datetime(2026, 12, 29, 9, 0, tzinfo=BRUSSELS)
    assert SCHEDULE.step(h, datetime(2026, 12, 29, 9, 0, tzinfo=BRUSSELS)) is Step.REMIND


def test_after_a_sweep_outage_reminders_do_not_come_in_a_burst():
    back = datetime(2027, 1, 11, 10, 0, tzinfo=BRUSSELS)  # nobody swept for three weeks
    h = delivered(reminders_sent=1, last_reminded_at=back)  # the overdue reminder went out just now
    assert SCHEDULE.due(h) == datetime(2027, 1, 13, 10, 0, tzinfo=BRUSSELS)  # the next one: 2 working days on
