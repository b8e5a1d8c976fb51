
import pytest

from bot.adapters.crypto import Sealer
from bot.adapters.sqlite_store import SqliteStore

MASTER = bytes(range(32))


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(MASTER)


@pytest.fixture(params=["sqlite"])
async def store(request, tmp_path, sealer):
    """Every store backend, for the shared contract suite."""
    path = tmp_path / "store.db"
    backend = await SqliteStore.open(path, sealer)
    backend.files = [path, path.with_name(path.name + "-wal")]  # for tests that search the bytes
    yield backend
    await backend.close()
