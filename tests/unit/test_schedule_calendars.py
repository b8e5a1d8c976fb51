"""The schedule counts each organisation's own working days: a reminder to a trajectbegeleider
counts their agency's, the escalation to the counsellor VDAB's (issue 15)."""

from datetime import UTC, datetime, time, timedelta

from bot.domain.calendar import Calendars, ClosingDays
from bot.domain.handoff import HandoffState
from bot.domain.model import Agency
from bot.domain.schedule import Schedule
from tests import factories as f

# Friday 30 October 2026, 10:00 in Brussels; Monday 2 November is closed for VDAB and AgII by default.
SENT = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
CALENDARS = Calendars.build(time(9), time(17), {"atlas": ClosingDays.parse("11-02"), "amal": ClosingDays.parse("none")})


def delivered(agency: Agency, **changes):
    recipient = f.RECIPIENT.model_copy(update={"agentschap": agency})
    return f.handoff(state=HandoffState.DELIVERED, sent_at=SENT, created_at=SENT, recipient=recipient, **changes)


def test_the_same_reminder_lands_on_different_days_for_atlas_and_amal():
    schedule = Schedule(calendars=CALENDARS, reminder_every=1)
    atlas, amal = schedule.next_reminder(delivered(Agency.ATLAS)), schedule.next_reminder(delivered(Agency.AMAL))
    assert amal.date().isoformat() == "2026-11-02"  # Amal works on 2 November
    assert atlas.date().isoformat() == "2026-11-03"  # Atlas does not


def test_the_escalation_counts_vdabs_working_days():
    schedule = Schedule(calendars=CALENDARS, reminder_every=1, max_reminders=1)
    last = delivered(Agency.AMAL, reminders_sent=1, last_reminded_at=SENT)
    assert schedule.next_reminder(last).date().isoformat() == "2026-11-03"  # VDAB closes on 2 November
    assert schedule.calendar_for(last) is CALENDARS.vdab


def test_vdab_skips_2_and_15_november_by_default():
    vdab = Calendars.build().vdab
    monday_2 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert vdab.add_working_days(monday_2 - timedelta(days=3), 1).date().isoformat() == "2026-11-03"
    assert vdab.add_working_days(datetime(2027, 11, 12, 10, 0, tzinfo=UTC), 1).date().isoformat() == "2027-11-16"
