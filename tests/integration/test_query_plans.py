"""Statements on the hot paths must search indexes, never scan a growing table.

A scan costs nothing on a test database and everything on a year of traffic, so
the plans are checked here rather than discovered in production.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hookyard.store.base import load_queries
from hookyard.store.sqlite import apply_migrations, connect


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
    assert "None" not in _index_scans(plan)[:3], plan  # the three states: index scans
