"""Settings that people type: office hours and closing days, with clear errors."""

from datetime import date, time

import pytest
from pydantic import ValidationError

from bot.config import Settings


def settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)


def test_office_hours_and_closed_days_parse():
    s = settings(BOT_OFFICE_HOURS="08:30-12:00", BOT_CLOSED_DAYS="2026-12-24, 2026-12-31")
    assert s.office_hours == (time(8, 30), time(12)) and s.closed_days == {date(2026, 12, 24), date(2026, 12, 31)}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOT_OFFICE_HOURS": "17:00-09:00"}, "BOT_OFFICE_HOURS"),
        ({"BOT_OFFICE_HOURS": "negen tot vijf"}, "BOT_OFFICE_HOURS"),
        ({"BOT_CLOSED_DAYS": "24/12/2026"}, "BOT_CLOSED_DAYS"),
    ],
)
def test_bad_values_name_the_setting(env, message):
    with pytest.raises(ValidationError, match=message):
        settings(**env)


def test_every_setting_is_in_env_example():
    from pathlib import Path

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    for field in Settings.model_fields.values():
        assert f"{field.alias}=" in example, field.alias
