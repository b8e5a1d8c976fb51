"""The tests' Bot Connector stand-in, with an index of the cards it received and flat memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bench.common import action_data
from tests.support.connector import ADAPTIVE_CARD, Call, FakeConnector

MAX_CALLS = 5_000  # the stand-in records every call; a long run keeps only the latest


@dataclass(frozen=True)
class Posted:
    """A card the bot posted: where it landed and what it says."""

    conversation_id: str
    activity_id: str
    card: dict[str, Any]


class BenchConnector(FakeConnector):
    """``FakeConnector`` that indexes the cards the bot posts and forgets old calls.

    A reply is found by the id of the activity it answers (the bot replies to a message with
    ``POST …/activities/{that id}``), so many requests can be prepared at once in one conversation.
    """

    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[str, Posted] = {}  # id of the activity replied to → the card the bot replied with
        self.recipient_cards: list[Posted] = []  # cards with an ``overgezet`` button (any conversation)
        self.posts = 0  # activities posted (sends and replies), ever

    def _post(self, call: Call) -> web.Response:
        response = super()._post(call)
        self.posts += 1
        if len(self.calls) > MAX_CALLS:
            del self.calls[: len(self.calls) - MAX_CALLS // 2]
        body = call.body if isinstance(call.body, dict) else {}
        for attachment in body.get("attachments") or []:
            if attachment.get("contentType") == ADAPTIVE_CARD and call.result_id and call.conversation_id:
                posted = Posted(call.conversation_id, call.result_id, attachment["content"])
                if call.activity_id:
                    self.replies[call.activity_id] = posted
                if action_data(posted.card, "overgezet") is not None:
                    self.recipient_cards.append(posted)
        return response

    def forget(self) -> None:
        """Between rows: drop the recorded calls and what is on screen, except the recipient cards
        still waiting to be clicked (the bot updates those when they are)."""
        self.calls.clear()
        keep = {p.conversation_id for p in self.recipient_cards}
        for conversation in [c for c in self._live if c not in keep]:
            del self._live[conversation]

    def reset(self) -> None:
        """Forget everything but the conversations opened."""
        self.recipient_cards.clear()
        self.replies.clear()
        self.forget()
