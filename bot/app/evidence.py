"""What the privacy officers get from the audit trail: proof it is whole, a summary of what
happened, and policy statistics — all without a single piece of client data."""

from __future__ import annotations

import base64
import dataclasses
import hmac
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bot.domain.audit import GENESIS, Checkpoint, checkpoint_seal, link
from bot.domain.model import Agency, AuditEvent

BRUSSELS = ZoneInfo("Europe/Brussels")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of ``audit verify``: intact, or the first broken link and why."""

    events: int
    broken_at: int | None = None
    problem: str = ""
    last_mac: str = ""
    kind: str = ""  # missing | reordered | altered | truncated | wrong_key | checkpoint
    # Retention (issue 15): the chain was verified from this checkpoint on, older events pruned.
    checkpoint: Checkpoint | None = None
    checkpoint_signed: bool | None = None  # True: signature verified; False: unsigned; None: not checked

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def starts(self) -> str:
        """Where verification started, in words: the trail's first event, or the checkpoint."""
        c = self.checkpoint
        if c is None:
            return "from the first event"
        seal = {True: "sealed and signed by the evidence signing key", False: "sealed (not signed)",
                None: "sealed; its signature not checked (no evidence signing key here)"}[self.checkpoint_signed]
        return (f"from the checkpoint of {_day(c.made_at)} ({seal}): {c.count} older events, #1 to #{c.seq}, "
                f"from {_day(c.first_at)} to {_day(c.last_at)}, were pruned under the retention period")


def _day(moment: datetime) -> str:
    return moment.astimezone(BRUSSELS).strftime("%d/%m/%Y")


def check_checkpoint(checkpoint: Checkpoint, key: bytes, public: Ed25519PublicKey | None) -> tuple[str, bool | None]:
    """A problem with the checkpoint ('' if none) and whether its signature verified (see ``Verdict``)."""
    if not hmac.compare_digest(checkpoint.seal, checkpoint_seal(key, checkpoint)):
        return "the checkpoint was altered (its seal does not match what it says)", None
    if not checkpoint.signature:
        return "", False
    if public is None:
        return "", None
    try:
        public.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        return "the checkpoint's signature does not verify with the evidence signing key", None
    return "", True


def verify(events: Sequence[AuditEvent], head: int, key: bytes, checkpoint: Checkpoint | None = None,
           public: Ed25519PublicKey | None = None) -> Verdict:
    """Walk the whole chain (all events, in ``seq`` order) and recompute every link: from the first
    event, or, once old events were pruned, from the ``checkpoint`` (its seal checked first, and its
    signature when ``public`` is given)."""
    previous, expected, signed = GENESIS, 1, None
    if checkpoint is not None:
        problem, signed = check_checkpoint(checkpoint, key, public)
        if problem:
            if not _any_link_holds(events, key, checkpoint.mac):
                return Verdict(len(events), 1, WRONG_KEY, kind="wrong_key", checkpoint=checkpoint)
            return Verdict(len(events), checkpoint.seq, problem, kind="checkpoint", checkpoint=checkpoint)
        previous, expected = checkpoint.mac, checkpoint.seq + 1
        events = [e for e in events if (e.seq or 0) > checkpoint.seq]
    verdict = _walk(events, head, key, previous, expected)
    return dataclasses.replace(verdict, checkpoint=checkpoint, checkpoint_signed=signed)


def _walk(events: Sequence[AuditEvent], head: int, key: bytes, previous: str, expected: int) -> Verdict:
    first = expected
    for event in events:
        assert event.seq is not None
        if event.seq != expected:
            problem = (f"event #{expected} is missing (deleted?)" if event.seq > expected
                       else f"event #{event.seq} appears out of order (reordered or duplicated?)")
            if event.seq > expected:
                return Verdict(len(events), expected, problem, kind="missing")
            return Verdict(len(events), event.seq, problem, kind="reordered")
        if event.mac != link(key, previous, event, event.seq):
            if event.seq == first and not _any_link_holds(events, key, previous):
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


def _any_link_holds(events: Sequence[AuditEvent], key: bytes, previous: str = GENESIS) -> bool:
    """Does any event's link verify against its stored predecessor? If none does, the key is
    wrong rather than one event edited: an edit breaks its own link, never all the others."""
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
    "dpo_notified": "incident notices delivered to a DPO (art. 9)",
    "acknowledged": "incident notices acknowledged by a DPO",
    "reassigned": "reassigned (doorgestuurd to a colleague or the backup)",  # issue 14
}


# What happened to the recipient's card after the handoff ended (F.3): the proof of deletion.
CARD_EVENTS = ("card_overwritten", "card_deleted", "card_delete_failed")


@dataclass
class Summary:
    counts: dict[str, int]
    incidents: list[dict[str, object]]
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
                      "last_link": self.verdict.last_mac, "scope": "the whole trail, every agency",
                      **self._retention()},
            "processors": self.processors,
        }


    def _retention(self) -> dict[str, object]:
        """Issue 15: once old events were pruned, where the chain's verification started (and so
        which events no export can hold any more)."""
        c = self.verdict.checkpoint
        if c is None:
            return {}
        return {"verified": self.verdict.starts(), "checkpoint": {
            "pruned_events": c.count, "through_event": c.seq, "last_pruned_link": c.mac,
            "first_pruned_at": c.first_at.isoformat(), "last_pruned_at": c.last_at.isoformat(),
            "made_at": c.made_at.isoformat(), "seal": c.seal, "signed_by": c.signed_by or None,
            "signature": c.signature or None, "signature_verified": self.verdict.checkpoint_signed}}


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
        incidents=[_incident(e, window) for e in window if e.event == "incident"],
        refusals=dict(Counter(e.reason or "" for e in window if e.event == "refused")),
        content_left=content_left,
        verdict=verdict,
        cards=card_deletions(window),
        agency=agency.value if agency else None,
        processors=list(processors),
    )


def _incident(incident: AuditEvent, window: Sequence[AuditEvent]) -> dict[str, object]:
    """One incident and what became of it: to which DPOs it was told, and who acknowledged it
    (``dpo_notified``/``acknowledged`` events name the incident by its ``seq``)."""
    def about(name: str) -> list[AuditEvent]:
        return [e for e in window if e.event == name and (e.reason or "").startswith(f"{incident.seq}:")]

    notified, acknowledged = about("dpo_notified"), about("acknowledged")
    return {
        "at": incident.at.isoformat(), "reference": incident.subject,
        "agency": incident.agency.value if incident.agency else "", "reason": incident.reason or "",
        "seq": incident.seq,
        "notified": [{"at": e.at.isoformat(), "to": ":".join((e.reason or "").split(":")[1:])} for e in notified],
        "acknowledged": [{"at": e.at.isoformat(), "by": (e.reason or "").split(":")[-1]} for e in acknowledged],
    }


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
