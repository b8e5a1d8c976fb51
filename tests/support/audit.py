"""Editing a stored audit event behind the store's back, on either backend: how the tamper tests
play an attacker with write access to the database."""

from __future__ import annotations

from typing import Any

from bot.adapters.sqlite_store import SqliteStore
from bot.adapters.table_store import AUDIT


async def edit_event(store: Any, seq: int, **fields: Any) -> None:
    """Overwrite fields of audit event ``seq`` (column names; Table Storage capitalises them)."""
    if isinstance(store, SqliteStore):
        for column, value in fields.items():
            await store._db.execute(f"UPDATE audit SET {column} = ? WHERE seq = ?", (value, seq))
    else:
        entity = await store._table.get_entity(AUDIT, f"a|{seq:012d}")
        entity.update({k.capitalize(): v for k, v in fields.items()})
        await store._table.update_entity(entity)
