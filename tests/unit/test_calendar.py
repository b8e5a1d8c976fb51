"""Working days in Flanders: weekends, Belgian public holidays, 11 July, extra closing days."""

from datetime import date, datetime, time

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.domain.calendar import BRUSSELS, Calendars, ClosingDays, Organisation, WorkingCalendar

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


# --- closing days per organisation (issue 15) ---------------------------------------------------

CALENDARS = Calendars.build()


def test_vdab_skips_2_and_15_november_the_city_agencies_by_default_do_not():
    friday = at(2027, 10, 29, 10, 0)  # Mon 1 Nov is All Saints' Day for everyone
    assert CALENDARS.vdab.add_working_days(friday, 2) == at(2027, 11, 4, 10, 0)  # (Tue 2 Nov) Wed 3, Thu 4
    assert CALENDARS.of("amal").add_working_days(friday, 2) == at(2027, 11, 3, 10, 0)  # Tue 2, Wed 3
    before_dynasty_day = at(2027, 11, 12, 10, 0)  # Friday; Mon 15 Nov is the King's Feast
    assert CALENDARS.vdab.add_working_days(before_dynasty_day, 1) == at(2027, 11, 16, 10, 0)
    assert CALENDARS.of("agii").add_working_days(before_dynasty_day, 1) == at(2027, 11, 16, 10, 0)
    assert CALENDARS.of("atlas").add_working_days(before_dynasty_day, 1) == at(2027, 11, 15, 10, 0)


def test_flemish_public_services_close_between_christmas_and_new_year():
    sent = at(2026, 12, 23, 10, 0)  # Wednesday
    assert CALENDARS.vdab.add_working_days(sent, 2) == at(2027, 1, 4, 10, 0)  # Thu 24, then Mon 4 January
    assert CALENDARS.of("atlas").add_working_days(sent, 2) == at(2026, 12, 28, 10, 0)  # Thu 24, Mon 28
    assert [d.day for d in CALENDARS.vdab.closed_days(date(2026, 12, d) for d in range(21, 32))] == [
        25, 26, 27, 28, 29, 30, 31]


def test_the_same_reminder_lands_on_different_days_for_atlas_and_amal():
    settings = Settings(_env_file=None, BOT_CLOSED_DAYS_ATLAS="2026-12-07,2026-12-08", BOT_CLOSED_DAYS_AMAL="12-04")
    calendars = Calendars.build(*settings.office_hours, settings.closing_days, settings.closed_days)
    delivered = at(2026, 12, 3, 14, 30)  # Thursday; reminders every 2 working days (Schedule.next_reminder)
    assert calendars.of("atlas").add_working_days(delivered, 2) == at(2026, 12, 9, 14, 30)  # Fri 4, (7, 8), Wed 9
    assert calendars.of("amal").add_working_days(delivered, 2) == at(2026, 12, 8, 14, 30)  # (Fri 4) Mon 7, Tue 8
    assert calendars.vdab.add_working_days(delivered, 2) == at(2026, 12, 7, 14, 30)  # Fri 4, Mon 7


def test_a_configured_list_replaces_the_default_and_bot_closed_days_adds_to_every_calendar():
    settings = Settings(_env_file=None, BOT_CLOSED_DAYS_VDAB="none", BOT_CLOSED_DAYS="2027-05-07")
    calendars = Calendars.build(*settings.office_hours, settings.closing_days, settings.closed_days)
    assert calendars.vdab.is_working_day(date(2027, 11, 2))  # its defaults dropped
    assert not calendars.of("agii").is_working_day(date(2027, 11, 2))  # the others keep theirs
    assert all(not calendars.of(org).is_working_day(date(2027, 5, 7)) for org in ("vdab", "agii", "atlas", "amal"))
    assert not calendars.of("atlas").is_working_day(date(2025, 7, 11))  # 11 July is for everyone


@pytest.mark.parametrize(
    ("text", "closed", "open_"),
    [
        ("11-02,11-15", [date(2030, 11, 2), date(2031, 11, 15)], [date(2030, 11, 3)]),
        ("12-30..01-02", [date(2027, 12, 30), date(2028, 1, 2)], [date(2027, 12, 29), date(2028, 1, 3)]),
        ("2026-12-24..2026-12-31", [date(2026, 12, 24), date(2026, 12, 31)], [date(2027, 12, 24)]),
        ("02-29", [date(2028, 2, 29)], [date(2028, 2, 28)]),
        (" NONE ", [], [date(2026, 11, 2)]),
    ],
)
def test_closing_days_notation(text, closed, open_):
    days = ClosingDays.parse(text)
    assert all(d in days for d in closed) and not any(d in days for d in open_)


@pytest.mark.parametrize("value", ["31-12", "2026-02-30", "12-24..2026-12-31", "2027-01-01..2026-01-01",
                                   "2026-01-01..2027-06-01", "kerst", "none,11-02"])
def test_a_closing_day_that_cannot_be_read_names_the_setting_and_the_entry(value):
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, BOT_CLOSED_DAYS_ATLAS=value)
    assert "BOT_CLOSED_DAYS_ATLAS: expected MM-DD" in str(caught.value)


def test_every_organisation_has_a_calendar_and_nothing_else_does():
    assert set(CALENDARS.by_organisation) == set(Organisation)
    assert [o.value for o in Organisation] == ["vdab", "agii", "atlas", "amal"]
    with pytest.raises(ValueError):
        Calendars.build(closing={"stad": ClosingDays()})
    with pytest.raises(ValueError):
        CALENDARS.of("stad")
