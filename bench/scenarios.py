"""The requests each scenario measures, and the state each one needs (a fresh draft or handoff each).

The scenarios form a pipeline, as one counsellor's conversation does: every ``terugkoppeling``
message the bot answers leaves an identification card to click ``identificeer`` on; every
``identificeer`` answer is a content form to click ``bekijk`` on; every ``bekijk`` a preview to
click ``verstuur`` on; every ``verstuur`` a card in Els's chat to click ``overgezet`` on. So a row
uses the cards the previous scenario's rows left behind, and only tops up (untimed, before the row)
what it still lacks, walking counsellors through the earlier steps with real activities over HTTP,
as ``tests/e2e/flows.py`` does.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from aiohttp import ClientSession

from bench.common import CLIENT, Person, action_data, els
from bench.connector import BenchConnector
from bench.load import Check, Result, post
from tests.e2e.flows import CONTENT as TEST_CONTENT

PREPARE_CONCURRENCY = 32
# The tests' content, with the next contact in the future whenever the bench runs.
CONTENT = {**TEST_CONTENT, "eerstvolgende_contact": (date.today() + timedelta(days=14)).isoformat()}
BOT_SCENARIOS = ("message", "identificeer", "bekijk", "verstuur", "overgezet")
COUNSELLOR_VERBS = ("identificeer", "bekijk", "verstuur")  # in conversation order
INPUTS = {"identificeer": CLIENT, "bekijk": CONTENT}  # what the counsellor types before clicking


def is_2xx(status: int, _: Any) -> bool:
    return 200 <= status < 300


def card_with(marker: str) -> Check:
    """An invoke answered with a card (Universal Actions) whose JSON contains ``marker``."""

    def check(status: int, body: Any) -> bool:
        if status != 200 or not isinstance(body, dict) or body.get("statusCode") != 200:
            return False
        return marker in str(body.get("value"))

    return check


# What each measured request must be answered with, or it counts as an error.
CHECKS: dict[str, Check] = {
    "message": is_2xx,
    "identificeer": card_with("'verb': 'bekijk'"),  # the content form: the client was found
    "bekijk": card_with("'verb': 'verstuur'"),  # the preview
    "verstuur": card_with("Terugkoppeling verstuurd"),  # the receipt: delivered, not queued
    "overgezet": card_with("TK-"),  # the closed card, by reference
}


@dataclass(frozen=True)
class Card:
    """A card on a counsellor's screen: the message it lives in, what it shows now, and whose it is."""

    activity_id: str
    content: dict[str, Any]
    owner: Person


class Pipeline:
    """Cards waiting to be clicked, per verb and user; makes more when a row needs them.

    A counsellor has one unfinished draft at a time (a new one replaces it), so every draft is
    made by a counsellor of its own: each of a row's users sends as a new counsellor for every
    draft (``aad-user-<n>-<k>``, their own personal chat), and the cards are kept per user.
    """

    def __init__(self, session: ClientSession, url: str, connector: BenchConnector) -> None:
        self.session, self.url, self.connector = session, url, connector
        self.waiting: dict[str, defaultdict[str, list[Card]]] = {v: defaultdict(list) for v in COUNSELLOR_VERBS}
        self.topped_up = 0  # cards made outside the measured rows
        self._drafts = itertools.count()
        self._user_of: dict[str, tuple[str, Person]] = {}  # a draft's counsellor → (the row's user, that counsellor)

    def fresh(self, user: Person) -> Person:
        """A new counsellor, in the same tenant, sending for ``user``."""
        aad = f"{user.aad}-{next(self._drafts)}"
        person = Person(aad, user.tenant, user.name, f"a:personal-{aad}")
        self._user_of[aad] = (user.aad, person)
        return person

    @property
    def service_url(self) -> str:
        return self.connector.url

    # -- a row's activities ---------------------------------------------------------------------

    async def queues(self, scenario: str, users: list[Person], per_user: int) -> list[list[dict[str, Any]]]:
        """``per_user`` activities for each user to send, one fresh draft or handoff each."""
        if scenario == "message":
            return [[self.fresh(u).message(self.service_url, "terugkoppeling") for _ in range(per_user)] for u in users]
        if scenario == "overgezet":
            return await self._recipient_clicks(users, per_user)
        cards: list[list[Card]] = []
        jobs: list[Callable[[], Awaitable[None]]] = []
        for user in users:
            waiting = self.waiting[scenario][user.aad]
            mine, waiting[:] = waiting[:per_user], waiting[per_user:]
            cards.append(mine)
            jobs += [partial(self._top_up, scenario, user, mine)] * (per_user - len(mine))
        await _concurrently(jobs)
        return [[self._click(scenario, card.owner, card) for card in mine] for mine in cards]

    async def _top_up(self, verb: str, user: Person, into: list[Card]) -> None:
        into.append(await self._ready(verb, self.fresh(user)))
        self.topped_up += 1

    async def _recipient_clicks(self, users: list[Person], per_user: int) -> list[list[dict[str, Any]]]:
        """Els clicks ``overgezet`` on each card; she is every "user" of these rows, since every
        handoff goes to her (one chat with the bot, many cards in it)."""
        wanted = per_user * len(users)
        missing = wanted - len(self.connector.recipient_cards)
        await _concurrently([partial(self._sent, self.fresh(users[n % len(users)])) for n in range(max(0, missing))])
        cards, self.connector.recipient_cards[:wanted] = self.connector.recipient_cards[:wanted], []
        clicks = [els(p.conversation_id).click(self.service_url, "overgezet", _data(p.card, "overgezet"), p.activity_id)
                  for p in cards]
        return [clicks[n::len(users)] for n in range(len(users))]

    def _click(self, verb: str, user: Person, card: Card) -> dict[str, Any]:
        data = {**_data(card.content, verb), **INPUTS.get(verb, {})}
        return user.click(self.service_url, verb, data, card.activity_id)

    # -- what a row leaves behind ---------------------------------------------------------------

    def harvest(self, scenario: str, result: Result) -> None:
        """Keep the cards a row's answers put on counsellors' screens, for the next scenario. A
        ``message`` answered 2xx whose reply is not the identification card counts as an error."""
        for activity, body in result.answers:
            known = self._user_of.get(activity["from"]["aadObjectId"])
            if known is None:
                continue
            user, owner = known
            if scenario == "message":
                posted = self.connector.replies.pop(activity["id"], None)
                if posted is not None and action_data(posted.card, "identificeer") is not None:
                    self.waiting["identificeer"][user].append(Card(posted.activity_id, posted.card, owner))
                else:
                    result.errors += 1
                    result.first_error = result.first_error or f"no identification card: {str(posted)[:300]}"
            elif scenario in ("identificeer", "bekijk"):
                following = COUNSELLOR_VERBS[COUNSELLOR_VERBS.index(scenario) + 1]
                card = body["value"]
                if action_data(card, following) is not None:
                    self.waiting[following][user].append(Card(activity["replyToId"], card, owner))
        # verstuur's cards land in Els's chat: ``connector.recipient_cards`` holds them.

    # -- walking a counsellor up to a card (untimed) ----------------------------------------------

    async def _ready(self, verb: str, user: Person) -> Card:
        """A new card of ``user``'s with a ``verb`` button, made by the steps before it."""
        if verb == "identificeer":
            message = user.message(self.service_url, "terugkoppeling")
            status, body = await post(self.session, self.url, message)
            posted = self.connector.replies.pop(message["id"], None)
            if not 200 <= status < 300 or posted is None:
                raise RuntimeError(f"preparing: message answered {status} {str(body)[:300]}, card posted: {posted}")
            return Card(posted.activity_id, posted.card, user)
        previous = COUNSELLOR_VERBS[COUNSELLOR_VERBS.index(verb) - 1]
        card = await self._ready(previous, user)
        content = await self._invoke(user, self._click(previous, user, card))
        if (repeat := action_data(content, "bevestig_herhaling")) is not None:  # protocol art. 5
            content = await self._invoke(user, user.click(self.service_url, "bevestig_herhaling", repeat,
                                                          card.activity_id))
        return Card(card.activity_id, content, user)

    async def _invoke(self, user: Person, activity: dict[str, Any]) -> dict[str, Any]:
        status, body = await post(self.session, self.url, activity)
        if status != 200 or not isinstance(body, dict) or body.get("statusCode") != 200:
            raise RuntimeError(f"preparing: {activity['value']['action']['verb']} answered {status} {str(body)[:300]}")
        card: dict[str, Any] = body["value"]
        return card

    async def _sent(self, user: Person) -> None:
        """One more handoff delivered to Els: her card is then in ``connector.recipient_cards``."""
        card = await self._ready("verstuur", user)
        if not CHECKS["verstuur"](*await post(self.session, self.url, self._click("verstuur", user, card))):
            raise RuntimeError("preparing: verstuur was not delivered")
        self.topped_up += 1


def _data(card: dict[str, Any], verb: str) -> dict[str, Any]:
    data = action_data(card, verb)
    if data is None:
        raise RuntimeError(f"the card has no {verb!r} button: {str(card)[:300]}")
    return data


async def _concurrently(jobs: list[Callable[[], Awaitable[Any]]]) -> None:
    """Run every job, at most ``PREPARE_CONCURRENCY`` at once."""
    limit = asyncio.Semaphore(PREPARE_CONCURRENCY)

    async def one(job: Callable[[], Awaitable[Any]]) -> None:
        async with limit:
            await job()

    await asyncio.gather(*map(one, jobs))


def direct_clicks(service_url: str, verb: str, users: list[Person], per_user: int) -> list[list[dict[str, Any]]]:
    """Clicks on no card in particular, for a server that keeps no cards to click (the floor)."""
    return [[u.click(service_url, verb, {"verb": verb, "n": n}, f"floor-{u.aad}-{n}") for n in range(per_user)]
            for u in users]
