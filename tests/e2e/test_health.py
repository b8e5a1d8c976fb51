"""``/healthz`` (liveness: the process answers) and ``/readyz`` (the store, the directory and the data
key answer), over HTTP against the real app: 503 naming what failed, never any client data."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot import health
from bot.adapters.crypto import Sealer
from bot.bootstrap import build
from bot.config import Settings
from tests.support.directory import DIRECTORY_SCOPE, DirectoryCredential, FakeDirectory, client
from tests.support.teams import DATA_KEY

CHECKS = {"store", "directory", "data_key"}


async def probe(harness, path: str) -> tuple[int, dict]:
    url = str(harness.server.make_url(path))
    async with harness.http.get(url) as response:
        return response.status, await response.json()


async def test_a_healthy_bot_is_live_and_ready(harness):
    status, body = await probe(harness, "/healthz")
    assert status == 200 and body["status"] == "ok" and body["mode"] == "local"
    status, body = await probe(harness, "/readyz")
    assert status == 200
    assert body == {"status": "ready", "checks": {"store": "ok", "directory": "ok", "data_key": "ok"}}


async def test_a_store_that_does_not_answer_is_not_ready_but_still_live(harness):
    await harness.runtime.store.close()  # as if the file system went away under it
    status, body = await probe(harness, "/readyz")
    assert status == 503 and body["status"] == "not ready"
    assert body["checks"]["store"].startswith("failed: ") and body["checks"]["directory"] == "ok"
    assert set(body["checks"]) == CHECKS
    status, _ = await probe(harness, "/healthz")
    assert status == 200  # liveness does not look at the store: a restart would not help


@pytest.fixture
async def with_http_directory(tmp_path, connector):
    """The bot with VDAB's directory over HTTP (the stand-in on loopback)."""
    async with FakeDirectory([client("K-1", "Amina El Idrissi", "1990-04-12")]) as directory:
        settings = Settings(_env_file=None, **{
            "BOT_STORE": f"sqlite:///{tmp_path / 'data' / 'terugkoppeling.db'}", "BOT_DATA_KEY": DATA_KEY,
            "BOT_TEAMS_SERVICE_URL": connector.url, "BOT_DIRECTORY_URL": directory.base_url,
            "BOT_DIRECTORY_SCOPE": DIRECTORY_SCOPE, "BOT_DIRECTORY_RETRIES": "0",
        })
        runtime = await build(settings, directory_credential=DirectoryCredential())
        server = TestServer(runtime.app, host="127.0.0.1")
        await server.start_server()
        async with ClientSession() as http:
            yield directory, server, http
        await server.close()
        await runtime.close()


async def readyz(server: TestServer, http: ClientSession) -> tuple[int, dict, str]:
    async with http.get(str(server.make_url("/readyz"))) as response:
        text = await response.text()
        return response.status, json.loads(text), text


async def test_a_directory_that_fails_or_hangs_is_not_ready(with_http_directory):
    directory, server, http = with_http_directory
    status, body, _ = await readyz(server, http)
    assert status == 200, body
    assert directory.searches()[-1].body["naam"] == "Readiness Probe"  # a probe nobody has

    await asyncio.sleep(1.1)  # a result serves probes for a second
    directory.fail(503)
    status, body, text = await readyz(server, http)
    assert status == 503 and body["checks"]["directory"].startswith("failed: ")
    assert body["checks"]["store"] == "ok" and body["checks"]["data_key"] == "ok"
    assert "Amina" not in text and "K-1" not in text and "Readiness Probe" not in text

    await asyncio.sleep(1.1)
    directory.fail("slow", delay=30)
    status, body, _ = await readyz(server, http)
    assert status == 503 and body["checks"]["directory"] in ("timeout", "failed: DirectoryUnavailable")


async def test_probes_that_arrive_together_share_one_round(with_http_directory):
    directory, server, http = with_http_directory
    before = len(directory.searches())
    results = await asyncio.gather(*(readyz(server, http) for _ in range(50)))
    assert all(status == 200 for status, _, _ in results)
    assert len(directory.searches()) - before == 1


async def test_a_data_key_that_cannot_open_its_envelope_is_not_ready():
    sealer = Sealer(bytes(range(32)))
    ready = health.readiness({"data_key": health.key_check(sealer)})
    assert await ready() == (True, {"data_key": "ok"})
    sealer._keyring.clear()  # the key ring lost the current key: nothing sealed can be opened
    ready = health.readiness({"data_key": health.key_check(sealer)})
    assert await ready() == (False, {"data_key": "failed: ValueError"})


async def test_a_check_that_hangs_is_a_timeout_within_the_bound():
    async def hangs() -> None:
        await asyncio.sleep(60)

    ready = health.readiness({"store": hangs}, timeout=0.2)
    began = datetime.now(UTC)
    assert await ready() == (False, {"store": "timeout"})
    assert (datetime.now(UTC) - began).total_seconds() < 1
