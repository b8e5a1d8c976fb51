"""F.3 and art. 6, on the Teams side: what happened to the recipient's card is in the audit
(``card_overwritten``, ``card_deleted``, ``card_delete_failed`` with the connector's status); a
failed removal is retried by the sweep, the recipient is told "verwijderd" only once it is true,
and content the bot could not remove after its tries is an incident (art. 9)."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.e2e.flows import receive, send

NAME = "Amina El Idrissi"


async def names(harness) -> list[tuple[str, str | None]]:
    return [(e.event.value, e.reason) for e in await harness.runtime.store.audit_events()]


def content_left(connector, conversation) -> bool:
    """What Teams holds for the chat: the connector's record (not the clicker's own screen, where
    the invoke's answer already shows the content-free card)."""
    live = [c.body for c in connector.ok() if c.conversation_id == conversation and c.method in ("POST", "PUT")]
    deleted = {c.activity_id for c in connector.deleted()}
    updated = {c.activity_id for c in connector.updated()}
    return any(NAME in json.dumps(body) for body in live) and not (deleted | updated)


async def test_a_removal_that_fails_is_retried_and_proven_later(harness, connector, counsellor, els):
    await send(counsellor)
    receive(els)
    # 412: retryable for Teams; the messenger tries each call up to 4 times within its 4 s, then the sweep
    connector.fail(method="PUT", status=412, times=4)
    connector.fail(method="DELETE", status=412, times=4)
    await els.click("overgezet")
    assert content_left(connector, els.conversation_id)
    assert not [t for t in els.texts() if "verwijderd" in t]  # nothing untrue was said
    assert ("card_delete_failed", "412") in await names(harness)
    assert ("card_deleted", None) not in await names(harness)

    done = await harness.sweep(harness.clock.now() + timedelta(hours=2))
    assert done.get("follow_up") == 1
    assert not content_left(connector, els.conversation_id)
    assert ("card_overwritten", None) in await names(harness) and ("card_deleted", None) in await names(harness)
    assert len([t for t in counsellor.texts() if t.startswith("TK-")]) == 1  # told once, not per try
    assert await harness.sweep(harness.clock.now() + timedelta(days=1)) == {}


async def test_content_left_in_teams_after_every_try_is_an_incident(harness, connector, counsellor, els):
    await send(counsellor)
    receive(els)
    connector.fail(method="PUT", status=412, times=100)
    connector.fail(method="DELETE", status=412, times=100)
    await els.click("overgezet")
    for hours in range(1, 30):
        await harness.sweep(harness.clock.now() + timedelta(hours=hours))
    events = await names(harness)
    assert events.count(("card_delete_failed", "412")) == 5 and ("card_deleted", None) not in events
    assert ("incident", "content_left_in_teams") in events
    assert await harness.sweep(harness.clock.now() + timedelta(days=3)) == {}  # given up: bounded


async def test_a_delete_the_client_cannot_do_is_fine_once_the_content_is_gone(harness, connector, counsellor, els):
    """The Agents Playground answers DELETE with 501: the overwrite already removed the content."""
    await send(counsellor)
    receive(els)
    connector.fail(method="DELETE", status=501, times=10)
    await els.click("overgezet")
    assert not content_left(connector, els.conversation_id)
    events = await names(harness)
    assert ("card_overwritten", None) in events and ("card_delete_failed", "501") in events
    assert "incident" not in [e for e, _ in events]
    assert await harness.sweep(harness.clock.now() + timedelta(hours=2)) == {}


async def test_a_closed_handoffs_envelope_is_deleted_after_its_retention(harness, connector, counsellor, els):
    """Storage limitation (issue 15): the envelope (names and e-mail of both people) is kept a year,
    then deleted; the audit trail keeps the evidence, and its chain stays whole."""
    from tests.e2e.test_evidence import bot_cli

    await send(counsellor)
    receive(els)
    await els.click("overgezet")
    store = harness.runtime.store
    sent = next(e for e in await store.audit_events() if e.event.value == "sent")
    (draft_id,) = [e.subject for e in await store.audit_events() if e.event.value == "started"]
    handoff = await store.handoff_for_draft(draft_id)
    assert handoff is not None and handoff.reference == sent.subject
    assert await harness.sweep(harness.clock.now() + timedelta(days=364)) == {}
    assert await harness.sweep(harness.clock.now() + timedelta(days=2)) == {"forget": 1}
    assert ("record_deleted", "retention") in await names(harness)
    assert await store.get_handoff(handoff.id) is None and await store.handoff_for_draft(draft_id) is None
    assert await harness.sweep(harness.clock.now() + timedelta(days=300)) == {}  # (fingerprints go at 24 months)
    done = bot_cli(harness, "audit", "verify")
    assert done.returncode == 0 and "intact" in done.stdout
