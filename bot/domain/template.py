"""The protocol's fixed template (sjabloon v1) and its validation.

Field ids are the wire contract: cards, stored records, tests and the audit use them.
Validation never raises for bad input: it returns the form's cleaned values and a
``FieldError`` per field that is wrong, so the card can show each next to its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from bot.domain import screening, text
from bot.domain.text import TextProblem


class Stap(StrEnum):
    """Planned steps towards work (``stappen``), in the template's order."""

    OPLEIDING = "opleiding"
    STAGE = "stage"
    VRIJWILLIGERSWERK = "vrijwilligerswerk"
    TAALONDERSTEUNING = "taalondersteuning"
    ORIENTATIE = "orientatie"
    BEGELEIDING = "begeleiding"


class Identity(BaseModel):
    """Who the terugkoppeling is about: name and birth date identify the client (no INSZ)."""

    model_config = ConfigDict(frozen=True)

    naam: str
    geboortedatum: date


class Content(BaseModel):
    """The template's content fields, validated."""

    model_config = ConfigDict(frozen=True)

    jobdoelwit: str
    eerstvolgende_contact: date
    eerstvolgende_contact_tijd: time | None = None
    stappen: tuple[Stap, ...]
    partner: str | None = None
    toelichting: str | None = None


class ErrorCode(StrEnum):
    REQUIRED = "required"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    BAD_DATE = "bad_date"
    BAD_TIME = "bad_time"
    NOT_PAST = "not_past"
    AGE = "age"
    NOT_FUTURE = "not_future"
    BAD_CHOICE = "bad_choice"
    NO_CHOICE = "no_choice"
    CONTROL = TextProblem.CONTROL.value
    INSZ = TextProblem.INSZ.value
    EMAIL = TextProblem.EMAIL.value
    PHONE = TextProblem.PHONE.value
    IBAN = TextProblem.IBAN.value
    # special-category and judicial data (GDPR art. 9/10), which protocol art. 3 excludes
    HEALTH = screening.Category.HEALTH.value
    PREGNANCY = screening.Category.PREGNANCY.value
    RELIGION = screening.Category.RELIGION.value
    ETHNIC_ORIGIN = screening.Category.ETHNIC_ORIGIN.value
    SEXUAL_ORIENTATION = screening.Category.SEXUAL_ORIENTATION.value
    UNION_MEMBERSHIP = screening.Category.UNION_MEMBERSHIP.value
    CRIMINAL = screening.Category.CRIMINAL.value
    DEBT_MEDIATION = screening.Category.DEBT_MEDIATION.value


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: ErrorCode
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class TextRule:
    required: bool
    min_len: int
    max_len: int
    multiline: bool = False


TEXT_RULES: dict[str, TextRule] = {
    "naam": TextRule(required=True, min_len=2, max_len=100),
    "jobdoelwit": TextRule(required=True, min_len=2, max_len=200),
    "partner": TextRule(required=False, min_len=0, max_len=100),
    "toelichting": TextRule(required=False, min_len=0, max_len=300, multiline=True),
}
# Free text screened for special-category data (bot/domain/screening.py); not the name, which is one.
SCREENED_FIELDS = frozenset({"jobdoelwit", "partner", "toelichting"})
MIN_AGE, MAX_AGE = 16, 100
IDENTITY_FIELDS = ("naam", "geboortedatum")
CONTENT_FIELDS = (
    "jobdoelwit",
    "eerstvolgende_contact",
    "eerstvolgende_contact_tijd",
    "stappen",
    "partner",
    "toelichting",
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# As people in Flanders type a date: dd/mm/jjjj (also d/m/jjjj, and with - or . between). The
# identification card's birth-date field is a text input with this pattern (``DMY_PATTERN``).
_DMY_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
DMY_PATTERN = r"^\s*(\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}|\d{4}-\d{2}-\d{2})\s*$"
_HH_MM = re.compile(r"\d{2}:\d{2}")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Checked(Generic[T]):
    """A validation outcome: the model when valid, else the errors; ``values`` echo the form."""

    values: dict[str, str]
    errors: tuple[FieldError, ...]
    model: T | None

    @property
    def ok(self) -> bool:
        return self.model is not None


def _raw(form: Mapping[str, object], field: str) -> str:
    value = form.get(field)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _check_text(field: str, raw: str, errors: list[FieldError]) -> str | None:
    rule = TEXT_RULES[field]
    value = text.clean(raw, multiline=rule.multiline)
    if not value:
        if rule.required:
            errors.append(FieldError(field, ErrorCode.REQUIRED))
        return None
    # Every problem is named at once (the length, what does not belong, each special category), so
    # one correction does not reveal the next. Inputs are bounded (bot.teams.activity.MAX_INPUT_CHARS).
    if len(value) < rule.min_len:
        errors.append(FieldError(field, ErrorCode.TOO_SHORT, rule.min_len))
    elif len(value) > rule.max_len:
        errors.append(FieldError(field, ErrorCode.TOO_LONG, rule.max_len))
    if found := text.problem(value, multiline=rule.multiline):
        errors.append(FieldError(field, ErrorCode(found.value)))
    if field in SCREENED_FIELDS:
        errors.extend(FieldError(field, ErrorCode(category.value)) for category in screening.SCREEN.findall(value))
    return value


def _parse_date(field: str, raw: str, errors: list[FieldError]) -> date | None:
    raw = raw.strip()
    if not raw:
        errors.append(FieldError(field, ErrorCode.REQUIRED))
        return None
    try:
        if dmy := _DMY_DATE.fullmatch(raw):
            day, month, year = (int(part) for part in dmy.groups())
            return date(year, month, day)
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(field, ErrorCode.BAD_DATE))
        return None


def _age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_identity(form: Mapping[str, object], today: date) -> Checked[Identity]:
    """Validate the identification step (``naam``, ``geboortedatum``)."""
    values = {f: _raw(form, f) for f in IDENTITY_FIELDS}
    errors: list[FieldError] = []
    naam = _check_text("naam", values["naam"], errors)
    born = _parse_date("geboortedatum", values["geboortedatum"], errors)
    if born is not None:
        if born >= today:
            errors.append(FieldError("geboortedatum", ErrorCode.NOT_PAST))
        elif not MIN_AGE <= _age_on(born, today) <= MAX_AGE:
            errors.append(FieldError("geboortedatum", ErrorCode.AGE))
    model = None if errors or naam is None or born is None else Identity(naam=naam, geboortedatum=born)
    return Checked(values, tuple(errors), model)


def _parse_steps(raw: str, errors: list[FieldError]) -> tuple[Stap, ...]:
    codes = [c.strip() for c in raw.split(",") if c.strip()]
    if not codes:
        errors.append(FieldError("stappen", ErrorCode.NO_CHOICE))
        return ()
    known = {s.value for s in Stap}
    if any(c not in known for c in codes):
        errors.append(FieldError("stappen", ErrorCode.BAD_CHOICE))
        return ()
    return tuple(s for s in Stap if s.value in codes)  # template order, no duplicates


def check_content(form: Mapping[str, object], today: date) -> Checked[Content]:
    """Validate the content step (every template field but the identity)."""
    values = {f: _raw(form, f) for f in CONTENT_FIELDS}
    errors: list[FieldError] = []
    jobdoelwit = _check_text("jobdoelwit", values["jobdoelwit"], errors)
    contact = _parse_date("eerstvolgende_contact", values["eerstvolgende_contact"], errors)
    if contact is not None and contact < today:
        errors.append(FieldError("eerstvolgende_contact", ErrorCode.NOT_FUTURE))
    contact_time = None
    if raw_time := values["eerstvolgende_contact_tijd"].strip():
        try:
            if not _HH_MM.fullmatch(raw_time):
                raise ValueError(raw_time)
            contact_time = time.fromisoformat(raw_time)
        except ValueError:
            errors.append(FieldError("eerstvolgende_contact_tijd", ErrorCode.BAD_TIME))
    steps = _parse_steps(values["stappen"], errors)
    partner = _check_text("partner", values["partner"], errors)
    toelichting = _check_text("toelichting", values["toelichting"], errors)
    model = None
    if not errors and jobdoelwit and contact:
        model = Content(
            jobdoelwit=jobdoelwit,
            eerstvolgende_contact=contact,
            eerstvolgende_contact_tijd=contact_time,
            stappen=steps,
            partner=partner,
            toelichting=toelichting,
        )
    return Checked(values, tuple(errors), model)


def content_values(content: Content) -> dict[str, str]:
    """The form values that reproduce ``content`` (for "wijzig")."""
    return {
        "jobdoelwit": content.jobdoelwit,
        "eerstvolgende_contact": content.eerstvolgende_contact.isoformat(),
        "eerstvolgende_contact_tijd": (
            content.eerstvolgende_contact_tijd.strftime("%H:%M")
            if content.eerstvolgende_contact_tijd
            else ""
        ),
        "stappen": ",".join(s.value for s in content.stappen),
        "partner": content.partner or "",
        "toelichting": content.toelichting or "",
    }
