"""Screening free text for special-category and judicial data (GDPR art. 9 and 10).

Protocol art. 3 lists what VDAB may pass on and states that no special-category data is involved,
so a terugkoppeling whose free text mentions, say, a depression, a pregnancy or a conviction is
refused before it is stored or sent. The words are data, not code: ``screening_terms.toml`` beside
this module, one table per ``Category`` plus the exceptions (ordinary job and training text such as
"logistiek medewerker ziekenhuis"); its header explains how a term is written.

Matching is on normalised words (case and accents folded, hyphens and apostrophes split words), so
inflections and Dutch compounds are written as prefixes, suffixes or infixes ("depress*",
"*kanker*"), and a few long words also match with one typo. The list is read once, at import; a
screen is a pure function of the text. It answers only *which* category: the matched words are never
returned, so they cannot end up in a message or a log line.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

TERMS_FILE = "screening_terms.toml"
GAP = 3  # "a ... b": at most this many words between a and b


class Category(StrEnum):
    """What a text must not reveal, in the order the protocol's note lists them."""

    HEALTH = "health"
    PREGNANCY = "pregnancy"
    RELIGION = "religion"
    ETHNIC_ORIGIN = "ethnic_origin"
    SEXUAL_ORIENTATION = "sexual_orientation"
    UNION_MEMBERSHIP = "union_membership"
    CRIMINAL = "criminal"
    DEBT_MEDIATION = "debt_mediation"


_WORD = re.compile(r"[^\W_]+")
_ALTERNATIVE = re.compile(r"\*?[^\W_]+\*?")
_SEPARATORS = re.compile(r"[-'\u2019/]")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    """``text`` as the screen sees it: lower case, no accents, split into words."""
    return _WORD.findall(_fold(text))


@dataclass(frozen=True, slots=True)
class _Alternative:
    literal: str
    prefix: bool  # "*" before: anything may come before the literal
    suffix: bool  # "*" after: anything may come after it

    def matches(self, word: str) -> bool:
        if self.prefix and self.suffix:
            return self.literal in word
        if self.prefix:
            return word.endswith(self.literal)
        if self.suffix:
            return word.startswith(self.literal)
        return word == self.literal


@dataclass(frozen=True, slots=True)
class _Slot:
    """One word of a term: one or more alternatives (``a|b*``)."""

    alternatives: tuple[_Alternative, ...]

    def match(self, word: str) -> int | None:
        """The number of letters the best matching alternative spells out, or None."""
        best = None
        for alt in self.alternatives:
            if alt.matches(word) and (best is None or len(alt.literal) > best):
                best = len(alt.literal)
        return best


@dataclass(frozen=True, slots=True)
class _Term:
    slots: tuple[_Slot | None, ...]  # None: a gap ("..."), up to GAP words of any kind
    category: Category | None  # None: an exception

    @property
    def words(self) -> int:
        return sum(slot is not None for slot in self.slots)

    def match_at(self, text_words: list[str], start: int, slot: int = 0) -> tuple[int, int] | None:
        """(letters spelled out, end) of the shortest match starting at ``start``, or None."""
        if slot == len(self.slots):
            return 0, start
        pattern = self.slots[slot]
        if pattern is None:
            for skip in range(GAP + 1):
                found = self.match_at(text_words, start + skip, slot + 1)
                if found is not None:
                    return found
            return None
        if start >= len(text_words) or (letters := pattern.match(text_words[start])) is None:
            return None
        rest = self.match_at(text_words, start + 1, slot + 1)
        return None if rest is None else (letters + rest[0], rest[1])


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    specificity: tuple[int, int]  # (words, letters spelled out): the more specific pattern wins
    category: Category | None


def _parse_term(source: str, category: Category | None) -> _Term:
    slots: list[_Slot | None] = []
    for piece in _SEPARATORS.sub(" ", _fold(source)).split():
        if piece == "...":
            if not slots or slots[-1] is None:
                raise ValueError(f"{TERMS_FILE}: a gap needs a word before it: {source!r}")
            slots.append(None)
            continue
        alternatives = []
        for alt in piece.split("|"):
            if not _ALTERNATIVE.fullmatch(alt):
                raise ValueError(f"{TERMS_FILE}: cannot read the term {source!r}")
            alternatives.append(_Alternative(alt.strip("*"), alt.startswith("*"), alt.endswith("*")))
        slots.append(_Slot(tuple(alternatives)))
    if not slots or slots[-1] is None:
        raise ValueError(f"{TERMS_FILE}: an empty term, or one that ends in a gap: {source!r}")
    return _Term(tuple(slots), category)


def _one_typo(word: str, target: str) -> bool:
    """True when ``word`` is ``target`` with one letter changed or two adjacent letters swapped,
    or (for targets of 8 letters or more) one letter left out or added; the first letter is kept."""
    if word == target or not word or word[0] != target[0]:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == target[diff[1]] \
            and word[diff[1]] == target[diff[0]]
    if len(target) < 8 or abs(len(word) - len(target)) != 1:
        return False
    short, long = (word, target) if len(word) < len(target) else (target, word)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]


class Screen:
    """A compiled word list: ``find`` answers which category, if any, a text reveals."""

    def __init__(self, terms: Iterable[_Term], typos: Iterable[tuple[str, Category]]) -> None:
        # Each term is indexed by the alternatives of its first word, so a word is compared only
        # with the terms that can start there (a few dictionary look-ups per letter of the word).
        self._exact: dict[str, list[_Term]] = {}
        self._starts: dict[str, list[_Term]] = {}
        self._ends: dict[str, list[_Term]] = {}
        self._contains: list[tuple[str, _Term]] = []
        for term in terms:
            first = term.slots[0]
            assert first is not None  # _parse_term: a term starts with a word
            for alt in first.alternatives:
                if alt.prefix and alt.suffix:
                    self._contains.append((alt.literal, term))
                else:
                    index = self._ends if alt.prefix else self._starts if alt.suffix else self._exact
                    index.setdefault(alt.literal, []).append(term)
        self._longest = max((len(k) for k in (*self._starts, *self._ends)), default=0)
        self._typos: dict[str, list[tuple[str, Category]]] = {}
        for target, category in typos:
            self._typos.setdefault(target[0], []).append((target, category))

    def _candidates(self, word: str) -> list[_Term]:
        found = list(self._exact.get(word, ()))
        for k in range(1, min(len(word), self._longest) + 1):
            found += self._starts.get(word[:k], ())
            found += self._ends.get(word[-k:], ())
        found += [t for literal, t in self._contains if literal in word]
        return list({id(t): t for t in found}.values()) if len(found) > 1 else found

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Screen:
        """Build from the TOML structure: a table per category and ``exceptions``, each with ``terms``
        (and the categories optionally ``typos``)."""
        expected = {c.value for c in Category} | {"exceptions"}
        if set(data) != expected:
            raise ValueError(f"{TERMS_FILE}: expected the tables {sorted(expected)}, found {sorted(data)}")
        terms: list[_Term] = []
        typos: list[tuple[str, Category]] = []
        for name, table in data.items():
            category = None if name == "exceptions" else Category(name)
            if not isinstance(table, dict) or not isinstance(table.get("terms"), list):
                raise ValueError(f"{TERMS_FILE}: [{name}] needs a list of terms")
            terms.extend(_parse_term(str(t), category) for t in table["terms"])
            if category is None:
                continue
            for word in table.get("typos", []):
                folded = "".join(words(str(word)))
                if len(folded) < 7:
                    raise ValueError(f"{TERMS_FILE}: typo-tolerant words need 7 letters or more: {word!r}")
                typos.append((folded, category))
        return cls(terms, typos)

    @classmethod
    def packaged(cls) -> Screen:
        """The word list shipped with the bot."""
        text = resources.files(__package__).joinpath(TERMS_FILE).read_text(encoding="utf-8")
        return cls.from_mapping(tomllib.loads(text))

    def _hits(self, text_words: list[str]) -> list[_Hit]:
        hits = []
        for start, word in enumerate(text_words):
            for term in self._candidates(word):
                found = term.match_at(text_words, start)
                if found is not None:
                    hits.append(_Hit(start, found[1], (term.words, found[0]), term.category))
            if len(word) >= 6:
                for target, category in self._typos.get(word[0], ()):
                    # a compound only with a typo inside the word's first part, not one left out or added:
                    # cut at the target's length, "kinesitherapeut" would read as "kinesitherapie" less a letter
                    if _one_typo(word, target) or (len(word) > len(target) and _one_typo(word[:len(target)], target)):
                        hits.append(_Hit(start, start + 1, (1, 0), category))
        return hits

    def findall(self, text: str) -> tuple[Category, ...]:
        """Every category ``text`` reveals, in the order they first appear."""
        hits = self._hits(words(text))
        exceptions = [h for h in hits if h.category is None]
        found: list[Category] = []
        for hit in sorted(hits, key=lambda h: (h.start, h.end)):
            if hit.category is None or hit.category in found:
                continue
            if any(e.start <= hit.start and hit.end <= e.end and e.specificity >= hit.specificity for e in exceptions):
                continue
            found.append(hit.category)
        return tuple(found)

    def find(self, text: str) -> Category | None:
        """The first category ``text`` reveals, or None when it may be sent."""
        found = self.findall(text)
        return found[0] if found else None


SCREEN = Screen.packaged()


def find(text: str) -> Category | None:
    """The first special category (or judicial data) the packaged word list finds in ``text``."""
    return SCREEN.find(text)
