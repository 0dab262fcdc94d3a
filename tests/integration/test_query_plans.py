"""Statements on the hot paths must search indexes, never scan a growing table.

A scan costs nothing on a test database and everything on a year of traffic, so
the plans are checked here rather than discovered in production.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hookyard.store.sqlfiles import load_queries
from hookyard.store.sqlite.connection import apply_migrations, connect
from support.waiting import eventually_async

if TYPE_CHECKING:
    import asyncpg


def sqlite_plan(path: Path, sql: str, params: list[object]) -> list[str]:
    conn = connect(str(path))
    try:
        apply_migrations(conn)
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        conn.close()


def test_sqlite_dedup_lookup_searches_the_primary_key_for_every_key(tmp_path: Path) -> None:
    sql = load_queries("sqlite")["dedup_owners"].replace("(VALUES_LIST)", "(VALUES (?, ?), (?, ?))")
    plan = sqlite_plan(tmp_path / "plan.db", sql, ["src", "a", "src", "b"])
    assert any(step.startswith("SEARCH d USING PRIMARY KEY") for step in plan), plan
    assert not any(step.startswith(("SCAN d", "SCAN dedup_keys")) for step in plan), plan


def test_sqlite_hot_statements_do_not_scan_tables(tmp_path: Path) -> None:
    queries = load_queries("sqlite")
    for name in ("take_over_dedup_key", "count_duplicates", "get_event", "get_body"):
        sql = queries[name]
        plan = sqlite_plan(tmp_path / f"{name}.db", sql, [None] * sql.count("?"))
        assert not [step for step in plan if step.startswith("SCAN")], (name, plan)


def test_sqlite_attempts_of_many_dispatches_search_the_primary_key_in_order(
    tmp_path: Path,
) -> None:
    sql = load_queries("sqlite")["attempts_of_dispatches"]
    plan = sqlite_plan(tmp_path / "attempts.db", sql, ['["a", "b"]'])
    assert any(step.startswith("SEARCH attempts USING PRIMARY KEY") for step in plan), plan
    assert not [step for step in plan if step.startswith("SCAN attempts")], plan
    assert not [step for step in plan if "TEMP B-TREE" in step], plan


def test_sqlite_type_globs_search_the_type_index_once_per_matching_type(tmp_path: Path) -> None:
    """A glob is answered from the stored types it matches: one ordered search per type
    that stops at the page size, so a rare glob does not read every event."""
    from hookyard.models import EventFilter
    from hookyard.store import filters

    query = EventFilter(event_type="refund.*", source="stripe", cursor="01J", limit=50)
    sql, params = filters.list_sql(
        query, filters.SQLITE, event_types=["refund.created", "refund.paid"]
    )
    plan = sqlite_plan(tmp_path / "glob.db", sql, params)
    assert [step for step in plan if "USING INDEX events_type" in step], plan
    assert not [step for step in plan if step.startswith("SCAN events")], plan
    types = sqlite_plan(tmp_path / "types.db", filters.SQLITE.distinct_types_sql, [])
    assert not [step for step in types if step.startswith("SCAN events")], types


def test_plan_helper_sees_a_scan_when_there_is_one(tmp_path: Path) -> None:
    plan = sqlite_plan(tmp_path / "scan.db", "SELECT * FROM dedup_keys WHERE expires_us > ?", [0])
    assert any(step.startswith("SCAN") for step in plan), plan


def _sorted_scans(node: dict[str, Any], under_sort: bool = False) -> list[str]:
    """Scans of ``dispatches`` that feed a Sort: each one reads every due row."""
    found = []
    if under_sort and node.get("Relation Name") == "dispatches":
        found.append(f"{node['Node Type']} using {node.get('Index Name')}")
    for child in node.get("Plans", []):
        found += _sorted_scans(child, under_sort or node["Node Type"] == "Sort")
    return found


def _index_scans(node: dict[str, Any]) -> list[str]:
    found = []
    if node.get("Relation Name") == "dispatches":
        found.append(str(node.get("Index Name")))
    for child in node.get("Plans", []):
        found += _index_scans(child)
    return found


@pytest.mark.postgres
async def test_postgres_claim_reads_due_dispatches_in_order_and_stops_at_the_limit(
    pg_url: str,
) -> None:
    """With thousands pending, a claim of 20 must not fetch and sort them all.

    No ANALYZE: in production the table grows faster than its statistics, and it was with
    stale statistics (an estimate of one row) that the planner chose to sort.
    """
    import json

    import asyncpg

    from hookyard.store import open_store
    from support.factories import submission

    store = open_store(pg_url)
    await store.start()
    try:
        for _ in range(10):
            await asyncio.gather(
                *(store.submit(submission(b"{}", destinations=("a", "b"))) for _ in range(100))
            )
    finally:
        await store.close()
    conn = await asyncpg.connect(pg_url)
    try:
        now = 2**62
        raw = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + load_queries("postgres")["claim_due"],
            "w",
            now,
            now,
            ["a", "b"],
            20,
        )
    finally:
        await conn.close()
    plan = json.loads(raw)[0]["Plan"]
    assert _sorted_scans(plan) == [], plan
    assert "None" not in _index_scans(plan)[:2], plan  # the two states: index scans


SEQ_READS = (
    "SELECT relname, seq_tup_read FROM pg_stat_user_tables "
    "WHERE relname IN ('dedup_keys', 'dispatches', 'event_status')"
)


async def seq_reads(conn: asyncpg.Connection) -> dict[str, int]:
    """Rows read by sequential scans so far, per table."""
    return {row["relname"]: row["seq_tup_read"] for row in await conn.fetch(SEQ_READS)}


@pytest.mark.postgres
async def test_postgres_plans_cached_on_small_tables_do_not_scan_them_as_they_grow(
    pg_url: str,
) -> None:
    """Each connection caches a plan per statement, made from the table sizes of the moment.

    A join planned while ``dedup_keys``, ``dispatches`` or ``event_status`` held a few hundred
    rows read the whole table on every ingest batch and every attempt group, ever longer as
    it grew:
    the database's CPU per event climbed with the table. Grow both from empty through one
    store (one set of connections, so one set of cached plans) and count rows read by
    sequential scans.
    """
    import asyncpg

    from hookyard.models import AttemptRecord
    from hookyard.store import open_store
    from support.factories import submission

    conn = await asyncpg.connect(pg_url)
    try:
        before = await seq_reads(conn)
        store = open_store(pg_url)
        await store.start()
        try:
            for round_ in range(150):
                # New events, and a provider's repeats of a few from the round before.
                await asyncio.gather(
                    *(
                        store.submit(
                            submission(provider_id=f"evt_{round_}_{i}", destinations=("a",))
                        )
                        for i in range(20)
                    ),
                    *(
                        store.submit(submission(provider_id=f"evt_{round_ - 1}_{i}"))
                        for i in range(5 if round_ else 0)
                    ),
                )
                now = time.time_ns() // 1000
                claimed = await store.claim_due(
                    "w", now_us=now, lease_us=60_000_000, limit=20, destinations=["a"]
                )
                await asyncio.gather(
                    *(
                        store.record_attempt(
                            "w",
                            AttemptRecord(
                                c.dispatch_id,
                                1,
                                now,
                                1.0,
                                200,
                                (),
                                b"",
                                None,
                                None,
                                "delivered",
                                None,
                            ),
                            status="delivered",
                        )
                        for c in claimed
                    )
                )
        finally:
            await store.close()

        # The store's sessions report their statistics as they end.
        async def sessions_ended() -> bool:
            others = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return not others

        await eventually_async(
            sessions_ended, timeout=5, interval=0.1, message="the store's sessions did not end"
        )
        await asyncio.sleep(0.5)
        after = await seq_reads(conn)
    finally:
        await conn.close()
    events = 150 * 20
    read = {table: after[table] - before.get(table, 0) for table in after}
    # Before: over 200,000 rows of each, growing with the square of the size. A claim may
    # still scan dispatches while it is tiny (about 11,000 rows in all, all early on).
    assert read["dedup_keys"] < events, read
    assert read["dispatches"] < 5 * events, read
    assert read["event_status"] < events, read  # counting repeats on their originals


@pytest.mark.postgres
@pytest.mark.parametrize("event_type", ["nothing.*", "order.created.v1"])
async def test_postgres_type_filters_can_search_an_index_under_any_collation(
    pg_url: str, event_type: str
) -> None:
    """LIKE cannot use a plain text index unless the collation is "C" (these machines
    run C.UTF-8): a glob that matched nothing read all of a million events."""
    import asyncpg

    from hookyard.models import EventFilter
    from hookyard.store import filters, open_store

    store = open_store(pg_url)
    await store.migrate()
    sql, params = filters.list_sql(EventFilter(event_type=event_type, limit=50), filters.POSTGRES)
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("SET enable_seqscan = off")  # only an index can avoid the scan
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *params))
        walk = "\n".join(
            r[0] for r in await conn.fetch("EXPLAIN " + filters.POSTGRES.distinct_types_sql)
        )
    finally:
        await conn.close()
    assert "events_type_pattern" in plan, plan
    assert "Seq Scan" not in walk and "events_type_pattern" in walk, walk
