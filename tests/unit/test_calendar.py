"""Working days in Flanders: weekends, Belgian public holidays, 11 July, extra closing days."""

from datetime import date, datetime, time

import pytest

from bot.domain.calendar import BRUSSELS, WorkingCalendar

CAL = WorkingCalendar()


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BRUSSELS)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 24), True),  # Christmas Eve is a working day
        (date(2026, 12, 25), False),  # Christmas
        (date(2026, 12, 26), False),  # Saturday
        (date(2027, 1, 1), False),  # New Year
        (date(2027, 3, 29), False),  # Easter Monday
        (date(2027, 5, 6), False),  # Ascension
        (date(2027, 5, 17), False),  # Whit Monday
        (date(2025, 7, 11), False),  # Flemish Community holiday (a Friday), not in the holidays library
        (date(2025, 7, 21), False),  # National day
        (date(2027, 11, 11), False),  # Armistice
        (date(2027, 11, 12), True),
    ],
)
def test_working_days(day, working):
    assert CAL.is_working_day(day) is working


def test_two_working_days_skip_the_weekend_and_christmas():
    assert CAL.add_working_days(at(2026, 12, 23), 2) == at(2026, 12, 28)  # Thu 24, (Fri 25), Mon 28
    assert CAL.add_working_days(at(2026, 12, 18, 15, 30), 2) == at(2026, 12, 22, 15, 30)  # Fri → Tue


def test_easter_monday_and_11_july_are_skipped():
    assert CAL.add_working_days(at(2027, 3, 25, 16, 30), 2) == at(2027, 3, 30, 16, 30)  # Fri 26, (Mon 29), Tue 30
    assert CAL.add_working_days(at(2025, 7, 10), 1) == at(2025, 7, 14)  # (Fri 11 July) → Mon 14


def test_a_handoff_sent_on_a_closed_day_counts_from_the_first_working_day_at_opening():
    assert CAL.add_working_days(at(2026, 12, 26, 14, 0), 2) == at(2026, 12, 29, 9, 0)  # Sat → Mon, Tue 09:00


def test_reminders_fall_in_office_hours():
    assert CAL.add_working_days(at(2026, 12, 1, 7, 15), 1) == at(2026, 12, 2, 9, 0)
    assert CAL.add_working_days(at(2026, 12, 1, 18, 40), 1) == at(2026, 12, 3, 9, 0)  # after closing: next day
    assert CAL.in_office_hours(at(2026, 12, 4, 17, 0)) == at(2026, 12, 7, 9, 0)  # Friday 17:00 → Monday 09:00


def test_office_hours_follow_daylight_saving_time():
    summer = CAL.in_office_hours(datetime(2027, 7, 1, 5, 0, tzinfo=BRUSSELS))
    assert summer.utcoffset().total_seconds() == 7200 and summer.time() == time(9, 0)


def test_extra_closing_days_and_office_hours_are_configurable():
    bridge = frozenset({date(2026, 12, 24)})
    cal = WorkingCalendar(office_start=time(8, 30), office_end=time(12, 0), extra_closed=bridge)
    assert cal.add_working_days(at(2026, 12, 23, 11, 0), 1) == at(2026, 12, 28, 11, 0)
    assert cal.in_office_hours(at(2026, 12, 28, 12, 30)) == at(2026, 12, 29, 8, 30)
    with pytest.raises(ValueError):
        WorkingCalendar(office_start=time(17), office_end=time(9))
