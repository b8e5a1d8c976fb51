"""The bot opens a recipient's 1:1 chat once and posts every later card straight into it
(bot/chat/chats.py): Teams' guidance is to create a conversation once and keep its id, and every
``POST /v3/conversations`` is a round trip and a request against the tenant's rate limit."""

from tests.e2e.conftest import ELS
from tests.e2e.flows import send
from tests.support.cards import texts
from tests.support.connector import error_body


async def test_a_second_card_for_the_same_recipient_goes_straight_into_her_chat(harness, counsellor, els):
    first = await send(counsellor)
    second = await send(counsellor, "Ali Hassan", "1985-06-01")
    assert texts(first)[0] == texts(second)[0] == "Terugkoppeling verstuurd"
    assert len(harness.connector.created()) == 1  # one chat opened, for the first card only
    assert len(harness.connector.cards_to(ELS)) == 2


async def test_a_chat_teams_no_longer_lets_the_bot_write_in_is_opened_again_in_the_same_attempt(
        harness, counsellor, els):
    """She removed the app meanwhile, say: Teams refuses the post (403, nothing posted). The bot
    forgets the chat, opens it as the first time, and the card lands at once."""
    await send(counsellor)
    conversation = harness.connector.conversation_for(ELS)
    harness.connector.fail(method="POST", path_is=f"/v3/conversations/{conversation}/activities", status=403,
                           body=error_body(403, "The bot is not part of the conversation roster.",
                                           "BotNotInConversationRoster"))
    receipt = await send(counsellor, "Ali Hassan", "1985-06-01")
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    assert len(harness.connector.created()) == 2
    assert len(harness.connector.cards_to(ELS)) == 2
    events = [e.event for e in await harness.runtime.store.audit_events()]
    assert events.count("sent") == 2 and "delivery_deferred" not in events
