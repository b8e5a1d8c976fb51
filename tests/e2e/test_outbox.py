"""Delivery as an outbox: retryable failures are retried by the sweep, and nothing is sent twice."""

from datetime import timedelta

import pytest

from bot.domain.handoff import HandoffState
from tests.e2e.conftest import ELS
from tests.e2e.flows import CONTENT, identify, receive, send
from tests.support.cards import texts

NAME = "Amina El Idrissi"


def events(rows) -> list[str]:
    return [e.event for e in rows]


async def send_while_failing(harness, counsellor, **fault):
    """The counsellor writes the terugkoppeling; Teams fails (``fault``) only once they press verstuur."""
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    harness.connector.fail(**{"method": "POST", "path_is": "/v3/conversations", **fault})
    return await counsellor.click("verstuur")


async def queued_handoff(harness):
    (handoff,) = await harness.runtime.store.due_handoffs(harness.clock.now() + timedelta(days=1), 10)
    return handoff


@pytest.mark.parametrize("fault", [503, 429, "drop"])
async def test_a_retryable_failure_is_queued_and_delivered_once_by_the_sweep(harness, counsellor, els, fault):
    card = await send_while_failing(harness, counsellor, status=fault, retry_after=1)
    assert texts(card)[0] == "Terugkoppeling wordt verstuurd"
    assert "probeert het automatisch opnieuw" in " ".join(texts(card))
    assert NAME not in " ".join(texts(card))
    assert harness.connector.cards_to(ELS) == []
    handoff = await queued_handoff(harness)
    assert await harness.runtime.store.get_draft(handoff.draft_id) is None  # the content is only in the outbox
    assert handoff.state is HandoffState.DELIVERING and handoff.attempts == 1
    assert await harness.sweep(handoff.due_at - timedelta(seconds=1)) == {}
    assert await harness.sweep(handoff.due_at) == {"deliver": 1}
    assert len(harness.connector.cards_to(ELS)) == 1
    receive(els)
    assert NAME in " ".join(texts(els.card))
    assert counsellor.last_text().startswith(f"{handoff.reference} ({NAME}) is alsnog aangekomen bij Els Peeters")

    assert await harness.sweep(harness.clock.now() + timedelta(hours=1)) == {}  # nothing left to do
    assert len(harness.connector.cards_to(ELS)) == 1
    trail = await harness.runtime.store.audit_events()
    assert events(trail)[-3:] == ["recorded", "delivery_deferred", "sent"] and trail[-1].reason == "attempt 2"


async def test_retry_after_from_the_connector_is_honoured(harness, counsellor):
    await send_while_failing(harness, counsellor, status=429, retry_after=600)
    handoff = await queued_handoff(harness)
    assert handoff.due_at - harness.clock.now() >= timedelta(seconds=600)


async def test_teams_retrying_verstuur_while_queued_sends_one_card_and_one_notice(harness, counsellor, els):
    first = await send_while_failing(harness, counsellor, status=503)
    again = await counsellor.click("verstuur", card=first, data={"draft": (await queued_handoff(harness)).draft_id})
    assert texts(again)[0] == "Terugkoppeling wordt verstuurd"
    handoff = await queued_handoff(harness)
    await harness.sweep(handoff.due_at)
    after = await counsellor.click("verstuur", data={"draft": handoff.draft_id})
    assert texts(after)[0] == "Terugkoppeling verstuurd"  # a late retry sees the receipt
    assert len(harness.connector.cards_to(ELS)) == 1
    assert sum("alsnog aangekomen" in t for t in counsellor.texts()) == 1


async def test_giving_up_after_the_bound_purges_and_tells_the_counsellor(harness, counsellor, els):
    await send_while_failing(harness, counsellor, status=503, times=100)
    swept = 0
    while (due := await harness.runtime.store.due_handoffs(harness.clock.now() + timedelta(days=1), 10)) and swept < 20:
        await harness.sweep(max(harness.clock.now(), due[0].due_at))
        swept += 1
    handoff = await harness.runtime.store.get_handoff(due[0].id if due else (await _only_handoff(harness)).id)
    assert handoff.state is HandoffState.UNDELIVERABLE and handoff.client is None and handoff.attempts == 8
    assert harness.connector.cards_to(ELS) == []
    told = counsellor.last_text()
    assert told.startswith(f"{handoff.reference} ({NAME}) kon na 8 pogingen niet bezorgd worden")  # (issue 14)
    trail = await harness.runtime.store.audit_events()
    assert events(trail).count("delivery_deferred") == 7 and events(trail)[-2:] == ["delivery_abandoned", "purged"]
    assert b"Amina" not in harness.db_bytes() and "Amina" not in harness.all_logs()
    # the undeliverable handoff is finished: no more sweeps touch it
    assert await harness.sweep(harness.clock.now() + timedelta(days=60)) == {}


async def _only_handoff(harness):
    cursor = await harness.runtime.store._db.execute("SELECT id FROM handoffs")
    (row,) = await cursor.fetchall()
    return await harness.runtime.store.get_handoff(row[0])


async def test_a_card_refreshes_to_what_is_current(harness, counsellor, els):
    await send(counsellor)
    original = receive(els)
    (card,) = await els.look()
    assert NAME in " ".join(texts(card)) and original["refresh"]["action"]["verb"] == "ververs"
    await els.click("overgezet")
    assert [c for c in await els.look() if "refresh" in c] == []  # deleted; only the confirmation is left
    # a copy that survived elsewhere (forwarded, or a client that missed the delete) refreshes content-free
    status, body = await els.invoke({"action": original["refresh"]["action"], "trigger": "automatic"})
    assert status == 200 and NAME not in str(body["value"]) and "afgehandeld" in " ".join(texts(body["value"]))


async def test_someone_else_looking_at_the_card_sees_no_content(harness, counsellor, els, pieter):
    await send(counsellor)
    card = receive(els)
    status, body = await pieter.invoke({"action": card["refresh"]["action"], "trigger": "automatic"})
    assert status == 200 and NAME not in str(body["value"])
    assert events(await harness.runtime.store.audit_events())[-1] == "refused"


@pytest.fixture
def bot_env(request) -> dict[str, str]:
    return getattr(request, "param", {})


@pytest.mark.parametrize("bot_env", [{"BOT_DELIVERY_TIMEOUT_SECONDS": "0.5"}], indirect=True)
async def test_a_connector_that_does_not_answer_in_time_is_retried_later(harness, counsellor, els):
    card = await send_while_failing(harness, counsellor, status="delay", seconds=2)
    assert texts(card)[0] == "Terugkoppeling wordt verstuurd"
    await harness.connector.wait_for(lambda c: c.created(), timeout=5)  # the slow call did land, card-less
    handoff = await queued_handoff(harness)
    assert await harness.sweep(handoff.due_at) == {"deliver": 1}
    assert len(harness.connector.cards_to(ELS)) == 1


async def test_a_refused_connection_is_retried_after_teams_is_back(harness, counsellor, els):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    harness.env["BOT_TEAMS_SERVICE_URL"] = nobody  # nothing listens there: connection refused
    await harness.restart()
    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    assert texts(await counsellor.click("verstuur"))[0] == "Terugkoppeling wordt verstuurd"
    handoff = await queued_handoff(harness)
    harness.env["BOT_TEAMS_SERVICE_URL"] = harness.connector.url
    await harness.restart()
    assert await harness.sweep(handoff.due_at) == {"deliver": 1}
    assert len(harness.connector.cards_to(ELS)) == 1


async def test_two_verstuur_invokes_at_the_same_moment_send_one_card(harness, counsellor, els):
    import asyncio

    await identify(counsellor, NAME, "1990-04-12")
    await counsellor.click("bekijk", CONTENT)
    harness.connector.fail(method="POST", path_is="/v3/conversations", status="delay", seconds=0.3)
    preview = counsellor.card
    cards = await asyncio.gather(*(counsellor.click("verstuur", card=preview) for _ in range(3)))
    assert {texts(c)[0] for c in cards} <= {"Terugkoppeling verstuurd", "Terugkoppeling wordt verstuurd"}
    assert len(harness.connector.cards_to(ELS)) == 1
    if any(texts(c)[0] == "Terugkoppeling wordt verstuurd" for c in cards):
        assert sum("alsnog aangekomen" in t for t in counsellor.texts()) == 1  # the promise is kept, once


@pytest.mark.parametrize("bot_env", [{"BOT_DELIVERY_TIMEOUT_SECONDS": "0.4"}], indirect=True)
async def test_a_retry_arriving_while_the_first_attempt_fails_is_no_error(harness, counsellor, els):
    import asyncio

    await identify(counsellor, NAME, "1990-04-12")
    preview = await counsellor.click("bekijk", CONTENT)
    harness.connector.fail(method="POST", path_is="/v3/conversations", status="delay", seconds=1.5)

    async def retry_soon() -> dict:
        await asyncio.sleep(0.15)  # Teams gave up on the first invoke and sends it again
        return await counsellor.click("verstuur", card=preview)

    cards = await asyncio.gather(counsellor.click("verstuur", card=preview), retry_soon())
    assert [texts(c)[0] for c in cards] == ["Terugkoppeling wordt verstuurd"] * 2
    await asyncio.sleep(1.5)  # the slow call lands, card-less
    handoff = await queued_handoff(harness)
    assert handoff.tell_when_delivered
    assert await harness.sweep(handoff.due_at) == {"deliver": 1}
    assert len(harness.connector.cards_to(ELS)) == 1
    assert sum("alsnog aangekomen" in t for t in counsellor.texts()) == 1
