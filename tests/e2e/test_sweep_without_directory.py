"""The sweep does not need the client directory to remind and purge (issue 17): with a broken
directory file it still purges what is past retention, and a queued card waits for the directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.adapters.clock import FixedClock
from tests.e2e.conftest import ELS, VDAB
from tests.e2e.flows import send
from tests.support.connector import FakeConnector
from tests.support.process import Bot
from tests.support.teams import Harness


async def test_a_broken_directory_does_not_stop_the_retention_purge(tmp_path):
    async with FakeConnector() as connector:
        bot = Bot(tmp_path, connector)
        harness = Harness(tmp_path, connector, FixedClock(datetime.now(UTC)), external_url=bot.url)
        try:
            bot.start()
            await send(harness.user("aad-bram", VDAB, "Bram"))
            assert len(connector.cards_to(ELS)) == 1
            bot.stop()
        finally:
            if harness.http:
                await harness.http.close()
        broken = tmp_path / "broken.json"
        broken.write_text('{"clients": [{"klant_id": "K-1", "naam": 42}]}')
        bot.env["BOT_DIRECTORY_FILE"] = str(broken)
        code, out = await bot.cli("serve")  # the server refuses the broken file: one line, non-zero
        assert code != 0
        done = await bot.sweep(datetime.now(UTC) + timedelta(days=31))
        assert done.get("expire") == 1
        code, out = await bot.cli("audit", "--format", "json")
        events = [e["event"] for e in json.loads(out)["events"]]
        assert "expired" in events and events.count("purged") == 1
        assert b"Amina" not in bot.db_bytes()
