"""Issue 14: an optional backup trajectbegeleider per agency (BOT_BACKUP_RECIPIENTS) receives the cards
nobody reacted to after the reminders, through the same mechanics as "Doorsturen": audited
``reassigned`` (reason backup), the previous copy removed first, the counsellor told; the backup
is reminded in turn, and only then is the counsellor told it stays unconfirmed."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from bot.domain.calendar import BRUSSELS
from tests.e2e.flows import receive, send
from tests.e2e.test_recipient_side import JAN, NAME, directory_with_jan, events, live_copies
from tests.support.cards import action_data


def at(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, 0, tzinfo=BRUSSELS)


@pytest.fixture
def bot_env(tmp_path) -> dict[str, str]:
    return {**directory_with_jan(tmp_path), "BOT_BACKUP_RECIPIENTS": f"atlas={JAN}",
            "BOT_BACKUP_AFTER_REMINDERS": "1"}


async def test_after_the_reminders_the_card_goes_to_the_agencys_backup(harness, connector, counsellor, els):
    await send(counsellor)  # Monday 30/11/2026 09:00
    card = receive(els)
    handoff = action_data(card, "overgezet")["handoff"]
    assert await harness.sweep(at(2026, 12, 2)) == {"remind": 1}  # two working days later: Els reminded
    assert await harness.sweep(at(2026, 12, 4)) == {"backup": 1}  # still nothing: to the backup
    assert ("reassigned", "backup") in await events(harness)
    assert live_copies(connector) == 1
    jan_chat = connector.conversation_for(JAN)
    assert jan_chat is not None and NAME in json.dumps(connector.last_card(jan_chat)[1])
    assert els.card_activity_id in {c.activity_id for c in connector.deleted()}
    assert any("ging naar de vervanger bij het agentschap: Jan Janssens" in t for t in counsellor.texts())
    stored = await harness.runtime.store.get_handoff(handoff)
    assert stored.recipient.aad_object_id == JAN and stored.reminders_sent == 0
    # the backup is reminded in turn; the card is never routed to the backup twice
    assert await harness.sweep(at(2026, 12, 8)) == {"remind": 1}
    done = await harness.sweep(at(2026, 12, 10))
    assert "backup" not in done
    assert [e for e in await events(harness) if e[0] == "reassigned"] == [("reassigned", "backup")]


@pytest.mark.parametrize("bot_env", [{"BOT_BACKUP_RECIPIENTS": "atlas=nobody@atlas.example",
                                      "BOT_BACKUP_AFTER_REMINDERS": "0"}])
async def test_a_backup_the_directory_does_not_know_changes_nothing(harness, counsellor, els):
    await send(counsellor)
    receive(els)
    assert await harness.sweep(at(2026, 12, 2)) == {"remind": 1}
    assert not [e for e in await events(harness) if e[0] == "reassigned"]
    assert "backup recipient not in the directory" in harness.all_logs()
