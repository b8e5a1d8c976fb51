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
==========================  ===========================================================

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
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
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
from bot.adapters.sealing import envelope, restore, seal_client
from bot.app.ports import Conflict, Events, Store, StoreUnavailable, Unreadable, UnreadableRecord
from bot.domain.audit import GENESIS, link
from bot.domain.handoff import Draft, FingerprintMark, Handoff
from bot.domain.model import AuditEvent, Notification

PARTITION = "tk"
DRAFT = HANDOFF = SENT = AUDIT = PARTITION  # one partition: see the module docstring
HEAD = "a|head"
Record = TypeVar("Record", Draft, Handoff)
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
    if sealed is None:
        return {}
    return {"KeyId": sealed.key_id, "WrappedKey": sealed.wrapped_key, "Ciphertext": sealed.ciphertext}


def _sealed_of(entity: Entity) -> Sealed | None:
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


class TableStore(Store):
    """A ``Store`` on one Azure table; safe for any number of replicas."""

    def __init__(self, table: TableClient, sealer: Sealer, closing: Any = None) -> None:
        self._table = table
        self._sealer = sealer
        self._closing = closing  # e.g. the credential, which holds its own HTTP session

    @classmethod
    async def open(cls, table: TableClient, sealer: Sealer, *, closing: Any = None) -> TableStore:
        async with _unavailable_on_errors():
            try:
                await table.create_table()
            except ResourceExistsError:
                pass
        return cls(table, sealer, closing)

    async def close(self) -> None:
        await self._table.close()
        if self._closing is not None:
            await self._closing.close()

    # -- primitives -----------------------------------------------------------------------------

    async def _get(self, partition: str, row: str) -> Entity | None:
        async with _unavailable_on_errors():
            try:
                return await self._table.get_entity(partition, row)
            except ResourceNotFoundError:
                return None

    async def _transact(self, operations: Sequence[Operation], events: Events = ()) -> None:
        """All or nothing, with ``events`` chained onto the audit trail in the same transaction; a
        lost race (409 exists, 412 changed, 404 gone) is a ``Conflict``, unless it was only the
        audit head that moved meanwhile: then the same write is redone on the new head."""
        head = await self._get(AUDIT, HEAD) if events else None
        while True:
            try:
                await self._submit([*operations, *self._audit_operations(head, events)])
                return
            except Conflict:
                if not events:
                    raise
                latest = await self._get(AUDIT, HEAD)
                if _etag(latest) == _etag(head):
                    raise  # the head was as read: the record itself changed
                head = latest

    async def _submit(self, operations: list[Operation]) -> None:
        async with _unavailable_on_errors():
            try:
                await self._table.submit_transaction(operations)
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

    async def _range(self, partition: str, low: str, high: str, limit: int | None = None) -> list[Entity]:
        """Entities with ``low <= RowKey <= high``, in row-key order (at most ``limit``)."""
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
        return found

    # -- drafts ---------------------------------------------------------------------------------

    @staticmethod
    def _expiry_key(draft: Draft) -> str:
        return f"x|{key_time(draft.expires_at)}|{draft.id}"

    def _draft_entity(self, draft: Draft) -> Entity:
        return {
            "PartitionKey": DRAFT, "RowKey": f"d|{draft.id}", "Doc": envelope(draft), "Version": draft.version,
            "Expiry": self._expiry_key(draft), "Owner": f"o|{draft.owner}",
            **_sealed_properties(seal_client(self._sealer, draft.id, draft.client)),
        }

    async def add_draft(self, draft: Draft, events: Events = ()) -> Draft:
        draft = draft.model_copy(update={"version": 1})
        index = {"PartitionKey": DRAFT, "RowKey": self._expiry_key(draft), "Id": draft.id}
        owner = {"PartitionKey": DRAFT, "RowKey": f"o|{draft.owner}", "Id": draft.id}  # one per counsellor
        await self._transact([("create", self._draft_entity(draft)), ("create", index), ("create", owner)], events)
        return draft

    async def get_draft(self, draft_id: str) -> Draft | None:
        entity = await self._get(DRAFT, f"d|{draft_id}")
        return self._restore(Draft, entity) if entity else None

    def _restore(self, model: type[Record], entity: Entity) -> Record:
        try:
            return restore(model, self._sealer, entity["Doc"], _sealed_of(entity))
        except Exception as error:  # noqa: BLE001 - a wrong key, a damaged entity: content-free either way
            raise Unreadable(str(entity.get("RowKey", "?"))[2:], type(error).__name__) from None

    async def save_draft(self, draft: Draft, events: Events = ()) -> Draft:
        current = await self._get(DRAFT, f"d|{draft.id}")
        if current is None or current["Version"] != draft.version:
            raise Conflict(draft.id)
        saved = draft.model_copy(update={"version": draft.version + 1})
        await self._transact(_replacing(current, self._draft_entity(saved), "Expiry"), events)
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
            current = await self._get(partition, row)
            if current is None:
                return False
            try:
                await self._transact(self._deleting(current, entries), events)
                return True
            except Conflict:
                continue  # changed (or deleted) meanwhile: look again

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

    def _handoff_entity(self, handoff: Handoff) -> Entity:
        return {
            "PartitionKey": HANDOFF, "RowKey": f"h|{handoff.id}", "Doc": envelope(handoff),
            "Version": handoff.version, "Due": self._due_key(handoff), "Reference": handoff.reference,
            "DraftId": handoff.draft_id,
            **_sealed_properties(seal_client(self._sealer, handoff.id, handoff.client)),
        }

    async def add_handoff(self, handoff: Handoff, events: Events = ()) -> Handoff:
        handoff = handoff.model_copy(update={"version": 1})
        entity = self._handoff_entity(handoff)
        operations: list[Operation] = [
            ("create", entity),
            ("create", {"PartitionKey": HANDOFF, "RowKey": f"r|{handoff.reference}", "Id": handoff.id}),
            ("create", {"PartitionKey": HANDOFF, "RowKey": f"p|{handoff.draft_id}", "Id": handoff.id}),
        ]
        if entity["Due"]:
            operations.append(("create", {"PartitionKey": HANDOFF, "RowKey": entity["Due"], "Id": handoff.id}))
        await self._transact(operations, events)
        return handoff

    async def get_handoff(self, handoff_id: str) -> Handoff | None:
        entity = await self._get(HANDOFF, f"h|{handoff_id}")
        return self._restore(Handoff, entity) if entity else None

    async def handoff_for_draft(self, draft_id: str) -> Handoff | None:
        pointer = await self._get(HANDOFF, f"p|{draft_id}")
        return await self.get_handoff(pointer["Id"]) if pointer else None

    async def save_handoff(
        self, handoff: Handoff, events: Events = (), *, mark_sent: FingerprintMark | None = None,
        drop_draft: str | None = None,
    ) -> Handoff:
        current = await self._get(HANDOFF, f"h|{handoff.id}")
        if current is None or current["Version"] != handoff.version:
            raise Conflict(handoff.reference)
        saved = handoff.model_copy(update={"version": handoff.version + 1})
        operations = _replacing(current, self._handoff_entity(saved), "Due")
        if mark_sent is not None:
            operations.append(("upsert", self._sent_entity(mark_sent.fingerprint, mark_sent.at),
                               {"mode": UpdateMode.REPLACE}))
        if drop_draft is not None and (draft := await self._get(DRAFT, f"d|{drop_draft}")) is not None:
            operations += self._deleting(draft, self._draft_entries)
        await self._transact(operations, events)
        return saved

    async def delete_handoff(self, handoff_id: str, events: Events = ()) -> None:
        await self._delete(HANDOFF, f"h|{handoff_id}",
                           lambda h: [f"r|{h['Reference']}", f"p|{h['DraftId']}", h["Due"]], events)

    async def due_handoffs(self, now: datetime, limit: int) -> list[Handoff | UnreadableRecord]:
        due: list[Handoff | UnreadableRecord] = []
        for pointer in await self._range(HANDOFF, "u|", f"u|{key_time(now)}|~", limit):
            entity = await self._get(HANDOFF, f"h|{pointer['Id']}")
            if entity is None or entity["Due"] != pointer["RowKey"]:
                continue  # (an entry whose record moved on meanwhile is skipped)
            try:  # each on its own: one that cannot be opened never hides the others
                due.append(self._restore(Handoff, entity))
            except Unreadable as error:
                due.append(UnreadableRecord(error.record_id, error.why))
        return due

    async def open_handoffs(self, limit: int) -> list[Handoff | UnreadableRecord]:
        # A scan of the handoff rows: only run once the protocol (or an agency's part) has ended.
        found: list[Handoff | UnreadableRecord] = []
        for entity in await self._range(HANDOFF, "h|", "h|~"):
            if json.loads(entity["Doc"])["state"] not in ("delivering", "delivered"):
                continue
            try:
                found.append(self._restore(Handoff, entity))
            except Unreadable as error:
                found.append(UnreadableRecord(error.record_id, error.why))
            if len(found) >= limit:
                break
        return found

    async def next_due(self) -> datetime | None:
        firsts = [await self._range(HANDOFF, "u|", "u|~", 1), await self._range(DRAFT, "x|", "x|~", 1)]
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
        async with _unavailable_on_errors():
            await self._table.upsert_entity(self._sent_entity(fingerprint, at), mode=UpdateMode.REPLACE)

    async def append_audit(self, *events: AuditEvent) -> None:
        """Numbered by an optimistic counter in the same partition, so the order is total."""
        await self._transact([], events)

    async def audit_events(self, since: datetime | None = None, until: datetime | None = None) -> list[AuditEvent]:
        events = []
        for entity in await self._range(AUDIT, "a|0", "a|9"):
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
        head = await self._get(AUDIT, HEAD)
        return int(head["Seq"]) if head else 0

    async def ended_with_content(self) -> list[str]:
        ended = []
        for entity in await self._range(HANDOFF, "h|", "h|~"):
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
