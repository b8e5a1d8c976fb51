"""The remembered 1:1 chats (bot/chat/chats.py): bounded, least recently used forgotten first."""

from bot.chat.chats import Chats


def key(n: int) -> tuple[str, str, str, str]:
    return ("https://smba.example/emea/", "tenant", f"29:member-{n}", "28:bot")


def test_a_chat_is_remembered_until_forgotten():
    chats = Chats()
    chats.remember(key(1), "a:1chat")
    assert chats.get(key(1)) == "a:1chat" and chats.get(key(2)) is None
    chats.forget(key(1))
    chats.forget(key(1))  # twice is harmless
    assert chats.get(key(1)) is None and len(chats) == 0


def test_an_empty_conversation_id_is_not_remembered():
    chats = Chats()
    chats.remember(key(1), "")
    assert chats.get(key(1)) is None


def test_past_its_size_the_least_recently_used_chat_goes_first():
    chats = Chats(size=2)
    chats.remember(key(1), "a")
    chats.remember(key(2), "b")
    assert chats.get(key(1)) == "a"  # used: now the most recent
    chats.remember(key(3), "c")
    assert len(chats) == 2 and chats.get(key(2)) is None
    assert chats.get(key(1)) == "a" and chats.get(key(3)) == "c"
