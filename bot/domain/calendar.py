"""Working days and office hours in Europe/Brussels, for reminders people can act on.

A working day is a weekday that is not a Belgian public holiday (the maintained ``holidays``
library), not 11 July (the Flemish Community's holiday: a day off for Flemish public services,
which the library does not list) and not one of the configured extra closing days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

BRUSSELS = ZoneInfo("Europe/Brussels")
FLEMISH_COMMUNITY_DAY = (7, 11)


@dataclass(frozen=True)
class WorkingCalendar:
    office_start: time = time(9, 0)
    office_end: time = time(17, 0)
    extra_closed: frozenset[date] = frozenset()
    _public: holidays.HolidayBase = field(
        default_factory=lambda: holidays.country_holidays("BE", language="nl"), repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.office_start >= self.office_end:
            raise ValueError("office hours must start before they end")

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in self._public
            and (day.month, day.day) != FLEMISH_COMMUNITY_DAY
            and day not in self.extra_closed
        )

    def closed_days(self, days: Iterable[date]) -> list[date]:
        return [d for d in days if not self.is_working_day(d)]

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        """``days`` working days after ``moment``, at the same local time, moved into office hours.

        Sent on a Friday at 15:00, two working days later is Tuesday 15:00; sent on a Saturday,
        it is Tuesday 09:00 (Monday is the first working day, Tuesday the second).
        """
        local = moment.astimezone(BRUSSELS)
        day, at = local.date(), local.time()
        if not self.is_working_day(day):
            at = time(0, 0)  # the clock starts with the next working day
        for _ in range(days):
            day = self.next_working_day(day)
        return self.in_office_hours(datetime.combine(day, at, BRUSSELS))

    def in_office_hours(self, moment: datetime) -> datetime:
        """``moment`` if it falls in office hours on a working day, else the next opening."""
        local = moment.astimezone(BRUSSELS)
        day = local.date()
        if self.is_working_day(day):
            if local.time() < self.office_start:
                return datetime.combine(day, self.office_start, BRUSSELS)
            if local.time() < self.office_end:
                return local
        return datetime.combine(self.next_working_day(day), self.office_start, BRUSSELS)
