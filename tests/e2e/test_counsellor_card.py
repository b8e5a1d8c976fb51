"""F.2.c: the sender keeps no copy. A draft that expires or is cancelled leaves no client data in
the counsellor's chat: the bot overwrites the card it remembered, and a stale counsellor card that
Teams refreshes shows no content."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.e2e.flows import CONTENT, identify
from tests.support.cards import texts

NAME = "Amina El Idrissi"


def holds_client_data(connector, conversation: str) -> bool:
    return any(NAME in json.dumps(a.get("attachments")) for a in connector.live_activities(conversation))


async def test_an_expired_draft_leaves_no_client_data_in_the_counsellors_chat(harness, connector, counsellor):
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    assert holds_client_data(connector, counsellor.conversation_id)  # the preview, as Teams shows it

    assert (await harness.sweep(harness.clock.now() + timedelta(hours=25)))["draft_expired"] == 1
    assert not holds_client_data(connector, counsellor.conversation_id)
    (updated,) = [c for c in connector.updated() if c.conversation_id == counsellor.conversation_id]
    assert updated.activity_id == counsellor.card_activity_id
    assert "niet meer open" in " ".join(texts(updated.body["attachments"][0]["content"]))


async def test_a_stale_counsellor_card_refreshes_without_content(harness, connector, counsellor):
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    shown = await counsellor.look()  # while the draft is open, the refresh shows it where it stands
    assert any(NAME in json.dumps(card) for card in shown)

    connector.fail(method="PUT", status=503, times=5)  # Teams missed the overwrite: the refresh still covers it
    await harness.sweep(harness.clock.now() + timedelta(hours=25))
    assert all(NAME not in json.dumps(card) for card in await counsellor.look())
    assert not holds_client_data(connector, counsellor.conversation_id)


async def test_cancel_blanks_the_remembered_card_when_another_card_was_clicked(harness, connector, counsellor):
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    remembered = counsellor.card_activity_id
    preview = counsellor.card
    await counsellor.say("terugkoppeling")  # a second card in the chat; the old preview scrolls up
    await counsellor.click("annuleer", card=preview)  # pressed on the old preview, answered on this one
    assert not holds_client_data(connector, counsellor.conversation_id)
    assert remembered in {c.activity_id for c in connector.updated()}


async def test_a_counsellor_has_at_most_one_unfinished_draft(harness, connector, counsellor):
    """A new 'terugkoppeling' replaces the one left unfinished: purged, its card blanked, audited."""
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    for _ in range(5):
        await counsellor.say("terugkoppeling")
    store = harness.runtime.store
    owner = f"{counsellor.tenant}|{counsellor.aad}"
    assert await store.draft_of(owner) is not None
    assert await store.expired_drafts(harness.clock.now() + timedelta(days=2), 100) == [await store.draft_of(owner)]
    assert not holds_client_data(connector, counsellor.conversation_id)
    events = [(e.event, e.reason) for e in await store.audit_events()]
    assert events.count(("cancelled", "replaced")) == 5
