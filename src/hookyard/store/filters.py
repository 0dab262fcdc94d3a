"""Turn an EventFilter into a WHERE clause, for either dialect's placeholder style."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hookyard.models import EventFilter

SUMMARY_COLUMNS = (
    "id, source, received_us, method, path, body_size, body_sha256, content_type, verdict, "
    "verdict_reason, provider_event_id, event_type, status, duplicate_count"
)


def glob_to_like(pattern: str) -> str:
    """``order.*`` → ``order.%`` with LIKE's own wildcards escaped (escape char ``\\``)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def where_clause(query: EventFilter, placeholder: Callable[[int], str]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def add(sql: str, value: Any) -> None:
        params.append(value)
        clauses.append(sql.format(placeholder(len(params))))

    if query.source:
        add("source = {}", query.source)
    if query.event_type:
        if any(c in query.event_type for c in "*?"):
            add("event_type LIKE {} ESCAPE '\\'", glob_to_like(query.event_type))
        else:
            add("event_type = {}", query.event_type)
    if query.verdict:
        add("verdict = {}", query.verdict)
    if query.status:
        add("status = {}", query.status)
    if query.since_us is not None:
        add("received_us >= {}", query.since_us)
    if query.until_us is not None:
        add("received_us < {}", query.until_us)
    if query.cursor:
        add("id < {}", query.cursor)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_sql(query: EventFilter, placeholder: Callable[[int], str]) -> tuple[str, list[Any]]:
    where, params = where_clause(query, placeholder)
    params.append(query.limit)
    sql = (
        f"SELECT {SUMMARY_COLUMNS} FROM events{where} "
        f"ORDER BY id DESC LIMIT {placeholder(len(params))}"
    )
    return sql, params


DISPATCH_COLUMNS = (
    "id, event_id, destination, status, attempts, next_attempt_us, created_us, updated_us, "
    "replay_of, batch_id"
)


def dispatch_sql(
    *,
    status: str | None,
    destination: str | None,
    since_us: int | None,
    until_us: int | None,
    cursor: str | None,
    limit: int,
    placeholder: Callable[[int], str],
) -> tuple[str, list[Any]]:
    """Dispatches newest first (the dead-letter queue is ``status='dead'``)."""
    clauses: list[str] = []
    params: list[Any] = []
    for sql, value in (
        ("status = {}", status),
        ("destination = {}", destination),
        ("updated_us >= {}", since_us),
        ("updated_us < {}", until_us),
        ("id < {}", cursor),
    ):
        if value is not None:
            params.append(value)
            clauses.append(sql.format(placeholder(len(params))))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    params.append(limit)
    return (
        f"SELECT {DISPATCH_COLUMNS} FROM dispatches{where} ORDER BY id DESC "
        f"LIMIT {placeholder(len(params))}",
        params,
    )
