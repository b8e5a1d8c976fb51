"""Issue 14: every notice to the counsellor names the client while it is known (the counsellor sent
it and may see it) and says what to do next; without the name (a follow-up redone after a crash,
the content purged) it says the reference alone."""

from __future__ import annotations

import pytest

from bot.app.ports import Notice
from bot.teams.cards import Cards
from tests import factories as f

NEXT_STEP = ("niets", "opnieuw", "contact", "overzicht", "vraag", "zoek")


@pytest.mark.parametrize("notice", list(Notice))
def test_every_notice_names_the_client_and_says_what_to_do_next(notice):
    handoff = f.handoff()
    text = Cards().notice_text(handoff, notice)
    assert text.startswith(f"{handoff.reference} (Amina El Idrissi)")
    assert any(step in text.lower() for step in NEXT_STEP), text
    assert "12/04/1990" not in text and "Heftruck" not in text  # the name only: no birth date, no content


@pytest.mark.parametrize("notice", list(Notice))
def test_without_the_client_a_notice_gives_the_reference_alone(notice):
    handoff = f.handoff(client=None)
    text = Cards().notice_text(handoff, notice)
    assert text.startswith(handoff.reference) and "Amina" not in text and "()" not in text
