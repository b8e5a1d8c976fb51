"""Detect Belgian national register numbers (INSZ / rijksregisternummer) in free text.

The protocol (F.2.b) forbids them in a terugkoppeling. An INSZ is 11 digits: YYMMDD (birth date,
month may be +20/+40 for bis numbers, 00 when unknown), a 3-digit serial and a 2-digit check. The
check is ``97 - (first 9 digits mod 97)``; for births from 2000 the digit ``2`` is prefixed before
the mod. Written in any usual notation: ``85.07.30-033.28``, ``850730 033 28``, ``85073003328``.

Detection sees through whatever stands between the digits, as long as it is not a letter or
another digit: dots, slashes, any dash, any space (NBSP, thin space), line breaks, invisible
format characters (zero-width space, soft hyphen, word joiner, bidi marks), combining marks.
Digits are read in any script and form (full-width ``８``, superscript ``⁸``, Arabic-Indic).
It is one linear pass over the text (a regex without nested repetition), whatever its length.
"""

from __future__ import annotations

import re
import unicodedata

# After NFKC: a run of digits, or a run of letters. Everything else between them is a separator.
_TOKEN = re.compile(r"(\d+)|[^\W\d_]+")
_LENGTH = 11


def _check_ok(digits: str) -> bool:
    base, check = int(digits[:9]), int(digits[9:])
    return check in (97 - base % 97, 97 - int("2" + digits[:9]) % 97)


def _date_plausible(digits: str) -> bool:
    """YYMMDD as the register writes it: month 0–12, +20 or +40 for bis numbers; day 0–31."""
    month, day = int(digits[2:4]), int(digits[4:6])
    return month % 20 <= 12 and month <= 52 and day <= 31


def is_insz(digits: str) -> bool:
    """True when ``digits`` (exactly 11 ASCII digits) could be an INSZ: plausible date, mod-97 check."""
    return (
        len(digits) == _LENGTH and digits.isascii() and digits.isdigit()
        and _date_plausible(digits) and _check_ok(digits)
    )


def _ascii_digits(run: str) -> str:
    return run if run.isascii() else "".join(str(unicodedata.digit(ch)) for ch in run)


def _group_has_insz(digits: str, starts: set[int], ends: set[int]) -> bool:
    # A candidate starts where a run of digits starts and ends where one ends: "1 85.07.30-033.28"
    # is found, "850730033280" (12 digits in a row) is not an INSZ.
    return any(s + _LENGTH in ends and is_insz(digits[s : s + _LENGTH]) for s in starts)


def contains_insz(text: str) -> bool:
    """True when ``text`` holds an INSZ number in any notation, whatever separates its digits."""
    normal = unicodedata.normalize("NFKC", text)  # full-width and superscript digits become digits
    digits: list[str] = []
    length = 0
    starts: set[int] = set()
    ends: set[int] = set()
    for match in _TOKEN.finditer(normal):
        run = match.group(1)
        if run is None:  # a word: what came before is one group, checked on its own
            if length >= _LENGTH and _group_has_insz("".join(digits), starts, ends):
                return True
            digits, length, starts, ends = [], 0, set(), set()
            continue
        starts.add(length)
        digits.append(_ascii_digits(run))
        length += len(run)
        ends.add(length)
    return length >= _LENGTH and _group_has_insz("".join(digits), starts, ends)
