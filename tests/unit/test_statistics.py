"""``stats`` from the audit trail: a clock set back between two events never gives a negative duration."""

from datetime import UTC, datetime, timedelta

from bot.app.evidence import monthly_statistics
from bot.domain.model import Agency, AuditEvent

SENT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_clock_moved_back_gives_no_negative_duration():
    events = [
        AuditEvent(at=SENT, event="sent", subject="TK-1", agency=Agency.ATLAS, seq=1),
        AuditEvent(at=SENT - timedelta(hours=3), event="transferred", subject="TK-1", agency=Agency.ATLAS, seq=2),
        AuditEvent(at=SENT, event="sent", subject="TK-2", agency=Agency.ATLAS, seq=3),
        AuditEvent(at=SENT + timedelta(hours=5), event="transferred", subject="TK-2", agency=Agency.ATLAS, seq=4),
    ]
    (row,) = monthly_statistics(events)
    assert row.transferred == 2 and row.median_hours_to_transfer == 2.5 and row.p90_hours_to_transfer == 5.0
    assert min(row._hours) == 0.0
