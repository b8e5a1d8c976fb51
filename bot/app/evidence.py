"""What the privacy officers get from the audit trail: proof it is whole, a summary of what
happened, and policy statistics — all without a single piece of client data."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.audit import GENESIS, link
from bot.domain.model import Agency, AuditEvent

BRUSSELS = ZoneInfo("Europe/Brussels")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of ``audit verify``: intact, or the first broken link and why."""

    events: int
    broken_at: int | None = None
    problem: str = ""
    last_mac: str = ""
    kind: str = ""  # missing | reordered | altered | truncated | wrong_key

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(events: Sequence[AuditEvent], head: int, key: bytes) -> Verdict:
    """Walk the whole chain (all events, in ``seq`` order) and recompute every link."""
    previous, expected = GENESIS, 1
    for event in events:
        assert event.seq is not None
        if event.seq != expected:
            problem = (f"event #{expected} is missing (deleted?)" if event.seq > expected
                       else f"event #{event.seq} appears out of order (reordered or duplicated?)")
            if event.seq > expected:
                return Verdict(len(events), expected, problem, kind="missing")
            return Verdict(len(events), event.seq, problem, kind="reordered")
        if event.mac != link(key, previous, event, event.seq):
            if event.seq == 1 and not _any_link_holds(events, key):
                return Verdict(len(events), 1, WRONG_KEY, kind="wrong_key")
            return Verdict(len(events), event.seq, f"event #{event.seq} was altered, or moved from elsewhere",
                           kind="altered")
        previous, expected = event.mac, expected + 1
    if head >= expected:
        return Verdict(len(events), expected, f"events #{expected} to #{head} are missing (the trail was truncated)",
                       kind="truncated")
    return Verdict(len(events), last_mac=previous)


WRONG_KEY = ("not one event verifies under this key: the trail was written under another audit key "
             "(BOT_HMAC_KEY, or the data key it derived from before a rotation; see the README, Keys), "
             "or every event was rewritten")


def _any_link_holds(events: Sequence[AuditEvent], key: bytes) -> bool:
    """Does any event's link verify against its stored predecessor? If none does, the key is
    wrong rather than one event edited: an edit breaks its own link, never all the others."""
    previous = GENESIS
    for event in events:
        if event.seq is not None and event.mac == link(key, previous, event, event.seq):
            return True
        previous = event.mac or ""
    return False


def for_agency(events: Sequence[AuditEvent], agency: Agency | None) -> list[AuditEvent]:
    """An agency's share of the trail: the events that name it. Events without an agency (a
    counsellor starting, a refusal before a recipient was known, a cancelled draft) are VDAB's
    own and concern no agency, so no agency sees them; VDAB's export (no ``--agency``) has all."""
    return list(events) if agency is None else [e for e in events if e.agency == agency]


# What counts as what in the summary (event names as the service writes them).
SUMMARY_EVENTS = {
    "sent": "sent",
    "transferred": "transferred (overgezet)",
    "returned": "returned (niet mijn klant)",
    "expired": "expired (drafts and handoffs)",
    "purged": "purged",
    "incident": "incidents (art. 9)",
    "delivery_abandoned": "undeliverable",
    "reminded": "reminders",
    "escalated": "escalations to the counsellor",
    "refused": "refusals",
}


# What happened to the recipient's card after the handoff ended (F.3): the proof of deletion.
CARD_EVENTS = ("card_overwritten", "card_deleted", "card_delete_failed")


@dataclass
class Summary:
    counts: dict[str, int]
    incidents: list[dict[str, str]]
    refusals: dict[str, int]
    content_left: list[str]
    verdict: Verdict
    cards: dict[str, object] = field(default_factory=dict)
    agency: str | None = None
    processors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "agency": self.agency,
            "counts": self.counts,
            "incidents": self.incidents,
            "refusals_by_reason": self.refusals,
            "cards": self.cards,
            "ended_handoffs_still_holding_content": self.content_left,
            "no_content_left_for_ended_handoffs": not self.content_left,
            "chain": {"intact": self.verdict.intact, "events": self.verdict.events,
                      "broken_at": self.verdict.broken_at, "problem": self.verdict.problem,
                      "last_link": self.verdict.last_mac, "scope": "the whole trail, every agency"},
            "processors": self.processors,
        }


def card_deletions(window: Sequence[AuditEvent]) -> dict[str, object]:
    """Per recipient card (one per reference), the last thing the audit says happened to it:
    deleted (proven), overwritten without content, or a delete that failed (unproven)."""
    last: dict[str, str] = {}
    for e in window:
        if e.event in CARD_EVENTS and e.reason != "correction":  # (a corrected card's old copy: issue 14)
            last[e.subject] = e.event
    return {
        "overwritten": sum(1 for e in window if e.event == "card_overwritten"),
        "deleted": sum(1 for e in window if e.event == "card_deleted"),
        "delete_failed": sum(1 for e in window if e.event == "card_delete_failed"),
        "deletion_proven": sorted(r for r, what in last.items() if what == "card_deleted"),
        "deletion_unproven": sorted(r for r, what in last.items() if what == "card_delete_failed"),
    }


def summarise(window: Sequence[AuditEvent], content_left: list[str], verdict: Verdict, *,
              agency: Agency | None = None, processors: Sequence[dict[str, str]] = ()) -> Summary:
    counted = Counter(str(e.event) for e in window)
    return Summary(
        counts={label: counted.get(name, 0) for name, label in SUMMARY_EVENTS.items()},
        incidents=[{"at": e.at.isoformat(), "reference": e.subject, "agency": e.agency.value if e.agency else "",
                    "reason": e.reason or ""} for e in window if e.event == "incident"],
        refusals=dict(Counter(e.reason or "" for e in window if e.event == "refused")),
        content_left=content_left,
        verdict=verdict,
        cards=card_deletions(window),
        agency=agency.value if agency else None,
        processors=list(processors),
    )


@dataclass
class _Handoff:
    agency: str
    sent: datetime
    transferred: datetime | None = None
    reminders: int = 0
    expired: bool = False


@dataclass
class MonthRow:
    month: str
    agency: str
    sent: int = 0
    transferred: int = 0
    median_hours_to_transfer: float | None = None
    p90_hours_to_transfer: float | None = None
    reminders: int = 0
    needed_a_reminder: int = 0
    expired: int = 0
    incidents: int = 0  # art. 9 incidents detected that month (misdelivery, recipient not allowed, content left)
    _hours: list[float] = field(default_factory=list, repr=False)


def _percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that occurred, never an interpolation."""
    ordered = sorted(values)
    rank = math.ceil(round(fraction * len(ordered), 9))
    return ordered[max(rank, 1) - 1]


def monthly_statistics(events: Sequence[AuditEvent]) -> list[MonthRow]:
    """Per agency and per month of sending: how many, how fast they were transferred, how many
    reminders it took, how many expired. From the audit trail alone (references, never clients)."""
    handoffs: dict[str, _Handoff] = {}
    for e in events:
        if e.event == "sent" and e.agency:
            handoffs[e.subject] = _Handoff(e.agency.value, e.at)
        elif (h := handoffs.get(e.subject)) is not None:
            if e.event == "transferred":
                h.transferred = e.at
            elif e.event == "reminded":
                h.reminders += 1
            elif e.event == "expired":
                h.expired = True
    rows: dict[tuple[str, str], MonthRow] = defaultdict(lambda: MonthRow("", ""))
    for e in events:  # counted in the month it was detected
        if e.event == "incident":
            month, agency = e.at.astimezone(BRUSSELS).strftime("%Y-%m"), e.agency.value if e.agency else "unknown"
            row = rows[(month, agency)]
            row.month, row.agency = month, agency
            row.incidents += 1
    for h in handoffs.values():
        month = h.sent.astimezone(BRUSSELS).strftime("%Y-%m")
        row = rows[(month, h.agency)]
        row.month, row.agency = month, h.agency
        row.sent += 1
        row.reminders += h.reminders
        row.needed_a_reminder += h.reminders > 0
        row.expired += h.expired
        if h.transferred is not None:
            row.transferred += 1
            # A clock set back between the two events must not make a negative duration: the trail's
            # order (seq) says the transfer came after the sending, so at least no time passed.
            row._hours.append(max(0.0, (h.transferred - h.sent) / timedelta(hours=1)))
    for row in rows.values():
        if row._hours:
            row.median_hours_to_transfer = round(statistics.median(row._hours), 1)
            row.p90_hours_to_transfer = round(_percentile(row._hours, 0.9), 1)
    return [rows[k] for k in sorted(rows)]
