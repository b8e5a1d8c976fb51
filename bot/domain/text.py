"""Checks every free-text field of the template shares: what may never be typed into it."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from bot.domain.insz import contains_insz


class TextProblem(StrEnum):
    """Why a text was refused; the Teams layer turns each into a Dutch sentence."""

    CONTROL = "control"
    INSZ = "insz"
    EMAIL = "email"
    PHONE = "phone"
    IBAN = "iban"


_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]{2,}")
# +32 470 12 34 56, 0032..., 0470/12.34.56, 09 123 45 67: digits in groups, starting with + or 0.
_PHONE = re.compile(r"(?<![\w+])(\+|00)?(\d(?:[ ./-]?\d){7,14})(?!\d)")
_DATE_LIKE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-](\d{4}|\d{2}(?!\d))")
_IBAN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30})(?![A-Za-z0-9])")
# Bidirectional overrides can make a card show something other than what is stored.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def _is_phone(prefix: str | None, number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    if prefix:
        return 9 <= len(digits) <= 15
    if not number.startswith("0") or _DATE_LIKE.match(number):
        return False
    return len(digits) in (9, 10)


def has_control_chars(text: str, *, multiline: bool = False) -> bool:
    """True when ``text`` holds control characters (newlines and tabs allowed when multiline)."""
    allowed = {"\n", "\t"} if multiline else set()
    return any(
        (unicodedata.category(ch) == "Cc" and ch not in allowed) or ch in _BIDI for ch in text
    )


def problem(text: str, *, multiline: bool = False) -> TextProblem | None:
    """The first reason ``text`` does not belong in the template, or None."""
    if has_control_chars(text, multiline=multiline):
        return TextProblem.CONTROL
    if contains_insz(text):
        return TextProblem.INSZ
    if _EMAIL.search(text):
        return TextProblem.EMAIL
    if any(_iban_ok(m.group(1)) for m in _IBAN.finditer(text)):
        return TextProblem.IBAN
    if any(_is_phone(m.group(1), m.group(2)) for m in _PHONE.finditer(text)):
        return TextProblem.PHONE
    return None


def clean(text: str, *, multiline: bool = False) -> str:
    """Trim, and for multiline text normalise line endings; nothing else is changed."""
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return "\n".join(line.rstrip() for line in text.strip().split("\n"))
    return text.strip()


def normalise_name(name: str) -> str:
    """A name as the directory match sees it: no accents, case or extra spaces."""
    decomposed = unicodedata.normalize("NFKD", name.replace("\u2019", "'"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())
