"""Sweep cost on SQLite, in its own process: ``python -m bench.sweep --pending N --db PATH``.

Fills a fresh store with ``N`` pending (delivered, unconfirmed) handoffs, then times in-process
``Terugkoppeling.sweep()`` runs (the service ``bot.bootstrap.build`` wires, as ``python -m bot sweep``
runs it) against a loopback ``FakeConnector``, each at its own fixed moment on a working day in
office hours, each finding its own handoffs due:

* ``warm-up``: 1 handoff due (first-call costs: templates, botbuilder clients), not reported;
* ``10 due`` (``REPEATS`` times): whatever ``N`` is — how the sweep scales with pending count alone;
* ``1% due`` (``REPEATS`` times): ``N // 100`` handoffs due — the target's shape.

The store is sealed as the bot seals it, with ``BOT_DATA_KEY`` from the environment (or a fresh
key). Every due handoff needs exactly one reminder (a proactive post to the connector; each handoff
has a trajectbegeleider of its own, since one recipient's reminders are one message): a sweep
that does anything else fails the run. Prints one JSON object.

The fill: the first handoff goes through ``SqliteStore.add_handoff``; the rest are written in bulk,
one transaction per batch, with the rows ``add_handoff`` writes, built by the store's own helpers
(``envelope``, ``seal_client``, ``_utc``, ``_write``) — private API, used only here, for speed. A
bulk-written handoff is read back through ``get_handoff`` and must equal what was written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import COUNSELLOR_TENANT, DIRECTORY_FILE, ELS_AAD, ELS_TENANT, new_data_key
from bench.connector import BenchConnector
from bot import logs
from bot.adapters.clock import FixedClock
from bot.adapters.crypto import Sealer
from bot.adapters.sealing import envelope, key_ref, seal_client
from bot.adapters.sqlite_store import SqliteStore, _utc
from bot.app.ports import Store
from bot.bootstrap import build, open_store, sealer_of, settle_heap
from bot.config import Settings
from bot.domain.handoff import Handoff, HandoffState
from bot.domain.model import Actor, Address, Delivery, Recipient, new_id
from tests.factories import handoff as handoff_like

BRUSSELS = ZoneInfo("Europe/Brussels")
DAY = datetime(2026, 12, 2, 10, 0, tzinfo=BRUSSELS)  # a Wednesday, no holiday: the first sweep's moment
REPEATS = 3  # each measured sweep, on handoffs of its own; the report gives the median


@dataclass(frozen=True)
class Sweep:
    """One sweep: what it measures, how many handoffs it finds due, when it runs, when they fell due."""

    label: str
    due: int
    at: datetime

    @property
    def due_at(self) -> datetime:
        return self.at - timedelta(minutes=15)


def sweeps(pending: int) -> list[Sweep]:
    """Half an hour apart, all in office hours: a warm-up, then ``REPEATS`` of each measured kind."""
    kinds = [("warm-up", 1)] + [("10 due", 10)] * REPEATS + [("1% due", pending // 100)] * REPEATS
    return [Sweep(label, due, DAY + timedelta(minutes=30 * n)) for n, (label, due) in enumerate(kinds)]


BATCH = 5_000


def template(service_url: str) -> Handoff:
    """A delivered handoff waiting for "Overgezet", sent the Friday before ``DAY``: its first reminder
    (2 working days later) is due at every sweep moment, its second not yet, so each due handoff
    gets exactly one reminder."""
    sent = DAY - timedelta(days=5)
    address = Address(service_url=service_url, conversation_id="a:personal-aad-user-0", tenant_id=COUNSELLOR_TENANT,
                      user_id="29:aad-user-0", bot_id="28:terugkoppeling-bot")
    recipient = Recipient(naam="Els Peeters", email="els.peeters@atlas.example", aad_object_id=ELS_AAD,
                          tenant_id=ELS_TENANT, agentschap="atlas")
    delivery = Delivery(address=Address(service_url=service_url, conversation_id=f"a:1{ELS_AAD}-1",
                                        tenant_id=ELS_TENANT, user_id=ELS_AAD), activity_id="act-1", attempt=1)
    return handoff_like(
        counsellor=Actor(aad_object_id="aad-user-0", tenant_id=COUNSELLOR_TENANT, name="Bemiddelaar 0"),
        counsellor_address=address, recipient=recipient, created_at=sent, sent_at=sent,
        state=HandoffState.DELIVERED, delivery=delivery, attempts=1,
    )


def own_recipient(base: Handoff, n: int) -> dict[str, object]:
    """Each handoff's own trajectbegeleider (in Els's tenant): reminders are one message per
    recipient per sweep (issue 14), so a due handoff is one reminder message, as it was before."""
    assert base.delivery is not None
    aad = f"{ELS_AAD[:-6]}{n:06d}"
    address = base.delivery.address.model_copy(update={"conversation_id": f"a:1{aad}", "user_id": aad})
    return {"recipient": base.recipient.model_copy(update={"aad_object_id": aad}),
            "delivery": base.delivery.model_copy(update={"address": address})}


def plan(pending: int) -> Iterator[datetime]:
    """``due_at`` of each pending handoff: the ones each sweep finds, the rest later this week."""
    planned = sweeps(pending)
    for sweep in planned:
        yield from [sweep.due_at] * sweep.due
    later = planned[-1].at + timedelta(hours=1)
    for n in range(pending - sum(sweep.due for sweep in planned)):
        yield later + timedelta(seconds=(n * 7919) % (5 * 86400))


def rows(handoff: Handoff, sealer: Sealer) -> tuple[tuple[object, ...], tuple[object, ...], tuple[object, ...]]:
    """The rows ``SqliteStore.add_handoff`` writes for ``handoff``: handoffs and sealed in the content
    file, record_keys in the key store (named by ``key_ref``)."""
    sealed = seal_client(sealer, handoff.id, handoff.client)
    assert sealed is not None
    ref = key_ref(sealed)
    return (
        (handoff.id, handoff.reference, handoff.draft_id, handoff.version, handoff.state.value,
         _utc(handoff.due_at), envelope(handoff)),
        (handoff.id, ref, sealed.key_id, sealed.wrapped_key, _utc(datetime.now(ZoneInfo("UTC")))),
        (handoff.id, sealed.ciphertext, ref),
    )


async def fill(store: SqliteStore, sealer: Sealer, base: Handoff, pending: int) -> None:
    first, *rest = [
        # References must be unique: numbered, not random (16.7M random ones collide at 100k).
        base.model_copy(update={"id": new_id(), "draft_id": new_id(), "reference": f"TK-{n:06X}", "due_at": due,
                                "version": 1, **own_recipient(base, n)})
        for n, due in enumerate(plan(pending))
    ]
    await store.add_handoff(first)
    await write_rows(store, sealer, rest)
    if rest:
        sample = rest[len(rest) // 2]
        assert await store.get_handoff(sample.id) == sample, "a bulk-written handoff does not read back as written"


async def write_rows(store: SqliteStore, sealer: Sealer, handoffs: list[Handoff]) -> None:
    """Bulk-write ``handoffs`` as the store would: per batch the keys first (their own file), then
    the content that names them."""
    for start in range(0, len(handoffs), BATCH):
        batch = [rows(h, sealer) for h in handoffs[start:start + BATCH]]
        async with store._turn():
            async with store._transaction(store._keys) as keys:
                await keys.executemany("INSERT INTO record_keys (record_id, key_ref, key_id, wrapped_key, created_at)"
                                       " VALUES (?, ?, ?, ?, ?)", [b[1] for b in batch])
            async with store._transaction(store._db) as db:
                await db.executemany("INSERT INTO handoffs (id, reference, draft_id, version, state, due_at, doc)"
                                     " VALUES (?, ?, ?, ?, ?, ?, ?)", [b[0] for b in batch])
                await db.executemany("INSERT INTO sealed (record_id, ciphertext, key_ref) VALUES (?, ?, ?)",
                                     [b[2] for b in batch])


async def fill_through_the_store(store: Store, base: Handoff, pending: int) -> None:
    """Azure Table Storage has no bulk path worth the name: ``add_handoff``, 32 at a time."""
    handoffs = [base.model_copy(update={"id": new_id(), "draft_id": new_id(), "reference": f"TK-{n:06X}",
                                        "due_at": due, **own_recipient(base, n)})
                for n, due in enumerate(plan(pending))]
    for start in range(0, len(handoffs), 32):
        await asyncio.gather(*(store.add_handoff(h) for h in handoffs[start:start + 32]))


async def run(pending: int, db: Path, azurite: str | None = None) -> dict[str, object]:
    async with BenchConnector() as connector:
        where = ({"BOT_STORE": "azure-tables", "BOT_STORE_CONNECTION_STRING": azurite,
                  "BOT_STORE_TABLE": f"bench{pending}x{os.getpid()}"} if azurite else {"BOT_STORE": f"sqlite:///{db}"})
        settings = Settings(_env_file=None, **where,
                            BOT_DATA_KEY=os.environ.get("BOT_DATA_KEY") or new_data_key(),
                            BOT_TEAMS_SERVICE_URL=connector.url, BOT_DIRECTORY_FILE=str(DIRECTORY_FILE),
                            BOT_SWEEP_INTERVAL_SECONDS=0,
                            # every handoff is in one tenant: at Teams' 50/s a 1k-due sweep would measure
                            # the rate limit (bench.ratelimit and tests/e2e/test_sweep_rate_limits.py do)
                            BOT_TEAMS_TENANT_RATE=1_000_000)
        began = time.perf_counter()
        sealer = await sealer_of(settings)  # as the bot seals
        store = await open_store(settings, sealer)
        if isinstance(store, SqliteStore):
            await fill(store, sealer, template(connector.url), pending)
        else:
            await fill_through_the_store(store, template(connector.url), pending)
        await store.close()
        fill_s = time.perf_counter() - began

        clock = FixedClock(DAY)
        runtime = await build(settings, clock=clock)
        settle_heap()  # as ``python -m bot sweep`` does once built
        measured = []
        try:
            for sweep in sweeps(pending):
                clock.set(sweep.at)
                posts = connector.posts
                began, cpu = time.perf_counter(), time.process_time()
                done = await runtime.service.sweep()
                seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
                if done.get("remind", 0) != sweep.due or connector.posts - posts != sweep.due:
                    raise RuntimeError(f"{sweep.label}: expected {sweep.due} reminders, the sweep did {dict(done)}")
                measured.append({"label": sweep.label, "due": sweep.due, "seconds": seconds, "cpu_seconds": cpu})
        finally:
            await runtime.close()
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    return {"pending": pending, "store": "azure-tables" if azurite else "sqlite", "fill_seconds": fill_s,
            "db_mb": size / 2**20, "sweeps": measured}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep")
    parser.add_argument("--pending", type=int, required=True)
    parser.add_argument("--db", type=Path, required=True, help="a new SQLite file (kept for the memory figure)")
    parser.add_argument("--azurite", help="an Azurite connection string: sweep on Azure Table Storage instead")
    args = parser.parse_args()
    if args.pending < 1_000:
        parser.error("--pending must be at least 1000")
    logs.setup(os.environ.get("BOT_LOG_LEVEL", "INFO"))  # as ``python -m bot sweep`` does
    print(json.dumps(asyncio.run(run(args.pending, args.db, args.azurite))), file=sys.stdout, flush=True)


if __name__ == "__main__":
    main()
