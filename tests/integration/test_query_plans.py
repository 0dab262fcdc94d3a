"""The statements on the ingest path must search indexes, never scan a growing table.

A scan costs nothing on a test database and everything on a year of traffic, so
the plans are checked here rather than discovered in production.
"""

from __future__ import annotations

from pathlib import Path

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
