"""The WHERE-clause builder, checked against a real SQLite database (no schema mocks)."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard.filtering import status_code_range
from hookyard.ids import UlidFactory, ulid_time_ms
from hookyard.models import EventFilter
from hookyard.store.filters import (
    POSTGRES,
    SQLITE,
    list_sql,
    lowest_id_at,
    where_clause,
)
from hookyard.store.sqlfiles import load_migrations


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5xx", (500, 599)), ("4XX", (400, 499)), ("1xx", (100, 199)), ("404", (404, 404)),
     ("599", (599, 599)), ("100", (100, 100))],
)  # fmt: skip
def test_status_code_range(text: str, expected: tuple[int, int]) -> None:
    assert status_code_range(text) == expected


@pytest.mark.parametrize("text", ["6xx", "0xx", "x00", "5x", "5xxx", "099", "600", "", "abc"])
def test_status_code_range_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="status class"):
        status_code_range(text)


@given(st.integers(min_value=0, max_value=(1 << 48) - 2))
def test_lowest_id_at_sorts_before_every_id_of_that_millisecond(ms: int) -> None:
    factory = UlidFactory()
    minted = factory.new(ms)
    assert ulid_time_ms(lowest_id_at(ms)) == ms
    assert lowest_id_at(ms) <= minted < lowest_id_at(ms + 1)


def _count_placeholders(sql: str, style: str) -> int:
    if style == "?":
        return sql.count("?")
    return len(set(re.findall(r"\$\d+", sql)))


FULL = EventFilter(
    source="s", event_type="a.*", verdict="valid", status="dead", since_us=1, until_us=2,
    limit=5, cursor="c", response_status="5xx", destination="d",
)  # fmt: skip


@pytest.mark.parametrize("style", ["?", "$"])
@pytest.mark.parametrize(
    "query",
    [EventFilter(), FULL, EventFilter(response_status="404"), EventFilter(destination="d")],
)
def test_placeholders_match_parameters(style: str, query: EventFilter) -> None:
    sql, params = list_sql(query, SQLITE if style == "?" else POSTGRES)
    assert _count_placeholders(sql, style) == len(params)
    if style == "$":
        assert sorted({int(n) for n in re.findall(r"\$(\d+)", sql)}) == list(
            range(1, len(params) + 1)
        )


def test_destination_and_status_must_hold_for_the_same_dispatch() -> None:
    where, _ = where_clause(EventFilter(response_status="5xx", destination="d"), SQLITE)
    assert where.count("EXISTS") == 1


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    for migration in load_migrations("sqlite"):
        conn.executescript(migration.sql)
    return conn


def _insert(conn: sqlite3.Connection, event_id: str, received_us: int, **extra: Any) -> None:
    conn.execute(
        "INSERT INTO events (id, source, received_us, remote_addr, method, path, query_string,"
        " headers, body, body_sha256, body_size, content_type, verdict, verdict_reason,"
        " verdict_detail, status, event_type) VALUES (?, 's', ?, '', 'POST', '/', x'', x'',"
        " x'', '', 0, '', 'valid', '', '{}', 'stored', ?)",
        (event_id, received_us, extra.get("event_type")),
    )


def test_since_uses_the_id_range_and_still_finds_ids_minted_slightly_early() -> None:
    """The implied ``id >=`` bound must never drop a matching row within the margin."""
    conn = _db()
    factory = UlidFactory()
    received_ms = 1_700_000_000_000
    early = factory.new(received_ms - 60_000)  # minted a minute before its receipt time
    _insert(conn, early, received_ms * 1000, event_type="t")
    old = UlidFactory().new(received_ms - 3_600_000)
    _insert(conn, old, (received_ms - 3_600_000) * 1000, event_type="t")
    sql, params = list_sql(EventFilter(since_us=received_ms * 1000), SQLITE)
    assert [row[0] for row in conn.execute(sql, params)] == [early]
    plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "id>?" in plan.replace(" ", "")
    sql, params = list_sql(EventFilter(since_us=received_ms * 1000, event_type="t"), SQLITE)
    plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "events_type" in plan and "id>?" in plan.replace(" ", "")


def test_dispatch_filters_use_the_covering_index() -> None:
    conn = _db()
    sql, params = list_sql(EventFilter(destination="billing", response_status="5xx"), SQLITE)
    plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "dispatches_event_outcome" in plan
    assert "dispatches_destination" not in plan  # the old plan: a scan per event


def test_a_merged_type_search_numbers_its_placeholders_on_across_types() -> None:
    query = EventFilter(event_type="order.*", source="stripe", cursor="01J", limit=50)
    sql, params = list_sql(query, POSTGRES, event_types=["order.created", "order.paid"])
    numbers = [int(n) for n in re.findall(r"\$(\d+)", sql)]
    assert sorted(numbers) == list(range(1, len(params) + 1))
    assert params == ["stripe", "order.created", "01J", 50, "stripe", "order.paid", "01J", 50, 50]


def test_glob_matcher_is_case_sensitive_and_knows_two_wildcards() -> None:
    from hookyard.store.filters import glob_matcher, glob_to_sqlite_glob

    assert glob_matcher("order.*")("order.paid") and not glob_matcher("order.*")("Order.paid")
    assert glob_matcher("a?c")("abc") and not glob_matcher("a?c")("abbc")
    assert glob_matcher("a[1]*")("a[1]x") and not glob_matcher("a[1]*")("a1x")
    assert glob_matcher("a.b")("a.b") and not glob_matcher("a.b")("axb")
    assert glob_to_sqlite_glob("a[1]*") == "a[[]1]*"
