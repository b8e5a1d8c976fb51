"""The botbuilder host's reminder digests, posted straight on the JSON connector client (issue 16:
no proactive turn per reminder), against the loopback Bot Connector stand-in: the same request a
proactive turn made (path, activity JSON, the tenant's registration token), in a slot of the
rate limiter per tenant and per conversation, retried on 412/429/502/504, and every failure the
same ``DeliveryError`` as before. No mocks: botbuilder's CloudAdapter with its own credentials
extension point, the real messenger, rate limiter and HTTP server."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from typing import Any

import pytest
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botframework.connector import models
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import AppCredentials
from msrest.serialization import Serializer

from bot.adapters.ratelimit import Limit, RateLimiter
from bot.app.ports import DeliveryError
from bot.chat.connector import ConnectorSession
from bot.domain.handoff import Handoff, HandoffState
from bot.domain.model import Actor, Address, Delivery
from bot.teams.adapter import BotRegistration, Registrations, create_adapter, proactive_connector
from bot.teams.cards import Cards
from bot.teams.connector import JsonConnectorClient, send_wire, wire, wire_card
from bot.teams.messenger import TeamsMessenger, reference_of
from tests.factories import NOW, RECIPIENT, handoff
from tests.support.connector import Call, FakeConnector

ATLAS = RECIPIENT.tenant_id
APP_A = "11111111-1111-4111-8111-111111111111"  # the primary registration
APP_B = "22222222-2222-4222-8222-222222222222"  # Atlas's own registration
MSREST = Serializer({k: v for k, v in models.__dict__.items() if isinstance(v, type)})


class IssuedCredentials(AppCredentials):
    """A registration's credentials whose token service is this test (botbuilder's own extension
    point for token sources): each registration's token names its app id."""

    def __init__(self, app_id: str) -> None:
        super().__init__(app_id=app_id)
        self.issued: list[str] = []

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.issued.append(f"token-of-{self.microsoft_app_id}")
        return self.issued[-1]


class IssuingRegistrations(Registrations):
    """The bot's registrations (which app id speaks to which tenant), with this test's token source."""

    def __init__(self) -> None:
        super().__init__(BotRegistration(APP_A, "secret-a"), [BotRegistration(APP_B, "secret-b", "SingleTenant",
                                                                              ATLAS)])
        self.credentials: dict[str, IssuedCredentials] = {}

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> AppCredentials:
        await super().create_credentials(app_id, oauth_scope, login_endpoint, validate_authority)  # a known app id
        return self.credentials.setdefault(app_id, IssuedCredentials(app_id))


def posts(connector: FakeConnector) -> list[Call]:
    """Every activity POST the stand-in received, answered or not."""
    return [c for c in connector.calls if c.method == "POST" and c.is_activity]


@pytest.fixture
async def connector():
    async with FakeConnector() as running:
        yield running


@pytest.fixture
async def session():
    opened = ConnectorSession(timeout=4.0)
    yield opened
    await opened.close()


def messenger(connector: FakeConnector, session: ConnectorSession, *, timeout: float = 4.0,
              limiter: RateLimiter | None = None) -> TeamsMessenger:
    registrations = IssuingRegistrations()
    return TeamsMessenger(create_adapter(registrations, session=session), Cards(), service_url=connector.url,
                          app_id_for=registrations.app_id_for, timeout=timeout, limiter=limiter or RateLimiter())


def pending(connector: FakeConnector, tenant: str = ATLAS, conversation: str = "a:1els", n: int = 2) -> list[Handoff]:
    """``n`` delivered handoffs for one recipient, the last one sent latest."""
    recipient = RECIPIENT.model_copy(update={"tenant_id": tenant})
    address = Address(service_url=connector.url, conversation_id=conversation, tenant_id=tenant, user_id="aad-els")
    return [handoff(recipient=recipient, state=HandoffState.DELIVERED, sent_at=NOW + timedelta(hours=k),
                    counsellor=Actor(aad_object_id=f"aad-c{k}", tenant_id="tenant-vdab",
                                     name="Bram Bemiddelaar" if k else ""),  # no name: "een bemiddelaar"
                    delivery=Delivery(address=address, activity_id=f"act-{k}", attempt=1))
            for k in range(n)]


async def as_a_turn_posted_it(sender: TeamsMessenger, handoffs: list[Handoff]) -> dict[str, Any]:
    """The digest as ``remind`` posted it before issue 16's change: in a proactive turn, as a
    botbuilder ``Activity`` (returns what msrest itself would have put on the wire)."""
    cards = sender._cards
    activity = MessageFactory.attachment(CardFactory.adaptive_card(cards.reminder_digest(handoffs)))
    activity.summary = cards.reminder_summary(handoffs)
    tenant = handoffs[-1].recipient.tenant_id
    assert handoffs[-1].delivery is not None

    async def post(context: TurnContext) -> None:
        await sender._post(context, activity, tenant)

    msrest: dict[str, Any] = MSREST.body(copy.deepcopy(activity), "Activity")
    await sender._adapter.continue_conversation(reference_of(handoffs[-1].delivery.address), post,
                                                sender._app_id_for(tenant))
    return msrest


@pytest.mark.parametrize(("tenant", "app_id"), [(ATLAS, APP_B), ("tenant-amal", APP_A)])
async def test_the_digest_is_the_request_a_proactive_turn_made(connector, session, tenant, app_id):
    """Path, activity JSON (= msrest's) and the bearer token of the tenant's own registration."""
    sender = messenger(connector, session)
    handoffs = pending(connector, tenant)
    await sender.remind(handoffs)
    msrest = await as_a_turn_posted_it(sender, handoffs)
    new, old = connector.sent()
    assert (new.path, new.body, new.headers["Authorization"]) == (old.path, old.body, old.headers["Authorization"])
    assert new.body == msrest and new.path == "/v3/conversations/a:1els/activities"
    assert new.headers["Authorization"] == f"Bearer token-of-{app_id}" and new.ok
    assert [h.reference in str(new.body) for h in handoffs] == [True, True]
    assert "Amina" not in str(new.body)  # the client's name never reaches a reminder


async def test_the_wire_form_of_a_digest_is_msrests(connector):
    cards = Cards()
    for n in (1, 3):
        handoffs = pending(connector, n=n)
        activity = MessageFactory.attachment(CardFactory.adaptive_card(cards.reminder_digest(handoffs)))
        activity.summary = cards.reminder_summary(handoffs)
        body = wire_card(cards.reminder_digest(handoffs), cards.reminder_summary(handoffs))
        assert body == wire(activity, "Activity") == MSREST.body(copy.deepcopy(activity), "Activity")
        assert list(body) == list(wire(activity, "Activity"))  # in the same order, too


async def test_the_client_is_the_one_a_proactive_turn_is_given(connector, session):
    """The same cached client (and so the same kept token) as botbuilder's proactive turns."""
    sender = messenger(connector, session)
    seen: list[Any] = []

    async def look(context: TurnContext) -> None:
        seen.append(context.turn_state[context.adapter.BOT_CONNECTOR_CLIENT_KEY])

    reference = reference_of(pending(connector)[0].delivery.address)  # type: ignore[union-attr]
    await sender._adapter.continue_conversation(reference, look, APP_B)
    client = await proactive_connector(sender._adapter, APP_B, connector.url)
    assert client is seen[0] and isinstance(client, JsonConnectorClient)
    assert client is not await proactive_connector(sender._adapter, APP_A, connector.url)


async def test_msrests_own_client_sends_the_same_body(connector):
    """``send_wire`` on a client without the JSON session (an adapter built without one)."""
    body = wire_card(Cards().reminder_digest(pending(connector)), "Herinnering")
    answer = await send_wire(ConnectorClient(AppCredentials(), base_url=connector.url), "a:1els", body)
    [sent] = connector.sent()
    assert sent.body == body and answer is not None and answer.id == sent.result_id


@pytest.mark.parametrize("status", [412, 429, 502, 504])
async def test_a_throttled_or_failed_gateway_digest_is_retried(connector, session, status):
    sender = messenger(connector, session)
    connector.fail("POST", "/activities", status=status, retry_after=0)
    await sender.remind(pending(connector))
    first, second = posts(connector)
    assert (first.status, first.fault) == (status, str(status)) and second.ok and second.body == first.body


async def test_a_digest_throttled_for_too_long_is_left_to_the_sweep(connector, session):
    sender = messenger(connector, session)
    connector.fail("POST", "/activities", status=429, retry_after=60)
    with pytest.raises(DeliveryError) as raised:
        await sender.remind(pending(connector))
    error = raised.value
    assert (error.status, error.retryable, error.retry_after) == (429, True, 60.0)
    assert len(posts(connector)) == 1


async def test_a_refused_digest_is_final_and_not_retried(connector, session):
    sender = messenger(connector, session)
    connector.fail("POST", "/activities", status=403)
    with pytest.raises(DeliveryError) as raised:
        await sender.remind(pending(connector))
    assert (raised.value.status, raised.value.retryable) == (403, False) and len(posts(connector)) == 1


async def test_a_digest_that_times_out_or_is_dropped_is_retryable(connector, session):
    sender = messenger(connector, session, timeout=0.3)
    connector.fail("POST", "/activities", status="delay", seconds=2)
    with pytest.raises(DeliveryError) as late:
        await sender.remind(pending(connector))
    assert (late.value.status, late.value.retryable) == (None, True)
    connector.fail("POST", "/activities", status="drop")
    with pytest.raises(DeliveryError) as dropped:
        await sender.remind(pending(connector))
    assert (dropped.value.status, dropped.value.retryable) == (None, True)
    assert [c.status for c in posts(connector)] == [None, None]  # not answered: given up on, dropped


async def test_an_unknown_registration_is_a_retryable_failure_as_before(connector, session):
    """A tenant whose app id has no credentials: botbuilder's PermissionError (an OSError), as the
    turn raised it, is a delivery failure without a status; nothing is sent."""
    sender = messenger(connector, session)
    sender._app_id_for = lambda _tenant: "33333333-3333-4333-8333-333333333333"
    with pytest.raises(DeliveryError) as raised:
        await sender.remind(pending(connector))
    assert (raised.value.status, raised.value.retryable) == (None, True) and connector.calls == []


async def test_digests_take_slots_per_tenant_and_per_conversation(connector, session):
    """Two digests to one tenant's two chats wait for the tenant's window; two to one chat (in a
    tenant with room) for the chat's."""
    limiter = RateLimiter(tenant_limits=(Limit(1, 0.3),), conversation_limits=(Limit(100, 1.0),))
    sender = messenger(connector, session, limiter=limiter)
    await asyncio.gather(sender.remind(pending(connector, ATLAS, "a:1one")),
                         sender.remind(pending(connector, ATLAS, "a:1two")))
    one, two = connector.sent()
    assert {one.conversation_id, two.conversation_id} == {"a:1one", "a:1two"}
    assert two.time - one.time >= 0.3 and limiter.waited >= 0.3

    limiter = RateLimiter(tenant_limits=(Limit(100, 1.0),), conversation_limits=(Limit(1, 0.3),))
    sender = messenger(connector, session, limiter=limiter)
    connector.clear()
    await asyncio.gather(sender.remind(pending(connector, ATLAS, "a:1one")),
                         sender.remind(pending(connector, ATLAS, "a:1one")))
    one, two = connector.sent()
    assert two.time - one.time >= 0.3 and limiter.waited >= 0.3
