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
