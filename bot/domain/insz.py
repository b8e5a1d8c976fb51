"""Detect Belgian national register numbers (INSZ / rijksregisternummer) in free text.

The protocol (F.2.b) forbids them in a terugkoppeling. An INSZ is 11 digits: YYMMDD (birth date,
month may be +20/+40 for bis numbers), a 3-digit serial and a 2-digit check. The check is
``97 - (first 9 digits mod 97)``; for births from 2000 the digit ``2`` is prefixed before the mod.
Written in any usual notation: ``85.07.30-033.28``, ``850730 033 28``, ``85073003328``.
"""

from __future__ import annotations

import re

# 11 digits, optionally separated by dots, dashes, slashes or spaces between groups.
_CANDIDATE = re.compile(r"(?<!\d)(\d(?:[\s./-]*\d){10})(?!\d)")


def _check_ok(digits: str) -> bool:
    base, check = int(digits[:9]), int(digits[9:])
    return check in (97 - base % 97, 97 - int("2" + digits[:9]) % 97)


def is_insz(digits: str) -> bool:
    """True when ``digits`` (exactly 11 digits) passes the INSZ mod-97 check."""
    return len(digits) == 11 and digits.isdigit() and _check_ok(digits)


def contains_insz(text: str) -> bool:
    """True when ``text`` holds an INSZ number in any usual notation."""
    for match in _CANDIDATE.finditer(text):
        if is_insz(re.sub(r"\D", "", match.group(1))):
            return True
    return False
