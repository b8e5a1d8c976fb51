"""Property: whatever arrives at /api/messages — malformed activities, wrong types, random card
data, non-JSON — the bot answers 2xx or 4xx, never 5xx, and never stores a draft from it."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.clock import FixedClock
from bot.domain.calendar import BRUSSELS
from bot.teams.activity import command_text
from tests.support.connector import FakeConnector
from tests.support.teams import Harness

VERBS = ["identificeer", "herbegin", "bevestig_herhaling", "bekijk", "wijzig", "annuleer", "verstuur",
         "overgezet", "niet_mijn_klant", "ververs"]  # not "nieuw": that one legitimately opens a draft


class BotInAThread:
    """The in-process bot and its connector on their own event loop, for a synchronous property test."""

    def __init__(self, tmp) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.tmp = tmp

    def call(self, coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    async def _start(self) -> None:
        self.connector = FakeConnector()
        await self.connector.start()
        self.harness = Harness(self.tmp, self.connector, FixedClock(datetime(2026, 11, 30, 9, tzinfo=BRUSSELS)))
        await self.harness.start()

    async def _stop(self) -> None:
        await self.harness.close()
        await self.connector.stop()

    def __enter__(self) -> BotInAThread:
        self.thread.start()
        self.call(self._start())
        return self

    def __exit__(self, *_: object) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    async def _raw(self, body: bytes, content_type: str) -> int:
        async with self.harness.http.post(self.harness.url, data=body, headers={"Content-Type": content_type}) as r:
            return r.status

    def post(self, activity: Any) -> int:
        return self.call(self._raw(json.dumps(activity).encode(), "application/json"))

    def post_raw(self, body: bytes, content_type: str) -> int:
        return self.call(self._raw(body, content_type))

    def drafts(self) -> int:
        rows = self.call(self.harness.runtime.store._query("SELECT count(*) FROM drafts"))
        return rows[0][0]


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    with BotInAThread(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def base(bot: BotInAThread) -> dict[str, Any]:
    return bot.harness.user("aad-fuzz", "tenant-vdab", "Fuzz").activity(text="hallo")


@st.composite
def activities(draw, bot: BotInAThread) -> dict[str, Any]:
    activity = base(bot)
    if draw(st.booleans()):
        activity.update(type="invoke", name=draw(st.sampled_from(["adaptiveCard/action", "task/fetch", "", "x"])))
        action = {"type": draw(st.sampled_from(["Action.Execute", "Action.Submit", "", 3])),
                  "verb": draw(st.sampled_from(VERBS) | st.text(max_size=20)),
                  "data": draw(st.dictionaries(st.sampled_from(["draft", "handoff", "poging", "naam",
                                                                "geboortedatum", "jobdoelwit"]) | st.text(max_size=8),
                                               json_values, max_size=5) | json_values)}
        activity["value"] = draw(st.sampled_from([{"action": action, "trigger": "manual"}, action]) | json_values)
    else:
        text = draw(st.text(max_size=300))
        activity["text"] = text if command_text(text) != "terugkoppeling" else text + "?"
    for key in draw(st.lists(st.sampled_from(sorted(activity)), max_size=3, unique=True)):
        if key == "serviceUrl":
            continue  # local mode posts replies to it: keep it on the loopback connector
        if draw(st.booleans()):
            del activity[key]
        else:
            activity[key] = draw(json_values)
    return activity


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_garbage_activities_never_5xx_and_never_a_draft(bot, data):
    activity = data.draw(activities(bot))
    status = bot.post(activity)
    assert status < 500, (status, activity)
    assert bot.drafts() == 0, activity


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
def test_non_activities_are_4xx(bot, body, content_type):
    status = bot.post_raw(body, content_type)
    assert 400 <= status < 500 or status in (200, 201), status
    assert bot.drafts() == 0


def test_an_oversized_body_is_413(bot):
    assert bot.post_raw(b'{"type": "message", "text": "' + b"x" * 300_000 + b'"}', "application/json") == 413
