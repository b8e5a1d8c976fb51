"""The identification forgives: a birth date typed as people in Flanders write it, and every problem
in a field named at once (issue 14)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.domain.template import DMY_PATTERN, ErrorCode, check_content, check_identity

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize("typed", ["12/04/1990", "12-04-1990", "12.04.1990", " 12/4/1990 ", "1990-04-12"])
def test_the_birth_date_may_be_typed_as_dd_mm_jjjj(typed):
    checked = check_identity({"naam": "Amina El Idrissi", "geboortedatum": typed}, TODAY)
    assert checked.model is not None and checked.model.geboortedatum == date(1990, 4, 12)
    assert re.match(DMY_PATTERN, typed)  # the card's pattern lets through what the bot accepts


@pytest.mark.parametrize("typed", ["31/02/1990", "12/13/1990", "00/04/1990"])
def test_a_date_that_does_not_exist_is_refused_though_the_pattern_fits(typed):
    checked = check_identity({"naam": "Amina El Idrissi", "geboortedatum": typed}, TODAY)
    assert checked.model is None and [e.code for e in checked.errors] == [ErrorCode.BAD_DATE]


@pytest.mark.parametrize("typed", ["12/04/90", "april 1990", "1990/04/12", "12 04 1990"])
def test_the_card_pattern_refuses_what_the_bot_refuses(typed):
    assert not re.match(DMY_PATTERN, typed)
    assert check_identity({"naam": "Amina", "geboortedatum": typed}, TODAY).model is None


def test_every_problem_in_a_field_is_named():
    toelichting = "Ziek thuis na een operatie, rijksregisternummer 85.07.30-033.28, mail amina@example.be. " * 4
    checked = check_content({"jobdoelwit": "Magazijn", "eerstvolgende_contact": "03/12/2026", "stappen": "stage",
                             "toelichting": toelichting}, TODAY)
    codes = [e.code for e in checked.errors if e.field == "toelichting"]
    assert checked.model is None
    assert codes[:2] == [ErrorCode.TOO_LONG, ErrorCode.INSZ] and ErrorCode.HEALTH in codes


def test_problems_in_several_fields_are_all_named():
    checked = check_content({"jobdoelwit": "x", "eerstvolgende_contact": "2026-11-01", "stappen": ""}, TODAY)
    assert {(e.field, e.code) for e in checked.errors} == {
        ("jobdoelwit", ErrorCode.TOO_SHORT), ("eerstvolgende_contact", ErrorCode.NOT_FUTURE),
        ("stappen", ErrorCode.NO_CHOICE)}
