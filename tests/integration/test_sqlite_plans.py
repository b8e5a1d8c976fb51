"""SQLite specifics: the sweep's queries use their indexes, never a scan of every record."""

from datetime import datetime

from bot.adapters.sqlite_store import SqliteStore, _utc


async def test_due_queries_use_the_indexes(tmp_path, sealer):
    store = await SqliteStore.open(tmp_path / "plans.db", sealer)
    try:
        now = _utc(datetime.now().astimezone())
        for sql, index in (
            ("SELECT id, doc FROM handoffs WHERE due_at <= ? ORDER BY due_at LIMIT 10", "handoffs_due"),
            ("SELECT id FROM drafts WHERE expires_at <= ? ORDER BY expires_at LIMIT 10", "drafts_expiry"),
        ):
            cursor = await store._db.execute(f"EXPLAIN QUERY PLAN {sql}", (now,))
            plan = " ".join(row[-1] for row in await cursor.fetchall())
            assert f"USING INDEX {index}" in plan and "SCAN handoffs" not in plan and "SCAN drafts" not in plan, plan
    finally:
        await store.close()


async def test_the_retention_sweeps_queries_use_their_indexes(tmp_path, sealer):
    """Issue 15: fingerprints past their period by the time index, the oldest audit events by their
    number (the primary key); neither reads every row."""
    store = await SqliteStore.open(tmp_path / "plans.db", sealer)
    try:
        now = _utc(datetime.now().astimezone())
        for sql, params, uses in (
            ("SELECT fingerprint FROM sent_clients WHERE last_sent_at < ? ORDER BY last_sent_at LIMIT ?", (now, 100),
             "USING INDEX sent_clients_sent"),
            ("SELECT seq, at, event, subject, actor, agency, reason, mac FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
             (0, 1000), "USING INTEGER PRIMARY KEY"),
        ):
            cursor = await store._db.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(row[-1] for row in await cursor.fetchall())
            assert uses in plan and "SCAN" not in plan, plan
    finally:
        await store.close()


async def test_openstaand_uses_the_pending_index(tmp_path, sealer):
    store = await SqliteStore.open(tmp_path / "plans.db", sealer)
    try:
        cursor = await store._db.execute(
            "EXPLAIN QUERY PLAN SELECT d.doc FROM handoffs d WHERE d.pending_for = ?"
            " ORDER BY d.rowid LIMIT 10 OFFSET 0",
            ("tenant|aad",))
        plan = " ".join(row[-1] for row in await cursor.fetchall())
        assert "USING INDEX handoffs_pending" in plan and "SCAN" not in plan and "TEMP B-TREE" not in plan, plan
    finally:
        await store.close()


async def test_the_counsellors_overview_uses_its_index(tmp_path, sealer):
    store = await SqliteStore.open(tmp_path / "plans.db", sealer)
    try:
        sql = ("SELECT d.doc FROM handoffs d WHERE d.owner = ? ORDER BY d.created_at DESC, d.rowid DESC"
               " LIMIT 11 OFFSET 0")
        cursor = await store._db.execute(f"EXPLAIN QUERY PLAN {sql}", ("tenant|counsellor",))
        plan = " ".join(row[-1] for row in await cursor.fetchall())
        assert "USING INDEX handoffs_owner" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        await store.close()
