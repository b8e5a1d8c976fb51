"""Every rule of the template (sjabloon v1), as the design's table states it."""

from datetime import date, time

import pytest

from bot.domain.template import ErrorCode, Stap, check_content, check_identity, content_values

TODAY = date(2026, 11, 29)
GOOD_CONTENT = {
    "jobdoelwit": "Logistiek medewerker",
    "eerstvolgende_contact": "2026-12-03",
    "eerstvolgende_contact_tijd": "10:30",
    "stappen": "stage,opleiding",
    "partner": "Groep Intro",
    "toelichting": "Start opleiding heftruck\nin januari.",
}


def codes(checked):
    return {(e.field, e.code) for e in checked.errors}


def test_valid_identity_is_trimmed():
    checked = check_identity({"naam": "  Amina El Idrissi ", "geboortedatum": "1990-04-12"}, TODAY)
    assert checked.ok and checked.model.naam == "Amina El Idrissi"


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"naam": "", "geboortedatum": "1990-04-12"}, ("naam", ErrorCode.REQUIRED)),
        ({"naam": "A", "geboortedatum": "1990-04-12"}, ("naam", ErrorCode.TOO_SHORT)),
        ({"naam": "A" * 101, "geboortedatum": "1990-04-12"}, ("naam", ErrorCode.TOO_LONG)),
        ({"naam": "Amina\x00", "geboortedatum": "1990-04-12"}, ("naam", ErrorCode.CONTROL)),
        ({"naam": "Amina\u202eX", "geboortedatum": "1990-04-12"}, ("naam", ErrorCode.CONTROL)),
        ({"naam": "85.07.30-033.28", "geboortedatum": "1990-04-12"}, ("naam", ErrorCode.INSZ)),
        ({"naam": "Amina", "geboortedatum": ""}, ("geboortedatum", ErrorCode.REQUIRED)),
        ({"naam": "Amina", "geboortedatum": "12/04/90"}, ("geboortedatum", ErrorCode.BAD_DATE)),
        ({"naam": "Amina", "geboortedatum": "31/02/1990"}, ("geboortedatum", ErrorCode.BAD_DATE)),
        ({"naam": "Amina", "geboortedatum": "1990-02-30"}, ("geboortedatum", ErrorCode.BAD_DATE)),
        ({"naam": "Amina", "geboortedatum": "2026-11-29"}, ("geboortedatum", ErrorCode.NOT_PAST)),
        ({"naam": "Amina", "geboortedatum": "2011-01-01"}, ("geboortedatum", ErrorCode.AGE)),
        ({"naam": "Amina", "geboortedatum": "1925-11-28"}, ("geboortedatum", ErrorCode.AGE)),
    ],
)
def test_identity_rules(form, expected):
    checked = check_identity(form, TODAY)
    assert not checked.ok and expected in codes(checked)
    assert checked.values == {"naam": form["naam"], "geboortedatum": form["geboortedatum"]}


def test_age_bounds_are_inclusive():
    assert check_identity({"naam": "Jo", "geboortedatum": "2010-11-29"}, TODAY).ok  # 16 today
    assert check_identity({"naam": "Jo", "geboortedatum": "1926-11-29"}, TODAY).ok  # 100 today


def test_valid_content():
    checked = check_content(GOOD_CONTENT, TODAY)
    assert checked.ok
    model = checked.model
    assert model.stappen == (Stap.OPLEIDING, Stap.STAGE)  # template order
    assert model.eerstvolgende_contact_tijd == time(10, 30)
    assert content_values(model)["stappen"] == "opleiding,stage"


def test_optional_fields_may_be_empty():
    form = {**GOOD_CONTENT, "eerstvolgende_contact_tijd": "", "partner": "", "toelichting": ""}
    model = check_content(form, TODAY).model
    assert model is not None and model.partner is None and model.toelichting is None


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("jobdoelwit", "", ErrorCode.REQUIRED),
        ("jobdoelwit", "x", ErrorCode.TOO_SHORT),
        ("jobdoelwit", "x" * 201, ErrorCode.TOO_LONG),
        ("jobdoelwit", "mail naar jan@vdab.example", ErrorCode.EMAIL),
        ("eerstvolgende_contact", "", ErrorCode.REQUIRED),
        ("eerstvolgende_contact", "morgen", ErrorCode.BAD_DATE),
        ("eerstvolgende_contact", "2026-11-28", ErrorCode.NOT_FUTURE),
        ("eerstvolgende_contact_tijd", "25:00", ErrorCode.BAD_TIME),
        ("eerstvolgende_contact_tijd", "9u", ErrorCode.BAD_TIME),
        ("stappen", "", ErrorCode.NO_CHOICE),
        ("stappen", "stage,vakantie", ErrorCode.BAD_CHOICE),
        ("partner", "p" * 101, ErrorCode.TOO_LONG),
        ("partner", "bel 0470 12 34 56", ErrorCode.PHONE),
        ("toelichting", "t" * 501, ErrorCode.TOO_LONG),
        ("toelichting", "storting op BE68 5390 0754 7034", ErrorCode.IBAN),
        ("toelichting", "INSZ 85073003328", ErrorCode.INSZ),
        ("toelichting", "tab\tok maar bel\x07niet", ErrorCode.CONTROL),
    ],
)
def test_content_rules(field, value, code):
    checked = check_content({**GOOD_CONTENT, field: value}, TODAY)
    assert not checked.ok
    assert (field, code) in codes(checked)
    assert checked.values[field] == value  # the form keeps what was typed


def test_today_is_a_valid_next_contact():
    assert check_content({**GOOD_CONTENT, "eerstvolgende_contact": "2026-11-29"}, TODAY).ok


def test_multiline_allowed_only_in_toelichting():
    assert check_content({**GOOD_CONTENT, "toelichting": "a\r\nb"}, TODAY).model.toelichting == "a\nb"
    assert not check_content({**GOOD_CONTENT, "partner": "a\nb"}, TODAY).ok
