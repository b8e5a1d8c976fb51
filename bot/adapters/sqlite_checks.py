"""Before the SQLite store opens its file: is it ours?

SQLite happily "opens" a zero-length file as an empty database, and the store would then migrate
it and start empty: pending handoffs gone from view, and ``audit verify`` calling the empty trail
intact. A file that is not SQLite at all, or another application's database, would be written
into. So a store file is accepted only if it does not exist yet (a new store), or is an SQLite
database with our schema (or none at all); anything else is refused with one line that says why.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.adapters.sqlite_store import KEY_STORE_VERSION, MIGRATIONS

HEADER = b"SQLite format 3\x00"
OUR_TABLES = frozenset({"handoffs", "audit"})  # present in every schema version
KEY_TABLES = frozenset({"record_keys"})


class StoreFileRefused(ValueError):
    """The store file exists but is not a store this bot may open; the message says why."""


def check_key_file(keys: Path, store: Path) -> None:
    """The key store (``BOT_KEY_STORE``) is absent (a new one), or an SQLite file with at most the
    key table. Absent while the content store holds records sealed with keys kept there, it is
    refused: a wrong path would otherwise make every record unreadable (and the sweep purge drafts)."""
    where = f"BOT_KEY_STORE: {keys}"
    if keys.exists() and not (keys.is_file() and keys.stat().st_size == 0):  # (0 bytes: SQLite's new file)
        tables = _tables(keys, where)
        if tables is not None and not tables[1] <= KEY_TABLES:
            raise StoreFileRefused(f"{where} is another database (tables other than the key store's); "
                                   "refusing to write into it")
        return
    if not store.exists():
        return
    try:
        db = sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            sealed = db.execute("SELECT count(*) FROM sealed").fetchone()[0] if version >= KEY_STORE_VERSION else 0
        finally:
            db.close()
    except sqlite3.Error:
        return  # the store's own check names what is wrong with it
    if sealed:
        raise StoreFileRefused(
            f"{where} does not exist, but BOT_STORE {store} holds {sealed} records sealed with keys kept "
            "there: point BOT_KEY_STORE at that key store (if only the content was restored from a backup, "
            f"its client data is unreadable by design; to start anyway: sqlite3 {keys} 'PRAGMA user_version = 1')"
        )


def _tables(path: Path, where: str) -> tuple[int, set[str]] | None:
    """``path``'s schema version and tables, or None for an empty database; refused if not SQLite."""
    try:
        if not path.is_file():
            raise StoreFileRefused(f"{where} is not a file")
        with path.open("rb") as file:
            header = file.read(len(HEADER))
    except OSError as error:
        raise StoreFileRefused(f"{where} cannot be read ({type(error).__name__}: {error.strerror})") from None
    if not header:
        raise StoreFileRefused(f"{where} is empty (0 bytes), not a store; restore it from a backup, "
                               "or remove it to start a new store")
    if header != HEADER:
        raise StoreFileRefused(f"{where} is not an SQLite database; refusing to overwrite it")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.Error as error:
        raise StoreFileRefused(f"{where} is not a usable SQLite database ({type(error).__name__}: {error})") from None
    tables.discard("sqlite_sequence")
    return None if version == 0 and not tables else (version, tables)


def check_sqlite_file(path: Path) -> None:
    """Raises ``StoreFileRefused`` unless ``path`` is absent or one of our SQLite stores."""
    where = f"BOT_STORE: {path}"
    try:
        if not path.exists():
            return
    except OSError as error:
        raise StoreFileRefused(f"{where} cannot be read ({type(error).__name__}: {error.strerror})") from None
    found = _tables(path, where)
    if found is None:
        return  # an empty database: the store creates its schema
    version, tables = found
    if version > len(MIGRATIONS):
        raise StoreFileRefused(f"{where} has schema version {version}, newer than this bot's "
                               f"{len(MIGRATIONS)}; run the newer version")
    if version == 0 or not OUR_TABLES <= tables:
        raise StoreFileRefused(f"{where} is another application's database (tables without the "
                               "terugkoppeling schema); refusing to write into it")
