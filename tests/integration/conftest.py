import json

import pytest
from azure.data.tables.aio import TableClient

from bot.adapters.crypto import Sealer
from bot.adapters.sqlite_store import SqliteStore
from bot.adapters.table_store import CLIENT_OPTIONS, TableStore

MASTER = bytes(range(32))


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(MASTER)


@pytest.fixture(params=["sqlite", "azure-tables"])
async def store(request, tmp_path, sealer):
    """Every store backend, for the shared contract suite. ``store.raw()`` returns everything the
    backend holds, as bytes, for tests that search it: the SQLite file (+WAL), or every entity in
    the table with its binary properties (the content store: the key store holds no client data)."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        backend = await SqliteStore.open(path, sealer)

        async def raw() -> bytes:
            return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    else:
        azurite = request.getfixturevalue("azurite")
        name = request.getfixturevalue("table_name")
        table = TableClient.from_connection_string(azurite.connection_string, name, **CLIENT_OPTIONS)
        keys = TableClient.from_connection_string(azurite.connection_string, f"{name}keys", **CLIENT_OPTIONS)
        backend = await TableStore.open(table, sealer, keys=keys)

        async def raw() -> bytes:
            chunks = []
            async for entity in backend.raw_entities():
                for value in entity.values():
                    chunks.append(bytes(value) if isinstance(value, bytes | bytearray) else json.dumps(value).encode())
            return b"\n".join(chunks)

    backend.raw = raw
    yield backend
    await backend.close()


@pytest.fixture(params=["sqlite", "azure-tables"])
async def store_path_factory(request, tmp_path):
    """Open the same backend again and again (a restart), with whichever sealer a test gives."""
    opened = []
    name = request.getfixturevalue("table_name") if request.param == "azure-tables" else ""
    azurite = request.getfixturevalue("azurite") if request.param == "azure-tables" else None

    async def open_store(sealer: Sealer):
        if azurite is None:
            backend = await SqliteStore.open(tmp_path / "store.db", sealer)
        else:
            table = TableClient.from_connection_string(azurite.connection_string, name, **CLIENT_OPTIONS)
            keys = TableClient.from_connection_string(azurite.connection_string, f"{name}keys", **CLIENT_OPTIONS)
            backend = await TableStore.open(table, sealer, keys=keys)
        opened.append(backend)
        return backend

    yield open_store
