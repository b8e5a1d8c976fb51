"""Digest reminders on each real store: a message that goes out late claims its reminders again first.

The sweep claims every due reminder before it sends anything, then sends the digests a few at a
time; one that would start more than half a lease after its claims renews them first (one write),
so that no other sweeper, whose clock says the claim ran out, can send it too. Here the lease is
0.4 s and each digest takes 0.25 s, so the second wave of digests renews its claims.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.adapters.clock import FixedClock
from bot.app import outbox as outbox_module
from bot.app.outbox import Outbox
from bot.domain.handoff import Handoff, HandoffState
from bot.domain.model import Address, Delivery, Recipient
from bot.domain.schedule import Schedule
from tests import factories as f

BRUSSELS = ZoneInfo("Europe/Brussels")
SENT = datetime(2026, 11, 27, 10, 0, tzinfo=BRUSSELS)  # a Friday
SWEEP = datetime(2026, 12, 2, 10, 0, tzinfo=BRUSSELS)  # the Wednesday after: the first reminder is due


class SlowReminders:
    """The ``Messenger`` port's reminders, recorded; each takes ``seconds`` (a slow connector)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[list[str]] = []

    async def remind(self, handoffs: Sequence[Handoff]) -> None:
        await asyncio.sleep(self.seconds)
        self.sent.append([h.reference for h in handoffs])


async def test_late_digests_renew_their_claims_and_each_reminder_goes_out_once(store):
    recipients = [Recipient(naam=f"TB {n}", email=f"tb{n}@atlas.example", aad_object_id=f"aad-tb-{n}",
                            tenant_id="tenant-atlas", agentschap="atlas") for n in range(12)]
    handoffs = []
    for n, recipient in enumerate(recipients):
        for k in range(1 + n % 2):  # some recipients have two: one message for both
            delivery = Delivery(address=Address(service_url="http://127.0.0.1:1/", conversation_id=f"a:1tb-{n}",
                                                tenant_id="tenant-atlas", user_id=recipient.aad_object_id),
                                activity_id="1", attempt=1)
            handoffs.append(await store.add_handoff(f.handoff(
                recipient=recipient, delivery=delivery, state=HandoffState.DELIVERED, attempts=1, created_at=SENT,
                sent_at=SENT + timedelta(minutes=k), due_at=SWEEP - timedelta(hours=1),
                reference=f"TK-{n:04X}{k:02X}")))
    messenger = SlowReminders(0.25)
    outbox = Outbox(store=store, messenger=messenger, clock=FixedClock(SWEEP),  # type: ignore[arg-type]
                    schedule=Schedule(lease=timedelta(seconds=0.4)))

    assert outbox_module.DIGEST_SENDS < len(recipients)  # so that a second wave waits
    assert await outbox.sweep() == {"remind": len(handoffs)}
    assert sorted(len(refs) for refs in messenger.sent) == sorted(1 + n % 2 for n in range(12))
    assert sorted(r for refs in messenger.sent for r in refs) == sorted(h.reference for h in handoffs)
    versions = []
    for handoff in handoffs:
        stored = await store.get_handoff(handoff.id)
        assert stored.reminders_sent == 1 and stored.client == handoff.client
        versions.append(stored.version)
    assert set(versions) == {3, 4}  # claimed and reminded; the late ones claimed once more
    trail = await store.audit_events()
    assert sorted(e.subject for e in trail if e.event == "reminded") == sorted(h.reference for h in handoffs)
    assert await outbox.sweep() == {}  # nothing is due any more


async def test_a_recipient_with_very_many_due_gets_them_in_messages_that_fit_teams(store):
    """A Teams message holds about 28 KB: more than ``DIGEST_ITEMS`` due at once go in several."""
    recipient = Recipient(naam="TB", email="tb@atlas.example", aad_object_id="aad-tb", tenant_id="tenant-atlas",
                          agentschap="atlas")
    delivery = Delivery(address=Address(service_url="http://127.0.0.1:1/", conversation_id="a:1tb",
                                        tenant_id="tenant-atlas", user_id="aad-tb"), activity_id="1", attempt=1)
    count = outbox_module.DIGEST_ITEMS * 2 + 5
    for n in range(count):
        await store.add_handoff(f.handoff(recipient=recipient, delivery=delivery, state=HandoffState.DELIVERED,
                                          attempts=1, created_at=SENT, sent_at=SENT + timedelta(seconds=n),
                                          due_at=SWEEP - timedelta(hours=1), reference=f"TK-{n:06X}"))
    messenger = SlowReminders(0)
    outbox = Outbox(store=store, messenger=messenger,  # type: ignore[arg-type]
                    clock=FixedClock(SWEEP), schedule=Schedule())
    assert await outbox.sweep() == {"remind": count}
    assert sorted(len(refs) for refs in messenger.sent) == [5, outbox_module.DIGEST_ITEMS, outbox_module.DIGEST_ITEMS]
    assert sorted(r for refs in messenger.sent for r in refs) == [f"TK-{n:06X}" for n in range(count)]
