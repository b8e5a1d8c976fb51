"""The audit export: the events of a period (all, or one agency's), their summary, and the bytes
of the signed file in CSV, JSON or the one-page HTML report (``bot.app.report``).

Every format is signed the same way (``bot.app.signing``): the last line signs all the others.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.app import signing
from bot.app.evidence import Summary, Verdict, for_agency, summarise
from bot.domain.model import Agency, AuditEvent

FORMAT = "terugkoppeling-audit-export/1"
CSV_FIELDS = ["seq", "at", "event", "subject", "actor", "agency", "reason", "mac"]


@dataclass(frozen=True)
class Export:
    events: list[AuditEvent]
    summary: Summary
    agency: Agency | None
    since: date | None
    until: date | None  # exclusive
    exported_at: datetime
    fingerprint: str

    @property
    def header(self) -> dict[str, object]:
        return {"format": FORMAT, "agency": self.agency.value if self.agency else None,
                "since": self.since and self.since.isoformat(), "until": self.until and self.until.isoformat(),
                "exported_at": self.exported_at.isoformat(), "signed_by": self.fingerprint}


def build(events: Sequence[AuditEvent], verdict: Verdict, content_left: Sequence[str], *,
          agency: Agency | None, since: datetime | None, until: datetime | None, exported_at: datetime,
          fingerprint: str, processors: Sequence[dict[str, str]] = ()) -> Export:
    """``events`` is the whole trail (``verdict`` its chain check); the export keeps the window
    ``[since, until)`` of the agency's share. ``content_left`` is narrowed to the agency's references."""
    own = for_agency(events, agency)
    references = {e.subject for e in own}
    left = [r for r in content_left if agency is None or r in references]
    window = [e for e in own if (since is None or e.at >= since) and (until is None or e.at < until)]
    summary = summarise(window, left, verdict, agency=agency, processors=processors)
    return Export(window, summary, agency, since and since.date(), until and until.date(), exported_at, fingerprint)


def to_json(export: Export, key: Ed25519PrivateKey) -> bytes:
    """One event per line (so a failed check names an event), then the summary, then the signature."""
    out = ["{"]
    out += [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in export.header.items()]
    rows = [json.dumps(e.model_dump(mode="json"), ensure_ascii=False) for e in export.events]
    out.append(' "events": [')
    out += [f"  {row}," for row in rows[:-1]] + [f"  {row}" for row in rows[-1:]]
    out.append(" ],")
    summary = json.dumps(export.summary.as_dict(), ensure_ascii=False, indent=1).replace("\n", "\n ")
    out.append(f' "summary": {summary},')
    return signing.sign("\n".join(out) + "\n", key, "json")


def to_csv(export: Export, key: Ed25519PrivateKey) -> bytes:
    summary = export.summary.as_dict()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for event in export.events:
        row = event.model_dump(mode="json")
        writer.writerow([row[f] for f in CSV_FIELDS])
    writer.writerow([])
    writer.writerow(["summary", "value"])
    for name, value in export.header.items():
        writer.writerow([name, "" if value is None else value])
    for label, count in summary["counts"].items():  # type: ignore[attr-defined]
        writer.writerow([label, count])
    cards = export.summary.cards
    writer.writerow(["cards overwritten without content", cards["overwritten"]])
    writer.writerow(["cards deleted", cards["deleted"]])
    writer.writerow(["card deletions failed", cards["delete_failed"]])
    writer.writerow(["cards whose deletion is unproven", len(cards["deletion_unproven"])])  # type: ignore[arg-type]
    writer.writerow(["no content left for ended handoffs", summary["no_content_left_for_ended_handoffs"]])
    writer.writerow(["audit chain intact", export.summary.verdict.intact])
    writer.writerow(["audit chain last link", export.summary.verdict.last_mac])
    if export.summary.verdict.checkpoint is not None:  # issue 15: older events were pruned
        writer.writerow(["audit chain verified", export.summary.verdict.starts()])
        writer.writerow(["audit checkpoint last pruned link", export.summary.verdict.checkpoint.mac])
    for processor in export.summary.processors:
        writer.writerow(["processor", processor["name"], processor["role"]])
    return signing.sign(buffer.getvalue(), key, "csv")
