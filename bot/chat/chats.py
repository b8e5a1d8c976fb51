"""The 1:1 chats this process has opened, remembered so that a delivery to someone it has
written to before is one connector call, not two (issue 16).

Teams' proactive-messaging guidance says to create a conversation once and keep its id: for a
1:1 chat with the bot, ``POST /v3/conversations`` answers the same id every time. Asking again
costs a round trip to Teams and a request against the tenant's rate limit (50/s per app) on every
card. So both messengers ask once per recipient and post straight into the remembered chat after.

What is remembered is the chat's id, keyed by the service URL, the tenant, the member and the bot:
staff identifiers the handoff records hold anyway, never client data, in memory only (a restart
starts empty; so does each replica). The map is bounded: the least recently used chat is
forgotten first.

A remembered chat can go stale: the recipient removed the app (Teams answers 403) or the chat is
gone (404). Nothing was posted then, so the messenger forgets it and opens the chat as it would
have the first time, in the same attempt (``STALE``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["STALE", "Chats", "ChatKey"]
T = TypeVar("T")

# (service URL, tenant id, member id, bot id)
ChatKey = tuple[str, str, str, str]
# What a post into a remembered chat answers when that chat is no longer the bot's to write in.
STALE = frozenset({403, 404})


class Chats:
    """Conversation ids of opened 1:1 chats, at most ``size`` of them."""

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._ids: OrderedDict[ChatKey, str] = OrderedDict()

    def get(self, key: ChatKey) -> str | None:
        conversation = self._ids.get(key)
        if conversation is not None:
            self._ids.move_to_end(key)
        return conversation

    def remember(self, key: ChatKey, conversation_id: str) -> None:
        if not conversation_id:
            return
        self._ids[key] = conversation_id
        self._ids.move_to_end(key)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def forget(self, key: ChatKey) -> None:
        self._ids.pop(key, None)

    async def post_into(self, key: ChatKey, post: Callable[[str], Awaitable[T]],
                        status_of: Callable[[Exception], int | None]) -> T | None:
        """``post(conversation_id)`` into the chat remembered for ``key``; ``None`` if there is none,
        or if Teams answered ``STALE`` (nothing was posted): then it is forgotten, to be opened again.
        Any other failure is raised."""
        conversation = self.get(key)
        if conversation is None:
            return None
        try:
            return await post(conversation)
        except Exception as error:
            if status_of(error) not in STALE:
                raise
            self.forget(key)
            return None

    def __len__(self) -> int:
        return len(self._ids)
