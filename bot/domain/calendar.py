"""Working days and office hours in Europe/Brussels, for reminders people can act on.

A working day is a weekday that is not a Belgian public holiday (the maintained ``holidays``
library), not 11 July (the Flemish Community's holiday: a day off for Flemish public services,
which the library does not list) and not one of the configured extra closing days.

Each organisation closes on its own extra days (``Calendars``): a reminder to a trajectbegeleider
counts that agency's working days, an escalation to a counsellor VDAB's. VDAB and the Agentschap
Integratie en Inburgering are Flemish public services, closed by default on 2 and 15 November and
from 26 to 31 December as well; the city agencies (Atlas Antwerpen, Amal Gent) follow their city's
staff rules, so they get no extra days unless configured (README, Closing days).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import holidays

BRUSSELS = ZoneInfo("Europe/Brussels")
FLEMISH_COMMUNITY_DAY = (7, 11)
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LONGEST_RANGE = 366
_MAX_ANSWERS = 4_096  # days a calendar remembers whether they are working days (years of sweeps)


@dataclass(frozen=True)
class ClosingDays:
    """Extra closing days: some every year (month, day), some on one date only."""

    yearly: frozenset[tuple[int, int]] = frozenset()
    dates: frozenset[date] = frozenset()

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and ((day.month, day.day) in self.yearly or day in self.dates)

    def __or__(self, other: ClosingDays) -> ClosingDays:
        return ClosingDays(self.yearly | other.yearly, self.dates | other.dates)

    @classmethod
    def parse(cls, text: str) -> ClosingDays:
        """``11-02,11-15,12-26..12-31,2027-05-07``: ``MM-DD`` every year, ``YYYY-MM-DD`` once, and
        ``A..B`` every day from A to B (a yearly range may run over New Year); ``none`` for no days.
        Raises ValueError, naming the entry it cannot read."""
        yearly: set[tuple[int, int]] = set()
        dates: set[date] = set()
        entries = [e.strip() for e in text.split(",") if e.strip()]
        if [e.casefold() for e in entries] == ["none"]:
            return cls()
        for entry in entries:
            first, sep, last = (part.strip() for part in entry.partition(".."))
            try:
                if _MONTH_DAY.fullmatch(first) and (not sep or _MONTH_DAY.fullmatch(last)):
                    yearly |= _yearly_range(first, last if sep else first)
                elif _DATE.fullmatch(first) and (not sep or _DATE.fullmatch(last)):
                    dates |= _date_range(date.fromisoformat(first), date.fromisoformat(last) if sep else None)
                else:
                    raise ValueError
            except ValueError:
                raise ValueError(
                    f"expected MM-DD (every year), YYYY-MM-DD or a range A..B, separated by commas, got {entry!r}"
                ) from None
        return cls(frozenset(yearly), frozenset(dates))


def _month_day(text: str) -> date:
    month, day = (int(x) for x in text.split("-"))
    return date(2000, month, day)  # a leap year, so 02-29 is a valid yearly day


def _month_days(first: date, last: date) -> set[tuple[int, int]]:
    return {(d.month, d.day) for d in (first + timedelta(days=n) for n in range((last - first).days + 1))}


def _yearly_range(first: str, last: str) -> set[tuple[int, int]]:
    start, end = _month_day(first), _month_day(last)
    if end < start:  # over New Year
        return _month_days(start, date(2000, 12, 31)) | _month_days(date(2000, 1, 1), end)
    return _month_days(start, end)


def _date_range(first: date, last: date | None) -> set[date]:
    last = last or first
    if not first <= last <= first + timedelta(days=_LONGEST_RANGE):
        raise ValueError
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


@dataclass(frozen=True)
class WorkingCalendar:
    office_start: time = time(9, 0)
    office_end: time = time(17, 0)
    extra_closed: frozenset[date] = frozenset()
    closing: ClosingDays = ClosingDays()
    _public: holidays.HolidayBase = field(
        default_factory=lambda: holidays.country_holidays("BE", language="nl"), repr=False, compare=False
    )
    # Answers already given (issue 16: a sweep asks about the same few days for every handoff, and a
    # holiday look-up is not cheap); the calendar never changes, so neither do they.
    _answers: dict[date, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.office_start >= self.office_end:
            raise ValueError("office hours must start before they end")

    def is_working_day(self, day: date) -> bool:
        known = self._answers.get(day)
        if known is not None:
            return known
        working = (
            day.weekday() < 5
            and day not in self._public
            and (day.month, day.day) != FLEMISH_COMMUNITY_DAY
            and day not in self.extra_closed
            and day not in self.closing
        )
        if len(self._answers) >= _MAX_ANSWERS:
            self._answers.clear()
        self._answers[day] = working
        return working

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


class Organisation(StrEnum):
    """Who keeps a calendar: VDAB (the counsellors) and the three agencies (as ``Agency`` spells them)."""

    VDAB = "vdab"
    AGII = "agii"
    ATLAS = "atlas"
    AMAL = "amal"


# Vlaamse overheid (Vlaams Personeelsstatuut, Deel X Titel 2; README, Closing days): 2 and 15 November
# are days off, and the feestdagen that fall on a weekend are given back between Christmas and New Year.
FLEMISH_PUBLIC_SERVICE = ClosingDays.parse("11-02,11-15,12-26..12-31")
DEFAULT_CLOSING: Mapping[Organisation, ClosingDays] = {
    Organisation.VDAB: FLEMISH_PUBLIC_SERVICE,
    Organisation.AGII: FLEMISH_PUBLIC_SERVICE,
    Organisation.ATLAS: ClosingDays(),  # Stad Antwerpen's own staff rules: configure them
    Organisation.AMAL: ClosingDays(),  # Stad Gent's own staff rules: configure them
}


@dataclass(frozen=True)
class Calendars:
    """One ``WorkingCalendar`` per organisation: reminders to a trajectbegeleider count their agency's
    working days, escalations to a counsellor VDAB's."""

    by_organisation: Mapping[Organisation, WorkingCalendar]

    @classmethod
    def build(
        cls,
        office_start: time = time(9, 0),
        office_end: time = time(17, 0),
        closing: Mapping[str, ClosingDays | None] | None = None,
        everywhere: Iterable[date] = (),
    ) -> Calendars:
        """``closing`` replaces an organisation's default extra closing days (None or absent: the
        default); ``everywhere`` adds dates on which every organisation is closed."""
        closing = closing or {}
        unknown = set(closing) - {o.value for o in Organisation}
        if unknown:
            raise ValueError(f"no calendar for {sorted(unknown)}: expected {[o.value for o in Organisation]}")
        shared = frozenset(everywhere)
        calendars = {}
        for org in Organisation:
            own = closing.get(org.value)
            calendars[org] = WorkingCalendar(
                office_start=office_start,
                office_end=office_end,
                extra_closed=shared,
                closing=DEFAULT_CLOSING[org] if own is None else own,
            )
        return cls(calendars)

    def of(self, organisation: str) -> WorkingCalendar:
        """The calendar of ``organisation`` (an ``Organisation`` or an ``Agency``, by value)."""
        return self.by_organisation[Organisation(str(organisation))]

    @property
    def vdab(self) -> WorkingCalendar:
        """The counsellors' calendar: for escalations and anything told to VDAB."""
        return self.by_organisation[Organisation.VDAB]
