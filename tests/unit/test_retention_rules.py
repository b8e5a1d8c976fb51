"""The bot's own retention periods (issue 15): pure functions of a moment."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.domain.retention import BRUSSELS, Retention, months_before


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 11, 30), 24, date(2024, 11, 30)),
    (date(2026, 3, 31), 1, date(2026, 2, 28)),
    (date(2028, 3, 31), 1, date(2028, 2, 29)),  # a leap year
    (date(2026, 1, 15), 13, date(2024, 12, 15)),
    (date(2026, 12, 31), 60, date(2021, 12, 31)),
])
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected


def test_fingerprints_are_kept_for_the_period_and_never_past_the_protocols_end():
    now = datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert Retention().fingerprints_before(now) == datetime(2024, 11, 30, tzinfo=BRUSSELS)
    assert Retention(keep_fingerprints_months=6).fingerprints_before(now) == datetime(2026, 5, 30, tzinfo=BRUSSELS)
    assert Retention(keep_fingerprints_months=99).fingerprints_before(now) == datetime(2024, 11, 30, tzinfo=BRUSSELS)
    assert Retention(protocol_end=date(2026, 11, 30)).fingerprints_before(now) < now  # its last day: still kept
    assert Retention(protocol_end=date(2026, 11, 29)).fingerprints_before(now) == now  # past it: every one


def test_the_audit_trail_is_kept_for_years_from_midnight_in_brussels():
    now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already 1 December in Brussels
    assert Retention().audit_before(now) == datetime(2021, 12, 1, tzinfo=BRUSSELS)
    assert Retention(keep_audit_years=None).audit_before(now) is None


def test_settings_bound_the_periods():
    assert Settings(BOT_KEEP_AUDIT_YEARS="0").keep_audit_years == 0  # for ever
    with pytest.raises(ValidationError, match="BOT_KEEP_FINGERPRINTS_MONTHS"):
        Settings(BOT_KEEP_FINGERPRINTS_MONTHS="36")  # past the 24-month ceiling
