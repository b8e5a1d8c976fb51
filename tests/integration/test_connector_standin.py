"""The Bot Connector stand-in, driven by botbuilder's own CloudAdapter and ConnectorClient.

What botbuilder 4.17.1 (msrest 0.7.1 on requests/urllib3 2.x, run in a thread pool) does,
as observed here:

* Anonymous mode (APP_ID ""): no Authorization header. Create sends ``tenantID`` (capital ID)
  plus ``channelData.tenant.id``; ids in paths are percent-encoded with ``safe=''``.
* Accepted statuses: create/send/reply/update 200, 201, 202; delete 200, 202. Anything else
  raises ``ErrorResponseException`` (``botframework.connector.models``, an
  ``msrest.exceptions.HttpOperationError``) with ``.response.status_code``, at once.
* POST (create, send, reply) is never retried: urllib3 2 ignores msrest's ``method_whitelist``,
  so its default ``allowed_methods`` (no POST) applies. A dropped connection on POST raises
  ``msrest.exceptions.ClientRequestError`` (requests ConnectionError, RemoteDisconnected).
* PUT and DELETE are retried up to 3 times (4 calls) on 408/5xx (not 501/505) and on dropped
  connections, with back-off 0 s, 1.6 s, 3.2 s (backoff_factor 0.8), and on 413/429/503 that
  carry Retry-After, sleeping that long. 429 without Retry-After and other 4xx: no retry.
  When the retries run out the caller gets ``ClientRequestError`` (RetryError) — no status code.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiohttp import ClientSession
from botbuilder.core import BotAdapter, CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from botframework.connector.models import ErrorResponseException
from msrest.exceptions import ClientRequestError

from tests.support.connector import FakeConnector


class AnonymousConfig:
    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"


def card(text: str) -> dict[str, Any]:
    return {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": text}]}


def params(member: str = "aad-1", tenant: str = "t1") -> ConversationParameters:
    return ConversationParameters(
        is_group=False, members=[ChannelAccount(id=member)], tenant_id=tenant, channel_data={"tenant": {"id": tenant}}
    )


def reference(connector: FakeConnector, conversation_id: str) -> ConversationReference:
    return ConversationReference(
        channel_id="msteams",
        service_url=connector.url,
        conversation=ConversationAccount(id=conversation_id, conversation_type="personal", tenant_id="t1"),
        user=ChannelAccount(id="aad-1"),
        bot=ChannelAccount(id=""),
    )


def client_of(context: TurnContext) -> Any:
    return context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]


@pytest.fixture
async def connector():
    async with FakeConnector() as running:
        yield running


@pytest.fixture
def adapter() -> CloudAdapter:
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(AnonymousConfig()))


async def open_chat(adapter: CloudAdapter, connector: FakeConnector, content: dict[str, Any]) -> tuple[str, str]:
    """Create the 1:1 chat with aad-1 and post one card into it: (conversation id, activity id)."""
    seen: dict[str, str] = {}

    async def send(context: TurnContext) -> None:
        conversation_id = context.activity.conversation.id
        activity = MessageFactory.attachment(CardFactory.adaptive_card(content))
        response = await client_of(context).conversations.send_to_conversation(conversation_id, activity)
        seen.update(conversation=conversation_id, activity=response.id)

    await adapter.create_conversation("", send, params(), "msteams", connector.url, None)
    return seen["conversation"], seen["activity"]


async def run(adapter: CloudAdapter, connector: FakeConnector, conversation_id: str, logic) -> None:
    await adapter.continue_conversation(reference(connector, conversation_id), logic, "")


# -- the happy paths ----------------------------------------------------------------------------


async def test_create_then_send(adapter, connector):
    conversation, activity_id = await open_chat(adapter, connector, card("hallo"))

    [create] = connector.created()
    assert create.status == 201 and create.result_id == conversation and conversation.startswith("a:")
    assert create.body["isGroup"] is False and create.body["members"] == [{"id": "aad-1"}]
    assert create.body["tenantID"] == "t1" and create.body["channelData"] == {"tenant": {"id": "t1"}}
    assert "Authorization" not in create.headers  # anonymous mode
    [sent] = connector.sent()
    assert sent.path == f"/v3/conversations/{conversation}/activities" and sent.conversation_id == conversation
    assert sent.status == 201 and sent.result_id == activity_id
    assert connector.cards() == [card("hallo")]
    assert [a["id"] for a in connector.live_activities(conversation)] == [activity_id]
    assert connector.calls_to(conversation) == [sent]

    again, _ = await open_chat(adapter, connector, card("nog eens"))  # same member + tenant → same chat
    assert again == conversation and len(connector.created()) == 2
    assert len(connector.live_activities(conversation)) == 2


async def test_other_member_or_tenant_gets_another_chat(adapter, connector):
    seen: list[str] = []

    async def note(context: TurnContext) -> None:
        seen.append(context.activity.conversation.id)

    for member, tenant in [("aad-1", "t1"), ("aad-2", "t1"), ("aad-1", "t2"), ("aad-1", "t1")]:
        await adapter.create_conversation("", note, params(member, tenant), "msteams", connector.url, None)
    assert len(set(seen)) == 3 and seen[0] == seen[3]


async def test_create_with_an_activity_and_refusals(connector):
    async with ClientSession() as http:
        body = {"isGroup": False, "members": [{"id": "aad-9"}], "tenantId": "t1",
                "activity": {"type": "message", "attachments": [CardFactory.adaptive_card(card("mee")).serialize()]}}
        async with http.post(f"{connector.url}v3/conversations", json=body) as response:
            answer = await response.json()
            assert response.status == 201 and answer["serviceUrl"] == connector.url
        assert [a["id"] for a in connector.live_activities(answer["id"])] == [answer["activityId"]]
        assert connector.cards() == [card("mee")]
        for bad in [{**body, "isGroup": True}, {**body, "tenantId": None}, {**body, "members": []}]:
            async with http.post(f"{connector.url}v3/conversations", json=bad) as response:
                assert response.status == 400 and (await response.json())["error"]["code"] == "BadArgument"
    assert len(connector.created()) == 1 and len(connector.calls) == 4


async def test_update_then_delete_in_a_proactive_turn(adapter, connector):
    conversation, activity_id = await open_chat(adapter, connector, card("eerst"))

    async def overwrite_then_delete(context: TurnContext) -> None:
        attachments = [CardFactory.adaptive_card(card("weg"))]
        await context.update_activity(Activity(type=ActivityTypes.message, id=activity_id, attachments=attachments))
        assert [a["attachments"][0]["content"] for a in connector.live_activities(conversation)] == [card("weg")]
        await context.delete_activity(activity_id)

    await run(adapter, connector, conversation, overwrite_then_delete)

    [update] = connector.updated()
    assert update.method == "PUT" and update.path == f"/v3/conversations/{conversation}/activities/{activity_id}"
    assert update.conversation_id == conversation and update.activity_id == activity_id and update.status == 200
    [delete] = connector.deleted()
    assert delete.activity_id == activity_id and delete.status == 200 and delete.body is None
    assert connector.cards() == [card("eerst"), card("weg")]
    assert connector.live_activities(conversation) == []


async def test_reply_and_odd_conversation_ids(adapter, connector):
    odd = "a:1x/y?z#%20 é;b=c"

    async def post_then_reply(context: TurnContext) -> None:
        client = client_of(context)
        first = await client.conversations.send_to_conversation(odd, MessageFactory.text("een"))
        await client.conversations.reply_to_activity(odd, first.id, MessageFactory.text("twee"))
        await context.update_activity(Activity(type=ActivityTypes.message, id=first.id, text="een!"))

    await run(adapter, connector, odd, post_then_reply)

    assert [(c.method, c.conversation_id, c.status) for c in connector.calls] == [
        ("POST", odd, 201), ("POST", odd, 201), ("PUT", odd, 200)]
    send, reply, _ = connector.calls
    assert reply.activity_id == send.result_id and reply.result_id != send.result_id
    assert [a["text"] for a in connector.live_activities(odd)] == ["een!", "twee"]
    assert connector.sent() == [send, reply]


async def test_update_of_a_deleted_message_is_404(adapter, connector):
    conversation, activity_id = await open_chat(adapter, connector, card("x"))
    connector.clear()

    async def delete_then_update(context: TurnContext) -> None:
        await context.delete_activity(activity_id)
        with pytest.raises(ErrorResponseException) as raised:
            await context.update_activity(Activity(type=ActivityTypes.message, id=activity_id, text="te laat"))
        assert raised.value.response.status_code == 404

    await run(adapter, connector, conversation, delete_then_update)
    assert [(c.method, c.status) for c in connector.calls] == [("DELETE", 200), ("PUT", 404)]
    assert connector.updated() == []


async def test_get_member(adapter, connector):
    conversation, _ = await open_chat(adapter, connector, card("x"))
    connector.members["aad-1"] = {"name": "Els Peeters"}
    found = []

    async def lookup(context: TurnContext) -> None:
        # TeamsInfo.get_member needs channel_data; a continue_conversation activity has none (TypeError).
        context.activity.channel_data = {"tenant": {"id": "t1"}}
        found.append(await TeamsInfo.get_member(context, "aad-1"))

    await run(adapter, connector, conversation, lookup)
    [member] = found
    assert (member.id, member.name, member.aad_object_id, member.tenant_id) == ("aad-1", "Els Peeters", "aad-1", "t1")
    assert connector.calls[-1].path == f"/v3/conversations/{conversation}/members/aad-1"


async def test_wait_for(adapter, connector):
    with pytest.raises(TimeoutError):
        await connector.wait_for(lambda c: c.created(), timeout=0.05)
    await open_chat(adapter, connector, card("x"))
    [create] = await connector.wait_for(lambda c: c.created())
    assert create.result_id


# -- faults ---------------------------------------------------------------------------------------


async def test_429_and_503_on_post_reach_the_caller_without_retry(adapter, connector):
    conversation, _ = await open_chat(adapter, connector, card("x"))
    connector.clear()
    connector.fail(method="POST", status=429, retry_after=7)
    connector.fail(method="POST", status=503)
    errors: list[ErrorResponseException] = []

    async def post_thrice(context: TurnContext) -> None:
        for text in ("een", "twee", "drie"):
            try:
                await client_of(context).conversations.send_to_conversation(conversation, MessageFactory.text(text))
            except ErrorResponseException as error:
                errors.append(error)

    started = time.monotonic()
    await run(adapter, connector, conversation, post_thrice)
    assert time.monotonic() - started < 0.5  # not retried, Retry-After not slept on

    assert [e.response.status_code for e in errors] == [429, 503]  # rules consumed in order
    assert errors[0].response.headers["Retry-After"] == "7"
    assert errors[0].error.error.code == "Throttled" and errors[1].error.error.code == "ServiceUnavailable"
    assert [(c.status, c.fault) for c in connector.calls] == [(429, "429"), (503, "503"), (201, None)]
    assert [c.body["text"] for c in connector.sent()] == ["drie"]  # faulted calls are not applied
    assert len(connector.live_activities(conversation)) == 2


async def test_fault_on_create_stops_before_the_turn(adapter, connector):
    connector.fail(method="POST", path_contains="/v3/conversations", status=403,
                   body={"error": {"code": "ConversationBlockedByUser", "message": "blocked"}})
    turns: list[TurnContext] = []

    async def never(context: TurnContext) -> None:
        turns.append(context)

    with pytest.raises(ErrorResponseException) as raised:
        await adapter.create_conversation("", never, params(), "msteams", connector.url, None)
    assert raised.value.response.status_code == 403 and raised.value.error.error.code == "ConversationBlockedByUser"
    assert turns == [] and connector.created() == [] and len(connector.calls) == 1


async def test_drop_on_post_is_a_connection_error(adapter, connector):
    conversation, _ = await open_chat(adapter, connector, card("x"))
    connector.clear()
    connector.fail(method="POST", status="drop")

    async def post(context: TurnContext) -> None:
        await client_of(context).conversations.send_to_conversation(conversation, MessageFactory.text("een"))

    with pytest.raises(ClientRequestError, match="Connection aborted"):
        await run(adapter, connector, conversation, post)
    [call] = connector.calls
    assert call.status is None and call.fault == "drop" and connector.sent() == []
    await run(adapter, connector, conversation, post)  # the next call goes through again
    assert len(connector.sent()) == 1


async def test_put_and_delete_are_retried_by_msrest(adapter, connector):
    conversation, activity_id = await open_chat(adapter, connector, card("x"))
    connector.clear()
    connector.fail(method="PUT", status=503)  # first retry comes at once (back-off 0 s)
    connector.fail(method="DELETE", status="drop")

    async def overwrite_then_delete(context: TurnContext) -> None:
        await context.update_activity(Activity(type=ActivityTypes.message, id=activity_id, text="weg"))
        await context.delete_activity(activity_id)

    await run(adapter, connector, conversation, overwrite_then_delete)
    assert [(c.method, c.status) for c in connector.calls] == [("PUT", 503), ("PUT", 200), ("DELETE", None),
                                                               ("DELETE", 200)]
    assert connector.live_activities(conversation) == []


async def test_put_retries_run_out_as_client_request_error(adapter, connector):
    conversation, activity_id = await open_chat(adapter, connector, card("x"))
    connector.clear()
    connector.fail(method="PUT", status=503, times=10)

    async def overwrite(context: TurnContext) -> None:
        client_of(context).config.retry_policy.backoff_factor = 0  # 0 s, 1.6 s, 3.2 s by default
        await context.update_activity(Activity(type=ActivityTypes.message, id=activity_id, text="weg"))

    with pytest.raises(ClientRequestError, match="Max retries exceeded"):
        await run(adapter, connector, conversation, overwrite)
    assert [c.status for c in connector.calls] == [503] * 4  # 1 + 3 retries, then no status for the caller


async def test_delay(adapter, connector):
    connector.fail(method="POST", status="delay", seconds=0.2)
    started = time.monotonic()
    await open_chat(adapter, connector, card("x"))
    assert time.monotonic() - started >= 0.2
    assert connector.calls[0].fault == "delay" and len(connector.created()) == 1 and len(connector.sent()) == 1


async def test_fault_rules_match_method_and_path(connector):
    connector.fail(method="PUT", status=500)
    connector.fail(path_contains="/members/", status=404, times=2)
    async with ClientSession() as http:
        member, activity = "members/m", "activities"
        for method, tail in [("POST", activity), ("GET", member), ("PUT", f"{activity}/act-1"), ("GET", member),
                             ("GET", member)]:
            url = f"{connector.url}v3/conversations/a:1/{tail}"
            async with http.request(method, url, json={"type": "message"}) as response:
                await response.read()
    assert [c.status for c in connector.calls] == [201, 404, 500, 404, 200]
    assert connector.calls_to("a:1") == connector.calls
