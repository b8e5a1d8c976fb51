"""Checks every free-text field of the template shares: what may never be typed into it.

Characters: every character must be visible text. Refused are the categories Cc (control; a
multiline field allows newline and tab), Cf (format: zero-width spaces and joiners, soft hyphen,
word joiner, every bidi mark, embedding, override and isolate: U+061C, U+200E, U+200F,
U+202A–U+202E, U+2066–U+2069), Cs (a lone surrogate half), Co (private use), Cn (unassigned)
and the line/paragraph separators U+2028/U+2029. Dutch text needs none of them (a soft hyphen or a
zero-width joiner pasted from a word processor is refused too: the user retypes the word); spaces
of any width (NBSP, thin space) are allowed.

Every check is linear in the text's length (no regex that can backtrack over the whole input);
callers check the length limit first anyway.
"""

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


# Anchored at the start of a word (or just after an "@"), so a long word without "@" is scanned
# once, not once per position.
_EMAIL = re.compile(r"(?<![^\s@])[^\s@]+@[^\s@]+\.[^\s@]{2,}")
# +32 470 12 34 56, 0032..., 0470/12.34.56, 09 123 45 67: digits in groups, starting with + or 0.
_PHONE = re.compile(r"(?<![\w+])(\+|00)?(\d(?:[ ./-]?\d){7,14})(?!\d)")
_DATE_LIKE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-](\d{4}|\d{2}(?!\d))")
_IBAN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30})(?![A-Za-z0-9])")
# Bidirectional controls can make a card show something other than what is stored; all are Cf,
# and named here so that the rule is visible and tested.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REFUSED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


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
    """True when ``text`` holds a character that is not visible text (see the module's rule);
    newlines and tabs are allowed when multiline."""
    if text.isprintable():  # the common case, at C speed: no Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs but " "
        return False
    allowed = {"\n", "\t"} if multiline else set()
    return any(
        ch in BIDI_CONTROLS or (ch not in allowed and unicodedata.category(ch) in _REFUSED)
        for ch in set(text)  # each distinct character once
    )


def problem(text: str, *, multiline: bool = False) -> TextProblem | None:
    """The first reason ``text`` does not belong in the template, or None."""
    # INSZ first: hidden among invisible characters it is still, above all, an INSZ.
    if contains_insz(text):
        return TextProblem.INSZ
    if has_control_chars(text, multiline=multiline):
        return TextProblem.CONTROL
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
    """A name without accents, case or extra spaces (the client fingerprint's form: keep stable)."""
    decomposed = unicodedata.normalize("NFKD", name.replace("\u2019", "'"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


# Letters that carry an accent-like stroke but do not decompose: "YILMAZ" finds "Yılmaz".
_FOLD = str.maketrans({"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "æ": "ae", "œ": "oe"})


_WORD_BREAKS = str.maketrans({",": " ", "-": " ", "\u2010": " ", "\u2011": " "})


def name_key(name: str) -> str:
    """A name as the directory match sees it: its words in any order; commas, hyphens, case,
    accents and spaces ignored. "HADDAD, Samira", "Haddad Samira" and "Samira Haddad" have one
    key, and so do "El-Idrissi" and "El Idrissi"."""
    broken = name.translate(_WORD_BREAKS)
    if broken.isascii():  # the common case, and what a 100k-client directory pays at load: no NFKD
        plain = broken.casefold()
    else:
        plain = normalise_name(broken).translate(_FOLD)
    return " ".join(sorted(plain.split()))
