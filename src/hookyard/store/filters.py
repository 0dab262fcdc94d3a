"""Turn an EventFilter into a WHERE clause, for either dialect's placeholder style.

The dispatch filters (``destination``, ``response_status``) are one correlated
``EXISTS`` on ``dispatches``, so both must hold for the same dispatch: "an event whose
delivery to billing last got a 5xx", not "an event with some dispatch to billing and
some other dispatch that got a 5xx". Migration 0003 indexes
``dispatches (event_id, destination, last_status_code)`` for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hookyard.models import EventFilter

_SUMMARY = (
    "id, source, received_us, method, path, body_size, body_sha256, content_type, verdict, "
    "verdict_reason, provider_event_id, event_type, {status}, duplicate_count"
)
SUMMARY_COLUMNS = _SUMMARY.format(status="status")
STATUS_TABLE_COLUMNS = _SUMMARY.format(
    status="(SELECT s.status FROM event_status s WHERE s.event_id = events.id) AS status"
)
"""The summary columns where the status has a table of its own (PostgreSQL): looked up
for the rows of the page only, so the rest of the plan is that of ``events`` alone."""


def glob_to_like(pattern: str) -> str:
    """``order.*`` → ``order.%`` with LIKE's own wildcards escaped (escape char ``\\``)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


ID_TIME_MARGIN_MS = 5 * 60 * 1000
"""How far an id's clock may trail its ``received_us`` (a clock stepped back mid-request)."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def lowest_id_at(ms: int) -> str:
    """The smallest id (ULID) minted at millisecond ``ms``: 48 bits of time, 80 zero bits."""
    value = max(ms, 0) << 80
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -5, -5))


def status_code_range(text: str) -> tuple[int, int]:
    """``"5xx"`` → ``(500, 599)``, ``"404"`` → ``(404, 404)``; ValueError otherwise."""
    value = text.strip().lower()
    if len(value) == 3 and value[0] in "12345" and value[1:] == "xx":
        low = int(value[0]) * 100
        return low, low + 99
    if len(value) == 3 and value.isascii() and value.isdigit() and 100 <= int(value) <= 599:
        return int(value), int(value)
    raise ValueError(f"expected a status class like 5xx or a code from 100 to 599, got {text!r}")


def where_clause(
    query: EventFilter, placeholder: Callable[[int], str], *, status_table: bool = False
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def add(sql: str, value: Any) -> None:
        params.append(value)
        clauses.append(sql.format(placeholder(len(params))))

    def bind(value: Any) -> str:
        params.append(value)
        return placeholder(len(params))

    if query.source:
        add("source = {}", query.source)
    if query.event_type:
        if any(c in query.event_type for c in "*?"):
            add("event_type LIKE {} ESCAPE '\\'", glob_to_like(query.event_type))
        else:
            add("event_type = {}", query.event_type)
    if query.verdict:
        add("verdict = {}", query.verdict)
    if query.status and status_table:
        add("id IN (SELECT event_id FROM event_status WHERE status = {})", query.status)
    elif query.status:
        add("status = {}", query.status)
    if query.since_us is not None:
        add("received_us >= {}", query.since_us)
        # Implied by the line above, since an id is minted at receipt (its time is never
        # before received_us, give or take a stepped clock): it lets an index on
        # (column, id) answer "type X in the last hour" with a range scan.
        add("id >= {}", lowest_id_at(query.since_us // 1000 - ID_TIME_MARGIN_MS))
    if query.until_us is not None:
        add("received_us < {}", query.until_us)
        # The same reasoning bounds the id from above, so a window in the past is a range
        # scan instead of a walk back from the newest event.
        add("id < {}", lowest_id_at(query.until_us // 1000 + ID_TIME_MARGIN_MS + 1))
    if query.cursor:
        add("id < {}", query.cursor)
    if query.destination or query.response_status:
        inner = ["d.event_id = events.id"]
        if query.destination:
            inner.append(f"d.destination = {bind(query.destination)}")
        if query.response_status:
            low, high = status_code_range(query.response_status)
            if low == high:
                inner.append(f"d.last_status_code = {bind(low)}")
            else:
                inner.append(f"d.last_status_code BETWEEN {bind(low)} AND {bind(high)}")
        clauses.append(f"EXISTS (SELECT 1 FROM dispatches d WHERE {' AND '.join(inner)})")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_sql(
    query: EventFilter, placeholder: Callable[[int], str], *, status_table: bool = False
) -> tuple[str, list[Any]]:
    """``status_table``: the backend keeps event statuses in ``event_status``."""
    where, params = where_clause(query, placeholder, status_table=status_table)
    params.append(query.limit)
    columns = STATUS_TABLE_COLUMNS if status_table else SUMMARY_COLUMNS
    sql = f"SELECT {columns} FROM events{where} ORDER BY id DESC LIMIT {placeholder(len(params))}"
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
