"""Special-category data typed into a free-text field, over HTTP: refused next to that field, with
the category named and the words never repeated; nothing stored, logged or sent; once removed, the
terugkoppeling goes out as usual."""

import json

import pytest

from bot.domain.template import ErrorCode, FieldError
from bot.teams.texts import field_error
from tests.e2e.flows import CONTENT, identify, receive
from tests.support.cards import inputs, texts, verbs

CASES = [
    ("jobdoelwit", "Psychiatrische opname, daarna magazijn", ErrorCode.HEALTH),
    ("partner", "CAW, collectieve schuldenregeling", ErrorCode.DEBT_MEDIATION),
    ("toelichting", "Is zwanger, bevalling in maart; daarna opleiding", ErrorCode.PREGNANCY),
]


def _error_next_to(card, field):
    body = card["body"]
    position = next(i for i, e in enumerate(body) if e.get("id") == field)
    following = body[position + 1] if position + 1 < len(body) else {}
    # a field's errors: one line each, on an attention band right under it (the count of fields that
    # need attention follows the last field on a band of its own, set apart by a large spacing)
    if following.get("style") != "attention" or following.get("spacing") == "Large":
        return None
    return " ".join(line["text"] for line in following["items"])


@pytest.mark.parametrize(("field", "phrase", "code"), CASES)
async def test_a_special_category_phrase_is_refused_next_to_its_field(
    harness, counsellor, els, caplog, field, phrase, code
):
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    events_before = [e.event for e in await harness.runtime.store.audit_events()]
    typed = {**CONTENT, field: phrase}
    stored_before = harness.db_bytes()

    card = await counsellor.click("bekijk", typed)

    assert "bekijk" in verbs(card) and "verstuur" not in verbs(card)  # the form again, not the preview
    assert inputs(card) == typed  # what was typed stays, to be corrected
    # the category's fixed sentence ("Verwijder …: het protocol laat alleen … toe."), never the words typed
    shown = _error_next_to(card, field)
    assert shown == field_error(FieldError(field, code)) and shown.startswith("Verwijder ")
    assert [f for f in ("jobdoelwit", "partner", "toelichting") if _error_next_to(card, f)] == [field]
    # nothing kept (not a byte of the database changed), nothing sent, nothing logged
    assert harness.db_bytes() == stored_before
    assert [e.event for e in await harness.runtime.store.audit_events()] == events_before
    assert not harness.connector.calls_to_conversations(exclude=counsellor.conversation_id)
    outgoing = json.dumps([c.body for c in harness.connector.calls], ensure_ascii=False)
    for needle in (phrase, *(w for w in phrase.replace(",", " ").replace(";", " ").split() if len(w) > 5)):
        assert needle.encode() not in harness.db_bytes(), needle
        assert needle not in outgoing and needle not in harness.all_logs() and needle not in caplog.text

    # with the phrase removed, it is sent as usual and the recipient never sees it
    preview = await counsellor.click("bekijk", CONTENT)
    assert "verstuur" in verbs(preview)
    await counsellor.click("verstuur")
    delivered = " ".join(texts(receive(els)))
    assert CONTENT[field] in delivered and phrase not in delivered
    assert phrase.encode() not in harness.db_bytes()
