"""The scale-out store: Azure Table Storage (or Cosmos DB's Table API), for several replicas.

Key design — one table, ONE partition, so that every write that must be atomic is one
entity-group transaction (Table Storage transactions never span partitions):

==========================  ===========================================================
row key                     holds
==========================  ===========================================================
``d|<draft id>``            a draft: envelope (JSON), version, sealed client data
``x|<expires>|<draft id>``  expiry index: ``expired_drafts`` is one range query
``h|<handoff id>``          a handoff: envelope, version, sealed client data
``u|<due>|<handoff id>``    due index: ``due_handoffs`` is one range query
``r|<reference>``           uniqueness of the reference
``p|<draft id>``            one handoff per draft, and ``handoff_for_draft``
``s|<fingerprint>``         when a client was last sent (keyed hash only)
``a|<seq, 12 digits>``      audit events in order; ``a|head`` holds the last number and link
``n|<notification id>``     a DPO notification of an incident (art. 9): envelope, version
``v|<due>|<notification>``  due index of notifications
``c|incidents``             the audit seq up to which incidents have notifications
``f|<sent>|<fingerprint>``  time index of fingerprints: the retention sweep is one range query
``c|audit-checkpoint``      where the audit chain resumes once its oldest events are pruned
``w|<recipient>|<sent>|<id>``  pending index (issue 14, ``openstaand``): a trajectbegeleider's waiting cards
``k|<owner>|<newest>|<id>``  the counsellor's overview: their handoffs newest first (issue 14)
==========================  ===========================================================

The records' sealed client data is split in two: the ciphertext stays on the record
(``Ciphertext``, with ``KeyRef`` naming its key), the wrapped key lives in a second table, the key
table (``BOT_KEY_STORE``, default ``<table>keys``): partition = the record id, row key = ``KeyRef``.

Backups: the content table may be copied (AzCopy, Data Factory, an export); the key table never
is. A copy of the content taken before a purge then opens with nothing the bot holds after it.
No transaction spans two tables, so the key table is written in operations of its own, in the
order that leaves no content without its key and no key of purged content for long:

- a new seal: the key first, then the record's transaction (which names it by ``KeyRef``); when
  that transaction loses a race (``Conflict``: nothing was written) the new key is deleted again;
- after the record's transaction: its superseded keys, or all of them once its content is gone
  (the purge), are deleted.

Deleting the key *before* a purge's transaction would look safer but is not: that transaction is
conditional, and when it loses a race the record lives on (another writer changed it) with its
key gone. A crash between two steps, or a key deletion that fails, leaves a key no record names:
an orphan, which opens nothing live and which ``sweep_keys`` deletes once older than
``KEY_GRACE`` (at every ``open``, and whenever the sweep asks). Records written before the key
table (the wrapped key on the record) are read as they are, and moved by ``open``.

Times in row keys are UTC, fixed width, so they sort as time. A state change is one transaction:
the record (conditioned on the ETag it was read with), its index entries, the audit events it
implies with the chain's head (conditioned on the head's ETag), the fingerprint and the removal
of the draft a handoff came from. Of two replicas writing the same version, one wins and the
other gets ``Conflict`` (optimistic concurrency); when only the audit head moved (another
record's change appended first), the write is simply redone on the new head. Table Storage has
no secondary index; keeping the index entries beside their records is what makes due work a
range query and not a scan. A partition serves about 2,000 operations a second, far above this
bot's load (hundreds of handoffs a day).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from bot.adapters.crypto import Sealed, Sealer
from bot.adapters.sealing import envelope, key_ref, restore, seal_client
from bot.app.ports import Conflict, Events, Store, StoreUnavailable, Unreadable, UnreadableRecord
from bot.domain.audit import GENESIS, Checkpoint, link
from bot.domain.handoff import Draft, FingerprintMark, Handoff
from bot.domain.model import AuditEvent, ClientData, Notification

PARTITION = "tk"
DRAFT = HANDOFF = SENT = AUDIT = PARTITION  # one partition: see the module docstring
HEAD = "a|head"
MAX_OPERATIONS = 100  # in one entity-group transaction
Record = TypeVar("Record", Draft, Handoff)
T = TypeVar("T")
# A key no record names is deleted once older than this (a write between its key and its record
# takes seconds at most, with the client's retries).
KEY_GRACE = timedelta(minutes=10)
NEWEST = 10**17 - 1  # the overview's row keys count down from here, so a range query reads newest first
log = logging.getLogger(__name__)
Entity = Any  # a TableEntity: a dict with the ETag in ``.metadata``
Operation = tuple[Any, ...]
# Client options: fail fast enough for a Teams invoke (about 15 s), retry what is worth it.
CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2, "retry_backoff_factor": 0.2, "connection_timeout": 3, "read_timeout": 8,
}


def key_time(moment: datetime) -> str:
    """A UTC instant as a fixed-width string that sorts as time."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _sealed_properties(sealed: Sealed | None) -> Entity:
    """What the record keeps of its sealed data: the ciphertext and which key opens it, not the key."""
    if sealed is None:
        return {}
    return {"KeyId": sealed.key_id, "KeyRef": key_ref(sealed), "Ciphertext": sealed.ciphertext}


def _key_entity(record_id: str, sealed: Sealed) -> Entity:
    return {"PartitionKey": record_id, "RowKey": key_ref(sealed), "KeyId": sealed.key_id,
            "WrappedKey": sealed.wrapped_key}


def _sealed_of(entity: Entity) -> Sealed | None:
    """The record's sealed data, its key joined in by ``_with_key`` (or, before the key table, on it)."""
    if "Ciphertext" not in entity:
        return None
    return Sealed(entity["KeyId"], bytes(entity["WrappedKey"]), bytes(entity["Ciphertext"]))


def _etag(entity: Entity | None) -> str | None:
    return entity.metadata["etag"] if entity is not None else None


def _conditional(entity: Entity) -> dict[str, Any]:
    return {"etag": entity.metadata["etag"], "match_condition": MatchConditions.IfNotModified}


def _replacing(current: Entity, entity: Entity, index: str) -> list[Operation]:
    """Replace ``current`` by ``entity`` only if unchanged since it was read, and move the record's
    index entry (its row key is in property ``index``; empty = none) in the same transaction."""
    operations: list[Operation] = [("update", entity, {"mode": UpdateMode.REPLACE, **_conditional(current)})]
    old, new, partition = current[index], entity[index], entity["PartitionKey"]
    if old != new:
        if old:
            operations.append(("delete", {"PartitionKey": partition, "RowKey": old}))
        if new:
            operations.append(("create", {"PartitionKey": partition, "RowKey": new, "Id": entity["RowKey"][2:]}))
    return operations


def _moving_entry(current: Entity, entity: Entity, index: str) -> list[Operation]:
    """Move a record's second index entry (property ``index``, absent on older rows = none) in the
    same transaction as the record (issue 14: the pending index)."""
    old, new, partition = current.get(index, ""), entity.get(index, ""), entity["PartitionKey"]
    if old == new:
        return []
    operations: list[Operation] = []
    if old:
        operations.append(("delete", {"PartitionKey": partition, "RowKey": old}))
    if new:
        operations.append(("create", {"PartitionKey": partition, "RowKey": new, "Id": entity["RowKey"][2:]}))
    return operations


class TableStore(Store):
    """A ``Store`` on one Azure table; safe for any number of replicas."""

    def __init__(self, table: TableClient, keys: TableClient, sealer: Sealer, closing: Any = None) -> None:
        self._table = table
        self._keys = keys  # the key table (module docstring)
        self._sealer = sealer
        self._closing = closing  # e.g. the credential, which holds its own HTTP session
        # Batched sweep writes (issue 16): handoff id → (Version, ETag, Due) as last read by
        # ``due_handoffs`` or written by ``save_handoffs``, so a batch needs no read before it.
        self._seen: dict[str, tuple[int, str, str]] = {}

    @classmethod
    async def open(cls, table: TableClient, sealer: Sealer, *, keys: TableClient, closing: Any = None) -> TableStore:
        async with _unavailable_on_errors():
            for client in (table, keys):
                try:
                    await client.create_table()
                except ResourceExistsError:
                    pass
        store = cls(table, keys, sealer, closing)
        await store._index_fingerprints()
        await store._move_keys()
        await store._index_owners()
        await store.sweep_keys()
        return store

    async def close(self) -> None:
        await self._table.close()
        await self._keys.close()
        if self._closing is not None:
            await self._closing.close()

    # -- the key table --------------------------------------------------------------------------

    async def _with_key(self, entity: Entity) -> Entity:
        """The record with its key joined in (``WrappedKey``; ``None`` when the key table has none).
        A record re-sealed by another writer between the two reads is read once more."""
        for attempt in range(2):
            if "Ciphertext" not in entity or "WrappedKey" in entity:
                return entity
            async with _unavailable_on_errors():
                try:
                    key = await self._keys.get_entity(entity["RowKey"][2:], entity["KeyRef"])
                    entity["WrappedKey"] = bytes(key["WrappedKey"])
                    return entity
                except ResourceNotFoundError:
                    pass
            again = await self._get(entity["PartitionKey"], entity["RowKey"], sealed=False) if attempt == 0 else None
            if again is None or again.get("KeyRef") == entity.get("KeyRef"):
                break
            entity = again
        entity["WrappedKey"] = None  # content whose key is gone (a restored copy, say): unreadable
        return entity

    async def _reseal(self, record_id: str, current: Entity, client: ClientData | None) -> tuple[Sealed | None, bool]:
        """The sealed data a save writes, and whether it is ``current``'s, kept as it is: a save whose
        client data did not change (a state, a reminder) under the current master key writes no key.
        (The save's transaction is conditioned on ``current``'s ETag.)"""
        if client is not None and "KeyRef" in current and "WrappedKey" not in current \
                and current.get("KeyId") == self._sealer.key_id:
            with contextlib.suppress(Exception):  # no key, a damaged one: simply sealed anew
                async with _unavailable_on_errors():
                    key = await self._keys.get_entity(record_id, current["KeyRef"])
                stored = Sealed(current["KeyId"], bytes(key["WrappedKey"]), bytes(current["Ciphertext"]))
                if self._sealer.open(record_id, stored) == client.model_dump_json().encode():
                    return stored, True
        return seal_client(self._sealer, record_id, client), False

    async def _put_key(self, record_id: str, sealed: Sealed) -> None:
        async with _unavailable_on_errors():
            await self._keys.upsert_entity(_key_entity(record_id, sealed), mode=UpdateMode.REPLACE)

    async def _forget_keys(self, record_id: str, *, keep: str | None = None, only: str | None = None) -> None:
        """Delete keys of ``record_id`` (all, all but ``keep``, or ``only`` that one), after the write
        that no longer needs them. A failure here is not the caller's: its write has landed; the key
        is an orphan that ``sweep_keys`` deletes later."""
        try:
            async with _unavailable_on_errors():
                if only is not None:
                    await self._keys.delete_entity(record_id, only)
                    return
                pages = self._keys.query_entities("PartitionKey eq @pk", parameters={"pk": record_id},
                                                  select=["PartitionKey", "RowKey"])
                async for key in pages:
                    if key["RowKey"] != keep:
                        await self._keys.delete_entity(record_id, key["RowKey"])
        except (StoreUnavailable, HttpResponseError) as error:
            log.warning("a key left for the key sweep", extra={"record": record_id, "error": type(error).__name__})

    async def _sealed_write(self, record_id: str, sealed: Sealed | None, write: Callable[[], Awaitable[T]], *,
                            new: bool = False, purged: Sequence[str] = ()) -> T:
        """``write`` (the record's transaction) with the key table kept in step: ``sealed``'s key
        before it, the keys it superseded (and all keys of the ``purged`` records) after it."""
        if sealed is not None:
            await self._put_key(record_id, sealed)
        try:
            result = await write()
        except Conflict:  # nothing was written: the new key opens nothing
            if sealed is not None:
                await self._forget_keys(record_id, only=key_ref(sealed))
            raise
        if sealed is not None and not new:
            await self._forget_keys(record_id, keep=key_ref(sealed))
        for other in purged:
            await self._forget_keys(other)
        return result

    async def sweep_keys(self, now: datetime | None = None) -> int:
        """Delete the keys no record names (a crash between two steps, a failed deletion) once older
        than ``KEY_GRACE``; how many."""
        cutoff = (now or datetime.now(UTC)) - KEY_GRACE
        named: set[tuple[str, str]] = set()
        async with _unavailable_on_errors():
            keys = [key async for key in self._keys.list_entities(select=["PartitionKey", "RowKey", "Timestamp"])]
            for prefix in ("d|", "h|"):
                pages = self._table.query_entities(
                    "PartitionKey eq @pk and RowKey ge @low and RowKey le @high", select=["RowKey", "KeyRef"],
                    parameters={"pk": PARTITION, "low": prefix, "high": f"{prefix}~"},
                )
                named.update({(e["RowKey"][2:], e["KeyRef"]) async for e in pages if e.get("KeyRef")})
            orphans = [key for key in keys if (key["PartitionKey"], key["RowKey"]) not in named
                       and (key.metadata.get("timestamp") or cutoff) < cutoff]  # (none: kept, as if new)
            for key in orphans:
                await self._keys.delete_entity(key["PartitionKey"], key["RowKey"])
        if orphans:
            log.warning("orphan keys deleted", extra={"count": len(orphans)})
        return len(orphans)

    async def _move_keys(self) -> None:
        """Records written before the key table hold their wrapped key: move it there (key first,
        then the record, conditioned on what was read; a record changed meanwhile waits for the next
        ``open``, and is read as it is until then)."""
        for prefix in ("d|", "h|"):
            for entity in await self._range(PARTITION, prefix, f"{prefix}~", sealed=False):
                if entity.get("WrappedKey") is None or "Ciphertext" not in entity:
                    continue
                sealed = Sealed(entity["KeyId"], bytes(entity["WrappedKey"]), bytes(entity["Ciphertext"]))
                await self._put_key(entity["RowKey"][2:], sealed)
                moved = {k: v for k, v in entity.items() if k != "WrappedKey"} | {"KeyRef": key_ref(sealed)}
                try:
                    await self._submit([("update", moved, {"mode": UpdateMode.REPLACE, **_conditional(entity)})])
                except Conflict:
                    continue

    # -- primitives -----------------------------------------------------------------------------

    async def _get(self, partition: str, row: str, *, sealed: bool = True) -> Entity | None:
        """One entity; a record with its key joined in, unless ``sealed`` is False."""
        async with _unavailable_on_errors():
            try:
                entity = await self._table.get_entity(partition, row)
            except ResourceNotFoundError:
                return None
        return await self._with_key(entity) if sealed else entity

    async def _transact(self, operations: Sequence[Operation], events: Events = ()) -> list[Any]:
        """All or nothing, with ``events`` chained onto the audit trail in the same transaction; a
        lost race (409 exists, 412 changed, 404 gone) is a ``Conflict``, unless it was only the
        audit head that moved meanwhile: then the same write is redone on the new head."""
        head = await self._get(AUDIT, HEAD) if events else None
        while True:
            try:
                return await self._submit([*operations, *self._audit_operations(head, events)])
            except Conflict:
                if not events:
                    raise
                latest = await self._get(AUDIT, HEAD)
                if _etag(latest) == _etag(head):
                    raise  # the head was as read: the record itself changed
                head = latest

    async def _submit(self, operations: list[Operation]) -> list[Any]:
        async with _unavailable_on_errors():
            try:
                return list(await self._table.submit_transaction(operations))
            except TableTransactionError as error:
                if error.status_code in (404, 409, 412):
                    raise Conflict(str(error.status_code)) from None
                raise

    def _audit_operations(self, head: Entity | None, events: Events) -> list[Operation]:
        """Create one entity per event, numbered and linked on from ``head``, and move the head."""
        if not events:
            return []
        seq, mac = (int(head["Seq"]), head["Mac"]) if head else (0, GENESIS)
        operations: list[Operation] = []
        for event in events:
            seq += 1
            mac = link(self._sealer.audit_key, mac, event, seq)
            operations.append(("create", {
                "PartitionKey": AUDIT, "RowKey": f"a|{seq:012d}", "At": event.at.astimezone(UTC).isoformat(),
                "Event": event.event.value, "Subject": event.subject, "Actor": event.actor,
                "Agency": event.agency.value if event.agency else "", "Reason": event.reason or "", "Mac": mac,
            }))
        counter = {"PartitionKey": AUDIT, "RowKey": HEAD, "Seq": seq, "Mac": mac}
        if head is None:
            operations.append(("create", counter))
        else:
            operations.append(("update", counter, {"mode": UpdateMode.REPLACE, **_conditional(head)}))
        return operations

    async def _range(self, partition: str, low: str, high: str, limit: int | None = None, *,
                     sealed: bool = True) -> list[Entity]:
        """Entities with ``low <= RowKey <= high``, in row-key order (at most ``limit``); records
        with their keys joined in, unless ``sealed`` is False."""
        query = "PartitionKey eq @pk and RowKey ge @low and RowKey le @high"
        found: list[Entity] = []
        async with _unavailable_on_errors():
            pages = self._table.query_entities(
                query, parameters={"pk": partition, "low": low, "high": high}, results_per_page=limit or 1000
            )
            async for entity in pages:
                found.append(entity)
                if limit is not None and len(found) >= limit:
                    break
        return [await self._with_key(entity) for entity in found] if sealed else found

    # -- drafts ---------------------------------------------------------------------------------

    @staticmethod
    def _expiry_key(draft: Draft) -> str:
        return f"x|{key_time(draft.expires_at)}|{draft.id}"

    def _draft_entity(self, draft: Draft, sealed: Sealed | None) -> Entity:
        return {
            "PartitionKey": DRAFT, "RowKey": f"d|{draft.id}", "Doc": envelope(draft), "Version": draft.version,
            "Expiry": self._expiry_key(draft), "Owner": f"o|{draft.owner}", **_sealed_properties(sealed),
        }

    async def add_draft(self, draft: Draft, events: Events = ()) -> Draft:
        draft = draft.model_copy(update={"version": 1})
        sealed = seal_client(self._sealer, draft.id, draft.client)
        index = {"PartitionKey": DRAFT, "RowKey": self._expiry_key(draft), "Id": draft.id}
        owner = {"PartitionKey": DRAFT, "RowKey": f"o|{draft.owner}", "Id": draft.id}  # one per counsellor
        operations = [("create", self._draft_entity(draft, sealed)), ("create", index), ("create", owner)]
        await self._sealed_write(draft.id, sealed, lambda: self._transact(operations, events), new=True)
        return draft

    async def get_draft(self, draft_id: str) -> Draft | None:
        entity = await self._get(DRAFT, f"d|{draft_id}")
        return self._restore(Draft, entity) if entity else None

    def _restore(self, model: type[Record], entity: Entity) -> Record:
        if "Ciphertext" in entity and entity.get("WrappedKey") is None:  # its key is gone
            raise Unreadable(str(entity.get("RowKey", "?"))[2:], "KeyMissing")
        try:  # (the entity comes from ``_get``/``_range``, its key joined in)
            return restore(model, self._sealer, entity["Doc"], _sealed_of(entity))
        except Exception as error:  # noqa: BLE001 - a wrong key, a damaged entity: content-free either way
            raise Unreadable(str(entity.get("RowKey", "?"))[2:], type(error).__name__) from None

    def _handoff_or_unreadable(self, entity: Entity) -> Handoff | UnreadableRecord:
        """Each record on its own: one that cannot be opened never hides the others."""
        try:
            return self._restore(Handoff, entity)
        except Unreadable as error:
            return UnreadableRecord(error.record_id, error.why)

    async def save_draft(self, draft: Draft, events: Events = ()) -> Draft:
        current = await self._get(DRAFT, f"d|{draft.id}", sealed=False)
        if current is None or current["Version"] != draft.version:
            raise Conflict(draft.id)
        saved = draft.model_copy(update={"version": draft.version + 1})
        sealed, kept = await self._reseal(draft.id, current, saved.client)
        operations = _replacing(current, self._draft_entity(saved, sealed), "Expiry")
        await self._sealed_write(draft.id, None if kept else sealed, lambda: self._transact(operations, events),
                                 purged=[draft.id] if sealed is None and "Ciphertext" in current else [])
        return saved

    @staticmethod
    def _deleting(current: Entity, entries: Callable[[Entity], list[str]]) -> list[Operation]:
        """Delete a record, if unchanged since read, and its index entries (empty ones skipped)."""
        partition = current["PartitionKey"]
        return [("delete", current, _conditional(current))] + [
            ("delete", {"PartitionKey": partition, "RowKey": entry}) for entry in entries(current) if entry
        ]

    async def _delete(self, partition: str, row: str, entries: Callable[[Entity], list[str]], events: Events) -> bool:
        """Delete a record and its index entries in one transaction, with ``events``; ``True`` if
        this call deleted it."""
        while True:
            current = await self._get(partition, row, sealed=False)
            if current is None:
                return False
            try:
                await self._transact(self._deleting(current, entries), events)
            except Conflict:
                continue  # changed (or deleted) meanwhile: look again
            await self._forget_keys(row[2:])  # the content is gone: its keys go after it
            return True

    @staticmethod
    def _draft_entries(draft: Entity) -> list[str]:
        return [draft["Expiry"], draft.get("Owner", "")]

    async def delete_draft(self, draft_id: str, events: Events = ()) -> bool:
        return await self._delete(DRAFT, f"d|{draft_id}", self._draft_entries, events)

    async def draft_of(self, owner: str) -> str | None:
        pointer = await self._get(DRAFT, f"o|{owner}")
        return str(pointer["Id"]) if pointer else None

    async def expired_drafts(self, now: datetime, limit: int) -> list[str]:
        entities = await self._range(DRAFT, "x|", f"x|{key_time(now)}|~", limit)
        return [entity["Id"] for entity in entities]

    # -- handoffs -------------------------------------------------------------------------------

    @staticmethod
    def _due_key(handoff: Handoff) -> str:
        return f"u|{key_time(handoff.due_at)}|{handoff.id}" if handoff.due_at else ""

    def _handoff_entity(self, handoff: Handoff, sealed: Sealed | None) -> Entity:
        return {
            "PartitionKey": HANDOFF, "RowKey": f"h|{handoff.id}", "Doc": envelope(handoff),
            "Version": handoff.version, "Due": self._due_key(handoff), "Reference": handoff.reference,
            "DraftId": handoff.draft_id, "Pending": self._pending_key(handoff), "Owner": self._owner_key(handoff),
            **_sealed_properties(sealed),
        }

    # -- the counsellor's overview (issue 14): ``k|<owner>|<newest first>|<id>``, created and deleted
    # in the record's own transaction (owner and creation time never change, so saves leave it be).

    @staticmethod
    def _owner_key(handoff: Handoff) -> str:
        micros = int(handoff.created_at.astimezone(UTC).timestamp() * 1_000_000)
        return f"k|{handoff.owner}|{NEWEST - micros:017d}|{handoff.id}"

    async def counsellor_handoffs(self, owner: str, limit: int, offset: int = 0) -> list[Handoff | UnreadableRecord]:
        found: list[Handoff | UnreadableRecord] = []
        pointers = await self._range(HANDOFF, f"k|{owner}|", f"k|{owner}|~", offset + limit, sealed=False)
        for pointer in pointers[offset:]:
            entity = await self._get(HANDOFF, f"h|{pointer['Id']}")
            if entity is not None:  # (forgotten meanwhile: skipped)
                found.append(self._handoff_or_unreadable(entity))
        return found

    async def _index_owners(self) -> None:
        """Handoffs written before the overview existed get their ``k|`` entry (and ``Owner``), each
        in one transaction conditioned on what was read; one changed meanwhile waits for the next ``open``."""
        for entity in await self._range(HANDOFF, "h|", "h|~", sealed=False):
            if entity.get("Owner"):
                continue
            try:
                handoff = Handoff.model_validate_json(entity["Doc"])
            except ValueError:
                continue  # unreadable: reported where it is read
            key = self._owner_key(handoff)
            updated = {**entity, "Owner": key}
            with contextlib.suppress(Conflict):
                await self._submit([("update", updated, {"mode": UpdateMode.REPLACE, **_conditional(entity)}),
                                    ("create", {"PartitionKey": HANDOFF, "RowKey": key, "Id": handoff.id})])

    async def add_handoff(self, handoff: Handoff, events: Events = ()) -> Handoff:
        handoff = handoff.model_copy(update={"version": 1})
        sealed = seal_client(self._sealer, handoff.id, handoff.client)
        entity = self._handoff_entity(handoff, sealed)
        operations: list[Operation] = [
            ("create", entity),
            ("create", {"PartitionKey": HANDOFF, "RowKey": f"r|{handoff.reference}", "Id": handoff.id}),
            ("create", {"PartitionKey": HANDOFF, "RowKey": f"p|{handoff.draft_id}", "Id": handoff.id}),
            ("create", {"PartitionKey": HANDOFF, "RowKey": entity["Owner"], "Id": handoff.id}),
        ]
        if entity["Due"]:
            operations.append(("create", {"PartitionKey": HANDOFF, "RowKey": entity["Due"], "Id": handoff.id}))
        if entity["Pending"]:
            operations.append(("create", {"PartitionKey": HANDOFF, "RowKey": entity["Pending"], "Id": handoff.id}))
        await self._sealed_write(handoff.id, sealed, lambda: self._transact(operations, events), new=True)
        return handoff

    async def get_handoff(self, handoff_id: str) -> Handoff | None:
        entity = await self._get(HANDOFF, f"h|{handoff_id}")
        return self._restore(Handoff, entity) if entity else None

    async def handoff_for_draft(self, draft_id: str) -> Handoff | None:
        pointer = await self._get(HANDOFF, f"p|{draft_id}")
        return await self.get_handoff(pointer["Id"]) if pointer else None

    async def handoff_by_reference(self, reference: str) -> Handoff | None:
        pointer = await self._get(HANDOFF, f"r|{reference}", sealed=False)
        return await self.get_handoff(pointer["Id"]) if pointer else None

    async def save_handoff(
        self, handoff: Handoff, events: Events = (), *, mark_sent: FingerprintMark | None = None,
        drop_draft: str | None = None,
    ) -> Handoff:
        current = await self._get(HANDOFF, f"h|{handoff.id}", sealed=False)
        if current is None or current["Version"] != handoff.version:
            raise Conflict(handoff.reference)
        saved = handoff.model_copy(update={"version": handoff.version + 1})
        sealed, kept = await self._reseal(handoff.id, current, saved.client)
        entity = self._handoff_entity(saved, sealed)
        operations = _replacing(current, entity, "Due") + _moving_entry(current, entity, "Pending")
        purged = [handoff.id] if sealed is None and "Ciphertext" in current else []
        if mark_sent is not None:
            operations += self._sent_operations(mark_sent.fingerprint, mark_sent.at)
        if drop_draft is not None and (draft := await self._get(DRAFT, f"d|{drop_draft}", sealed=False)) is not None:
            operations += self._deleting(draft, self._draft_entries)
            purged.append(drop_draft)
        await self._sealed_write(handoff.id, None if kept else sealed, lambda: self._transact(operations, events),
                                 purged=purged)
        return saved

    async def delete_handoff(self, handoff_id: str, events: Events = ()) -> None:
        await self._delete(HANDOFF, f"h|{handoff_id}",
                           lambda h: [f"r|{h['Reference']}", f"p|{h['DraftId']}", h["Due"], h.get("Pending", ""),
                                      h.get("Owner", "")],
                           events)

    async def due_handoffs(self, now: datetime, limit: int) -> list[Handoff | UnreadableRecord]:
        due: list[Handoff | UnreadableRecord] = []
        for pointer in await self._range(HANDOFF, "u|", f"u|{key_time(now)}|~", limit, sealed=False):
            entity = await self._get(HANDOFF, f"h|{pointer['Id']}")
            if entity is None or entity["Due"] != pointer["RowKey"]:
                continue  # (an entry whose record moved on meanwhile is skipped)
            self._remember(entity)
            due.append(self._handoff_or_unreadable(entity))
        return due

    # -- batched sweep writes (issue 16) ---------------------------------------------------------

    def _remember(self, entity: Entity) -> None:
        if len(self._seen) > 20_000:
            self._seen.clear()
        self._seen[entity["RowKey"][2:]] = (int(entity["Version"]), entity.metadata["etag"], entity["Due"])

    async def save_handoffs(self, changes: Sequence[tuple[Handoff, Events]]) -> list[Handoff | None]:
        """Entity-group transactions of as many records as fit (100 operations): each record merged
        (its envelope, version and due entry; the sealed data untouched) on the ETag it was read
        with, its due entry moved, its events chained. A transaction that loses a race on one of
        its records is redone record by record (``save_handoff``), so only that one is refused."""
        saved: list[Handoff | None] = [None] * len(changes)
        chunk: list[int] = []
        operations: list[Operation] = []
        events: list[AuditEvent] = []

        async def submit() -> None:
            if not chunk:
                return
            try:
                results = await self._transact(operations, events)
            except Conflict:
                for n in chunk:  # one by one: the loser is refused, the others written
                    handoff, its_events = changes[n]
                    try:
                        saved[n] = await self.save_handoff(handoff, its_events)
                    except Conflict:
                        saved[n] = None
            else:
                for n, position in zip(chunk, updates, strict=True):
                    written = saved[n]
                    assert written is not None
                    etag = (results[position] or {}).get("etag") if position < len(results) else None
                    if etag:
                        self._seen[written.id] = (written.version, etag, self._due_key(written))
                    else:
                        self._seen.pop(written.id, None)
            chunk.clear()
            operations.clear()
            events.clear()
            updates.clear()

        updates: list[int] = []  # where each record's update is among ``operations``
        for n, (handoff, its_events) in enumerate(changes):
            seen = self._seen.get(handoff.id)
            if seen is None or seen[0] != handoff.version:
                current = await self._get(HANDOFF, f"h|{handoff.id}", sealed=False)
                if current is None or current["Version"] != handoff.version:
                    continue
                self._remember(current)
                seen = self._seen[handoff.id]
            written = handoff.model_copy(update={"version": handoff.version + 1})
            record = {"PartitionKey": HANDOFF, "RowKey": f"h|{handoff.id}", "Doc": envelope(written),
                      "Version": written.version, "Due": self._due_key(written)}
            mine: list[Operation] = [("update", record, {"mode": UpdateMode.MERGE, "etag": seen[1],
                                                         "match_condition": MatchConditions.IfNotModified})]
            old, new = seen[2], self._due_key(written)
            if old != new:
                if old:
                    mine.append(("delete", {"PartitionKey": HANDOFF, "RowKey": old}))
                if new:
                    mine.append(("create", {"PartitionKey": HANDOFF, "RowKey": new, "Id": handoff.id}))
            if len(operations) + len(mine) + len(events) + len(its_events) + 1 > MAX_OPERATIONS:
                await submit()
            updates.append(len(operations))
            operations.extend(mine)
            events.extend(its_events)
            chunk.append(n)
            saved[n] = written
        await submit()
        return saved

    async def count_open(self) -> int:
        # A scan of the handoff rows: only asked for when telemetry is on, once per sweep.
        return sum(json.loads(e["Doc"])["state"] in ("delivering", "delivered")
                   for e in await self._range(HANDOFF, "h|", "h|~"))

    async def open_handoffs(self, limit: int) -> list[Handoff | UnreadableRecord]:
        # A scan of the handoff rows: only run once the protocol (or an agency's part) has ended.
        found: list[Handoff | UnreadableRecord] = []
        for entity in await self._range(HANDOFF, "h|", "h|~"):
            if json.loads(entity["Doc"])["state"] not in ("delivering", "delivered"):
                continue
            found.append(self._handoff_or_unreadable(entity))
            if len(found) >= limit:
                break
        return found

    # -- the trajectbegeleider's side (issue 14: openstaand) ----------------------------------------

    @staticmethod
    def _pending_key(handoff: Handoff) -> str:
        key = handoff.pending_key
        return f"w|{key}|{key_time(handoff.sent_at or handoff.created_at)}|{handoff.id}" if key else ""

    async def pending_for(self, recipient: str, offset: int, limit: int) -> list[Handoff | UnreadableRecord]:
        found: list[Handoff | UnreadableRecord] = []
        pointers = await self._range(HANDOFF, f"w|{recipient}|", f"w|{recipient}|~", offset + limit, sealed=False)
        for pointer in pointers[offset:]:
            entity = await self._get(HANDOFF, f"h|{pointer['Id']}")
            if entity is None or entity.get("Pending") != pointer["RowKey"]:
                continue  # (an entry whose record moved on meanwhile is skipped)
            found.append(self._handoff_or_unreadable(entity))
        return found

    async def next_due(self) -> datetime | None:
        firsts = [await self._range(HANDOFF, "u|", "u|~", 1, sealed=False),
                  await self._range(DRAFT, "x|", "x|~", 1, sealed=False)]
        moments = [datetime.strptime(f[0]["RowKey"].split("|")[1], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
                   for f in firsts if f]
        return min(moments, default=None)

    # -- sent clients and audit -----------------------------------------------------------------

    async def last_sent(self, fingerprint: str) -> datetime | None:
        entity = await self._get(SENT, f"s|{fingerprint}")
        return datetime.fromisoformat(entity["At"]) if entity else None

    @staticmethod
    def _sent_entity(fingerprint: str, at: datetime) -> Entity:
        return {"PartitionKey": SENT, "RowKey": f"s|{fingerprint}", "At": at.astimezone(UTC).isoformat()}

    async def mark_sent(self, fingerprint: str, at: datetime) -> None:
        await self._submit(self._sent_operations(fingerprint, at))

    async def append_audit(self, *events: AuditEvent) -> None:
        """Numbered by an optimistic counter in the same partition, so the order is total."""
        await self._transact([], events)

    async def audit_events(self, since: datetime | None = None, until: datetime | None = None) -> list[AuditEvent]:
        events = []
        checkpoint = await self.audit_checkpoint()  # events it covers may outlive it briefly (``prune_audit``)
        first = f"a|{checkpoint.seq + 1:012d}" if checkpoint else "a|0"
        for entity in await self._range(AUDIT, first, "a|9", sealed=False):
            at = datetime.fromisoformat(entity["At"])
            if (since and at < since) or (until and at >= until):
                continue
            events.append(AuditEvent(
                seq=int(entity["RowKey"][2:]), at=at, event=entity["Event"], subject=entity["Subject"],
                actor=entity["Actor"], agency=entity["Agency"] or None, reason=entity["Reason"] or None,
                mac=entity.get("Mac"),
            ))
        return events

    async def audit_head(self) -> int:
        head = await self._get(AUDIT, HEAD, sealed=False)
        return int(head["Seq"]) if head else 0

    async def ended_with_content(self) -> list[str]:
        ended = []
        for entity in await self._range(HANDOFF, "h|", "h|~", sealed=False):
            state = json.loads(entity["Doc"])["state"]
            if "Ciphertext" in entity and state not in ("delivering", "delivered"):
                ended.append(entity["Reference"])
        return ended

    async def sealed_key_ids(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        async with _unavailable_on_errors():
            for prefix in ("d|", "h|"):  # the records; index entries hold no sealed data
                pages = self._table.query_entities(
                    "PartitionKey eq @pk and RowKey ge @low and RowKey le @high", select=["KeyId"],
                    parameters={"pk": PARTITION, "low": prefix, "high": f"{prefix}~"},
                )
                async for entity in pages:
                    if key_id := entity.get("KeyId"):
                        counts[key_id] = counts.get(key_id, 0) + 1
        return counts

    # -- the bot's own retention (issue 15): ``f|<sent>|<fingerprint>``, ``c|audit-checkpoint`` ------

    @staticmethod
    def _sent_operations(fingerprint: str, at: datetime) -> list[Operation]:
        """A fingerprint and its time index entry, in one transaction. The entry of an earlier
        sending is left behind: ``forget_fingerprints`` drops it when it meets it (``At`` moved on)."""
        pointer = {"PartitionKey": SENT, "RowKey": f"f|{key_time(at)}|{fingerprint}", "Id": fingerprint}
        return [("upsert", TableStore._sent_entity(fingerprint, at), {"mode": UpdateMode.REPLACE}),
                ("upsert", pointer, {"mode": UpdateMode.REPLACE})]

    async def _index_fingerprints(self) -> None:
        """Fingerprints written before the time index get their entry, once (then ``c|fingerprints``)."""
        if await self._get(PARTITION, "c|fingerprints", sealed=False) is not None:
            return
        for entity in await self._range(SENT, "s|", "s|~", sealed=False):
            await self._submit(self._sent_operations(entity["RowKey"][2:], datetime.fromisoformat(entity["At"]))[1:])
        with contextlib.suppress(Conflict):  # another replica finished first
            await self._submit([("create", {"PartitionKey": PARTITION, "RowKey": "c|fingerprints", "Indexed": True})])

    async def forget_fingerprints(self, before: datetime, limit: int, events: Callable[[int], Events]) -> int:
        # Each transaction: a fingerprint and its entry are 2 operations, the audit event and head 2 more.
        deleted, lost_races = 0, 0
        while deleted < limit and lost_races < 8:
            chunk = min(limit - deleted, 45)
            pointers = await self._range(SENT, "f|", f"f|{key_time(before)}", chunk, sealed=False)
            if not pointers:
                break
            operations: list[Operation] = []
            count = 0
            for pointer in pointers:
                operations.append(("delete", pointer))
                sent = await self._get(SENT, f"s|{pointer['Id']}", sealed=False)
                if sent is not None and f"f|{key_time(datetime.fromisoformat(sent['At']))}|{pointer['Id']}" \
                        == pointer["RowKey"]:
                    operations.append(("delete", sent, _conditional(sent)))  # a new sending meanwhile wins
                    count += 1
            try:
                await self._transact(operations, events(count) if count else ())
            except Conflict:
                lost_races += 1  # another sweeper, or a new sending: look again
                continue
            deleted += count
        return deleted

    async def audit_checkpoint(self) -> Checkpoint | None:
        entity = await self._get(AUDIT, "c|audit-checkpoint", sealed=False)
        return Checkpoint.model_validate_json(entity["Doc"]) if entity else None

    def _audit_event(self, entity: Entity) -> AuditEvent:
        return AuditEvent(
            seq=int(entity["RowKey"][2:]), at=datetime.fromisoformat(entity["At"]), event=entity["Event"],
            subject=entity["Subject"], actor=entity["Actor"], agency=entity["Agency"] or None,
            reason=entity["Reason"] or None, mac=entity.get("Mac"),
        )

    async def audit_after(self, after: int, limit: int) -> list[AuditEvent]:
        return [self._audit_event(e) for e in await self._range(AUDIT, f"a|{after + 1:012d}", "a|9", limit,
                                                                  sealed=False)]

    async def prune_audit(self, checkpoint: Checkpoint, previous: Checkpoint | None, events: Events) -> int:
        """The checkpoint and its event in one transaction (with the chain's head); then the pruned
        events are deleted, 100 to a transaction. A crash between the two leaves events the checkpoint
        already covers: ``audit_events`` skips them and the next prune deletes them."""
        current = await self._get(AUDIT, "c|audit-checkpoint", sealed=False)
        if (int(current["Seq"]) if current else None) != (previous.seq if previous else None):
            raise Conflict("audit checkpoint")
        entity = {"PartitionKey": AUDIT, "RowKey": "c|audit-checkpoint", "Seq": checkpoint.seq,
                  "Doc": checkpoint.model_dump_json()}
        await self._transact([("create", entity)] if current is None else
                             [("update", entity, {"mode": UpdateMode.REPLACE, **_conditional(current)})], events)
        deleted = await self._delete_pruned(checkpoint.seq)
        # The DPO notifications of pruned incidents go with them, once done (ids begin with the incident's number).
        for n in await self._range(PARTITION, "n|", f"n|{checkpoint.seq:012d}-~", sealed=False):
            if not n.get("Due"):
                with contextlib.suppress(Conflict):  # changed or deleted meanwhile: the next prune looks again
                    await self._submit([("delete", n, _conditional(n))])
        return deleted

    async def _delete_pruned(self, through: int) -> int:
        deleted = 0
        while old := await self._range(AUDIT, "a|0", f"a|{through:012d}", 100, sealed=False):
            try:
                await self._submit([("delete", e) for e in old])
            except Conflict:  # another pruner deleted some meanwhile: one by one
                for e in old:
                    with contextlib.suppress(ResourceNotFoundError):
                        async with _unavailable_on_errors():
                            await self._table.delete_entity(e["PartitionKey"], e["RowKey"])
            deleted += len(old)
        return deleted

    # -- DPO notifications (art. 9): ``n|<id>`` records, ``v|<due>|<id>`` due index, ``c|incidents``

    async def incident_events(self, after: int, limit: int) -> list[AuditEvent]:
        query = "PartitionKey eq @pk and RowKey ge @low and RowKey le @high and Event eq 'incident'"
        found: list[AuditEvent] = []
        async with _unavailable_on_errors():
            pages = self._table.query_entities(
                query, parameters={"pk": AUDIT, "low": f"a|{after + 1:012d}", "high": "a|9"}, results_per_page=limit)
            async for entity in pages:
                found.append(AuditEvent(
                    seq=int(entity["RowKey"][2:]), at=datetime.fromisoformat(entity["At"]), event=entity["Event"],
                    subject=entity["Subject"], actor=entity["Actor"], agency=entity["Agency"] or None,
                    reason=entity["Reason"] or None, mac=entity.get("Mac"),
                ))
                if len(found) >= limit:
                    break
        return found

    async def incident_cursor(self) -> int:
        entity = await self._get(PARTITION, "c|incidents")
        return int(entity["Seq"]) if entity else 0

    @staticmethod
    def _notification_due(notification: Notification) -> str:
        return f"v|{key_time(notification.due_at)}|{notification.id}" if notification.due_at else ""

    def _notification_entity(self, notification: Notification) -> Entity:
        return {"PartitionKey": PARTITION, "RowKey": f"n|{notification.id}", "Doc": notification.model_dump_json(),
                "Version": notification.version, "Due": self._notification_due(notification)}

    async def add_notifications(self, notifications: Sequence[Notification], cursor: int) -> int:
        created = 0
        for n in notifications:  # each with its due entry in one transaction; one already there is skipped
            entity = self._notification_entity(n.model_copy(update={"version": 1}))
            operations: list[Operation] = [("create", entity)]
            if entity["Due"]:
                operations.append(("create", {"PartitionKey": PARTITION, "RowKey": entity["Due"], "Id": n.id}))
            try:
                await self._submit(operations)
                created += 1
            except Conflict:
                continue
        # Only once every notification exists: a crash before this line makes the next sweep redo them (skipped).
        current = await self._get(PARTITION, "c|incidents")
        if current is None or int(current["Seq"]) < cursor:
            entity = {"PartitionKey": PARTITION, "RowKey": "c|incidents", "Seq": cursor}
            with contextlib.suppress(Conflict):  # another sweeper moved it meanwhile: its value is as good
                await self._submit([("create", entity)] if current is None else
                                   [("update", entity, {"mode": UpdateMode.REPLACE, **_conditional(current)})])
        return created

    async def get_notification(self, notification_id: str) -> Notification | None:
        entity = await self._get(PARTITION, f"n|{notification_id}")
        return Notification.model_validate_json(entity["Doc"]) if entity else None

    async def save_notification(self, notification: Notification, events: Events = ()) -> Notification:
        current = await self._get(PARTITION, f"n|{notification.id}")
        if current is None or current["Version"] != notification.version:
            raise Conflict(notification.id)
        saved = notification.model_copy(update={"version": notification.version + 1})
        await self._transact(_replacing(current, self._notification_entity(saved), "Due"), events)
        return saved

    async def due_notifications(self, now: datetime, limit: int) -> list[Notification]:
        due = []
        for pointer in await self._range(PARTITION, "v|", f"v|{key_time(now)}|~", limit):
            entity = await self._get(PARTITION, f"n|{pointer['Id']}")
            if entity is not None and entity["Due"] == pointer["RowKey"]:
                due.append(Notification.model_validate_json(entity["Doc"]))
        return due

    async def notifications(self) -> list[Notification]:
        return [Notification.model_validate_json(e["Doc"]) for e in await self._range(PARTITION, "n|", "n|~")]

    async def raw_entities(self) -> AsyncIterator[Entity]:
        """Everything in the table, for tests that search what the service holds."""
        async with _unavailable_on_errors():
            async for entity in self._table.list_entities():
                yield entity


@contextlib.asynccontextmanager
async def _unavailable_on_errors() -> AsyncIterator[None]:
    """Network failures and server errors become ``StoreUnavailable``: retryable, and nothing is
    half-written, because each write is one request or one transaction."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as error:
        raise StoreUnavailable(type(error).__name__) from None
    except HttpResponseError as error:
        if (error.status_code or 0) >= 500:
            raise StoreUnavailable(f"{type(error).__name__} {error.status_code}") from None
        raise
