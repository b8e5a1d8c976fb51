"""INSZ numbers are refused in every notation, for births before and after 2000."""

import pytest

from bot.domain.insz import contains_insz, is_insz


def insz(yymmdd: str, serial: str, *, born_2000s: bool = False) -> str:
    base = yymmdd + serial
    check = 97 - int(("2" if born_2000s else "") + base) % 97
    return f"{base}{check:02d}"


BEFORE_2000 = insz("850730", "033")
AFTER_2000 = insz("050101", "123", born_2000s=True)


def test_check_digits_for_both_centuries():
    assert BEFORE_2000 == "85073003328"
    assert is_insz(BEFORE_2000) and is_insz(AFTER_2000)


def test_wrong_check_digit_is_not_an_insz():
    assert not is_insz(BEFORE_2000[:-2] + "00")


@pytest.mark.parametrize(
    "written",
    [
        "85073003328",
        "85.07.30-033.28",
        "850730 033 28",
        "85-07-30-033-28",
        "85/07/30 033.28",
        "rijksregister 85.07.30-033.28 graag",
    ],
)
def test_usual_notations_are_found(written):
    assert contains_insz(written)


def test_post_2000_notation_found():
    a = AFTER_2000
    assert contains_insz(f"{a[:2]}.{a[2:4]}.{a[4:6]}-{a[6:9]}.{a[9:]}")


@pytest.mark.parametrize("text", ["12345678901", "stage van 3 maanden", "850730033280", "2026-12-01"])
def test_other_numbers_are_not_insz(text):
    assert not contains_insz(text)


SEPARATORS = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "soft hyphen": "\u00ad",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "en dash": "\u2013",
    "em dash": "\u2014",
    "minus sign": "\u2212",
    "non-breaking hyphen": "\u2011",
    "no-break space": "\u00a0",
    "narrow no-break space": "\u202f",
    "thin space": "\u2009",
    "ideographic space": "\u3000",
    "left-to-right mark": "\u200e",
    "right-to-left override": "\u202e",
    "middle dot": "\u00b7",
    "dot": ".",
    "slash": "/",
    "comma": ",",
    "underscore": "_",
    "newline": "\n",
    "combining low line": "\u0332",
}


@pytest.mark.parametrize("separator", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_any_separator_between_every_digit_is_seen_through(separator):
    assert contains_insz(separator.join(BEFORE_2000))
    assert contains_insz("nr " + separator.join(AFTER_2000) + " ok")
    assert contains_insz(f"85{separator}07{separator}30{separator * 3}033{separator}28")


@pytest.mark.parametrize(
    "written",
    ["８５０７３００３３２８", "⁸⁵⁰⁷³⁰⁰³³²⁸", "٨٥٠٧٣٠٠٣٣٢٨", "1 85.07.30-033.28", "85.07.30-033.28 4"],
    ids=["full-width", "superscript", "arabic-indic", "a digit before", "a digit after"],
)
def test_digits_in_any_form_and_neighbouring_numbers(written):
    assert contains_insz(written)


def test_a_letter_breaks_the_number():
    assert not contains_insz("85.07.30 x 033.28")


def test_an_implausible_birth_date_is_not_an_insz():
    # passes mod 97 but month 13 does not exist (bis numbers add 20 or 40, not 13)
    base = "851330033"
    assert not is_insz(base + f"{97 - int(base) % 97:02d}")
    bis = "852730033"  # month 07 + 20: a bis number
    assert is_insz(bis + f"{97 - int(bis) % 97:02d}")


def test_long_inputs_are_handled_in_one_pass():
    # 200 KB of digits and separators: a regex with nested repetition would take minutes here.
    assert not contains_insz("1\u200b" * 100_000)
    assert not contains_insz("<" + "1." * 100_000)
    assert contains_insz("x " * 100_000 + BEFORE_2000)


def test_lone_surrogates_do_not_break_detection():
    assert contains_insz("\ud800" + "\udfff".join(BEFORE_2000))
    assert not contains_insz("\ud800" * 50)
