"""botbuilder's connector calls as plain JSON on one aiohttp session (issue 16,
``bot.teams.connector``), against the loopback Bot Connector stand-in: what goes on the wire is
what msrest would send, failures keep the shapes the messenger reads (status, Retry-After, the
error's code), every call is bounded by the session's timeout, and a registration's token rides
along. No mocks: botbuilder's CloudAdapter, its own ``AppCredentials`` extension point, and a real
HTTP server."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import time
from typing import Any

import pytest
from botbuilder.core import BotAdapter, CardFactory, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    CardAction,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    Entity,
    Mention,
    SuggestedActions,
)
from botframework.connector import models
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import AppCredentials
from botframework.connector.models import ErrorResponseException
from msrest.exceptions import ClientRequestError
from msrest.serialization import Serializer

from bot.chat.connector import ConnectorSession
from bot.teams import messenger
from bot.teams.adapter import BotRegistration, Registrations, create_adapter
from bot.teams.connector import JsonConnectorClient, serialized, wire
from tests.support.connector import NOT_INSTALLED_MESSAGE, FakeConnector

MSREST = Serializer({k: v for k, v in models.__dict__.items() if isinstance(v, type)})
CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "Hallo é ✓"}]}


def msrest_body(model: Any, type_name: str) -> Any:
    """What botframework's ConnectorClient puts on the wire (it mutates what it serialises)."""
    return MSREST.body(copy.deepcopy(model), type_name)


def incoming() -> Activity:
    return Activity().deserialize({
        "type": "message", "id": "in-1", "text": "terugkoppeling", "channelId": "msteams", "locale": "nl-BE",
        "serviceUrl": "https://smba.trafficmanager.net/emea/", "timestamp": "2026-12-01T10:00:00.123Z",
        "from": {"id": "29:user", "aadObjectId": "aad-1", "name": "Lien"},
        "recipient": {"id": "28:bot", "name": "Terugkoppeling"},
        "conversation": {"id": "a:1chat", "conversationType": "personal", "tenantId": "t1"},
        "channelData": {"tenant": {"id": "t1"}},
        "entities": [{"type": "clientInfo", "locale": "nl-BE", "country": "BE"}],
    })


def reply(activity: Activity) -> Activity:
    """An outgoing activity as TurnContext.send_activity addresses it."""
    return TurnContext.apply_conversation_reference(activity, TurnContext.get_conversation_reference(incoming()))


def examples() -> list[tuple[str, Any, str]]:
    card_reply = reply(MessageFactory.attachment(CardFactory.adaptive_card(CARD)))
    card_reply.summary = "Nieuwe terugkoppeling TK-ABC123"
    text = reply(MessageFactory.text("Je bericht is verwijderd."))
    update = Activity(type=ActivityTypes.message, id="act-7", attachments=[CardFactory.adaptive_card(CARD)])
    update = reply(update)
    rich = reply(MessageFactory.text("kies"))
    rich.timestamp = datetime.datetime(2026, 12, 1, 9, 30, 5, 120000, tzinfo=datetime.UTC)
    rich.entities = [Mention(mentioned=ChannelAccount(id="29:user", name="Lien"), text="<at>Lien</at>",
                             type="mention"), Entity(type="clientInfo")]
    rich.suggested_actions = SuggestedActions(to=["29:user"], actions=[CardAction(type="imBack", title="Ja",
                                                                                  value="ja")])
    rich.channel_data = {"notification": {"alert": True}, "count": 2, "ratio": 0.5, "list": [1, None, "x"]}
    odd = reply(MessageFactory.text("odd"))
    odd.recipient = {"id": "29:user", "name": "Lien", "unknown": "dropped by msrest"}  # a dict where a model goes
    odd.channel_data = {"when": datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)}
    parameters = ConversationParameters(is_group=False, members=[ChannelAccount(id="aad-1")], tenant_id="t1",
                                        channel_data={"tenant": {"id": "t1"}}, bot=ChannelAccount(id="28:bot"))
    return [("card reply", card_reply, "Activity"), ("text", text, "Activity"), ("update", update, "Activity"),
            ("rich", rich, "Activity"), ("unusual values", odd, "Activity"),
            ("create", parameters, "ConversationParameters")]


@pytest.mark.parametrize(("name", "model", "type_name"), examples(), ids=[e[0] for e in examples()])
def test_the_wire_form_is_what_msrest_sends(name, model, type_name):
    expected = msrest_body(model, type_name)
    assert wire(copy.deepcopy(model), type_name) == expected
    assert json.dumps(wire(model, type_name), sort_keys=True) == json.dumps(expected, sort_keys=True)
    if type_name == "Activity":
        assert expected["type"] == "message" and "from" in expected and "replyToId" in expected  # camelCase


def test_an_invoke_response_body_is_what_msrest_serialises():
    """The endpoint's answer to a card action (botbuilder leaves it a model): as ``serialize()``."""
    answer = AdaptiveCardInvokeResponse(status_code=200, type="application/vnd.microsoft.card.adaptive", value=CARD)
    assert serialized(answer) == copy.deepcopy(answer).serialize() == {
        "statusCode": 200, "type": "application/vnd.microsoft.card.adaptive", "value": CARD}
    odd = AdaptiveCardInvokeResponse(status_code=400, type="application/vnd.microsoft.error",
                                     value={"when": datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)})
    assert serialized(odd) == copy.deepcopy(odd).serialize()  # msrest's own, for what the fast path leaves


@pytest.fixture
async def connector():
    async with FakeConnector(require_install=True) as running:
        yield running


@pytest.fixture
async def session():
    opened = ConnectorSession(timeout=0.5)
    yield opened
    await opened.close()


def reference(connector: FakeConnector, conversation_id: str) -> ConversationReference:
    return ConversationReference(
        channel_id="msteams", service_url=connector.url,
        conversation=ConversationAccount(id=conversation_id, conversation_type="personal", tenant_id="t1"),
        user=ChannelAccount(id="aad-1"), bot=ChannelAccount(id="28:bot"),
    )


async def test_a_cloud_adapter_turn_posts_json_on_the_shared_session(connector, session):
    """Create, send, reply, update, delete through botbuilder's CloudAdapter (anonymous: no token),
    each body equal to msrest's; another operation still works through msrest."""
    adapter = create_adapter(Registrations(BotRegistration()), session=session)
    connector.install("aad-1", "t1")
    parameters = ConversationParameters(is_group=False, members=[ChannelAccount(id="aad-1")], tenant_id="t1",
                                        channel_data={"tenant": {"id": "t1"}})
    sent: dict[str, Any] = {}

    async def first(context: TurnContext) -> None:
        client = context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]
        assert isinstance(client, JsonConnectorClient)
        activity = MessageFactory.attachment(CardFactory.adaptive_card(CARD))
        sent["card"] = msrest_body(activity, "Activity")
        response = await client.conversations.send_to_conversation(context.activity.conversation.id, activity)
        sent.update(conversation=context.activity.conversation.id, id=response.id)

    await adapter.create_conversation("", first, parameters, "msteams", connector.url, None)
    [create] = connector.created()
    assert create.body == msrest_body(parameters, "ConversationParameters") and "Authorization" not in create.headers
    [post] = connector.sent()
    assert post.body == sent["card"] and post.result_id == sent["id"]

    async def later(context: TurnContext) -> None:
        # a reply to the turn's activity: the adapter's send_activities → reply_to_activity
        await context.send_activity(MessageFactory.text("Dank je"))
        update = Activity(type=ActivityTypes.message, id=sent["id"], attachments=[CardFactory.adaptive_card(CARD)])
        sent["update"] = msrest_body(TurnContext.apply_conversation_reference(
            copy.deepcopy(update), TurnContext.get_conversation_reference(context.activity)), "Activity")
        await context.update_activity(update)
        await context.delete_activity(sent["id"])
        client = context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]
        member = await client.conversations.get_conversation_member(sent["conversation"], "aad-1")  # msrest's
        sent["member"] = member.id

    await adapter.continue_conversation(reference(connector, sent["conversation"]), later, "")
    replied = connector.sent()[-1]
    assert replied.path == f"/v3/conversations/{sent['conversation']}/activities/{replied.activity_id}"
    assert replied.body["text"] == "Dank je" and replied.body["replyToId"] == replied.activity_id
    [updated] = connector.updated()
    assert updated.body == sent["update"]
    assert [c.activity_id for c in connector.deleted()] == [sent["id"]] and sent["member"] == "aad-1"
    assert connector.live_activities(sent["conversation"]) == [{**replied.body, "id": replied.result_id}]


def client(connector: FakeConnector, session: ConnectorSession, credentials: AppCredentials | None = None) -> Any:
    return JsonConnectorClient(ConnectorClient(credentials or AppCredentials(), base_url=connector.url), session)


async def test_errors_carry_the_status_retry_after_and_the_connector_error_code(connector, session):
    conversations = client(connector, session).conversations
    connector.fail("POST", "/activities", status=429, retry_after=3)
    with pytest.raises(ErrorResponseException) as throttled:
        await conversations.send_to_conversation("a:1x", MessageFactory.text("x"))
    error = throttled.value
    assert isinstance(error, messenger.CONNECTOR_ERRORS)
    assert messenger._status(error) == 429 and messenger._retry_after(error) == 3.0
    assert messenger._retry_after_header(error) == "3" and messenger._error_of(error)[0] == "Throttled"
    assert "x" not in str(error).replace("connector", "")  # content-free: status and code only

    parameters = ConversationParameters(is_group=False, members=[ChannelAccount(id="aad-2")], tenant_id="t1")
    with pytest.raises(ErrorResponseException) as refused:  # the app is not installed for aad-2
        await conversations.create_conversation(parameters)
    assert messenger.is_not_installed(refused.value)
    assert messenger._error_of(refused.value) == ("BadArgument", NOT_INSTALLED_MESSAGE)

    connector.fail("PUT", status=502)
    with pytest.raises(ErrorResponseException) as bad_gateway:
        await conversations.update_activity("a:1x", "act-1", MessageFactory.text("x"))
    assert messenger._status(bad_gateway.value) == 502 and messenger._retry_after(bad_gateway.value) is None
    assert [c.status for c in connector.calls if c.method == "PUT"] == [502]  # not retried behind the messenger


async def test_every_call_is_bounded_by_the_session_timeout_and_a_drop_is_unreachable(connector, session):
    conversations = client(connector, session).conversations
    connector.fail("DELETE", status="delay", seconds=5)
    with pytest.raises(ClientRequestError):
        await conversations.delete_activity("a:1x", "act-1")
    [waiting] = connector.calls
    assert waiting.status is None  # given up on before the stand-in answered
    connector.fail("POST", status="drop")
    with pytest.raises(ClientRequestError):
        await conversations.send_to_conversation("a:1x", MessageFactory.text("x"))
    await session.close()
    with pytest.raises(ClientRequestError):  # after shutdown: no new session, an unreachable connector
        await conversations.send_to_conversation("a:1x", MessageFactory.text("x"))
    assert len(connector.calls) == 2


def jwt(expires_in: float) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256'})}.{part({'exp': time.time() + expires_in, 'aud': 'botframework'})}.sig"


class IssuedCredentials(AppCredentials):
    """A registration's credentials whose token service is this test (botbuilder's own extension
    point for token sources, as certificate and managed-identity credentials are)."""

    def __init__(self, expires_in: float) -> None:
        super().__init__(app_id="11111111-1111-4111-8111-111111111111")
        self.expires_in = expires_in
        self.issued: list[str] = []

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.issued.append(jwt(self.expires_in))
        return self.issued[-1]


async def test_a_registrations_token_rides_along_and_is_reused_until_it_is_due(connector, session):
    credentials = IssuedCredentials(expires_in=3600)
    conversations = client(connector, session, credentials).conversations
    for text in ("een", "twee"):
        await conversations.send_to_conversation("a:1x", MessageFactory.text(text))
    assert len(credentials.issued) == 1
    assert [c.headers["Authorization"] for c in connector.sent()] == [f"Bearer {credentials.issued[0]}"] * 2
    connector.fail("POST", status=401)
    with pytest.raises(ErrorResponseException):
        await conversations.send_to_conversation("a:1x", MessageFactory.text("drie"))
    await conversations.send_to_conversation("a:1x", MessageFactory.text("vier"))  # a 401 drops the kept token
    assert len(credentials.issued) == 2 and connector.sent()[-1].headers["Authorization"].endswith(
        credentials.issued[1])

    due = IssuedCredentials(expires_in=60)  # inside the refresh margin: asked again every call
    conversations = client(connector, session, due).conversations
    for text in ("een", "twee"):
        await conversations.send_to_conversation("a:1x", MessageFactory.text(text))
    assert len(due.issued) == 2
