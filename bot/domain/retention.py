"""The bot's own retention (issue 15, GDPR art. 5(1)(e) storage limitation): until when it keeps
the client fingerprints behind the once-only rule (protocol art. 5) and the audit trail (art. 6).

Pure functions of a moment. Cut-offs fall on midnight in Brussels, so the sweep, which runs every
minute, prunes at most once a day rather than a trickle of records at every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
MAX_FINGERPRINT_MONTHS = 24  # the ceiling: never longer, whatever the protocol's end


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day when it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), BRUSSELS)


@dataclass(frozen=True, slots=True)
class Retention:
    """``keep_fingerprints_months``: a fingerprint is kept this long after the last terugkoppeling
    for that client, and never past the protocol's end. ``keep_audit_years``: audit events older
    than this are pruned behind a checkpoint (``None``: kept for ever)."""

    keep_fingerprints_months: int = MAX_FINGERPRINT_MONTHS
    keep_audit_years: int | None = 5
    protocol_end: date | None = None

    def fingerprints_before(self, now: datetime) -> datetime:
        """Fingerprints last sent before this moment are deleted: once the protocol has ended, every
        one (nothing may be sent any more, so none is needed); before that, those older than the period."""
        today = now.astimezone(BRUSSELS).date()
        if self.protocol_end is not None and today > self.protocol_end:
            return now
        return _midnight(months_before(today, min(self.keep_fingerprints_months, MAX_FINGERPRINT_MONTHS)))

    def audit_before(self, now: datetime) -> datetime | None:
        """Audit events before this moment are pruned (``None``: none are)."""
        if self.keep_audit_years is None:
            return None
        return _midnight(months_before(now.astimezone(BRUSSELS).date(), 12 * self.keep_audit_years))
