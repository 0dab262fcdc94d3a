"""Turn an EventFilter into a WHERE clause, for either dialect's placeholder style.

The dispatch filters (``destination``, ``response_status``) are one correlated
``EXISTS`` on ``dispatches``, so both must hold for the same dispatch: "an event whose
delivery to billing last got a 5xx", not "an event with some dispatch to billing and
some other dispatch that got a 5xx". Migration 0003 indexes
``dispatches (event_id, destination, last_status_code)`` for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hookyard.filtering import status_code_range
from hookyard.models import EventFilter

_SUMMARY = (
    "id, source, received_us, method, path, body_size, body_sha256, content_type, verdict, "
    "verdict_reason, provider_event_id, event_type, {status}, {duplicate_count}"
)
SUMMARY_COLUMNS = _SUMMARY.format(status="status", duplicate_count="duplicate_count")
STATUS_TABLE_COLUMNS = _SUMMARY.format(
    status="(SELECT s.status FROM event_status s WHERE s.event_id = events.id) AS status",
    duplicate_count="(SELECT s.duplicate_count FROM event_status s "
    "WHERE s.event_id = events.id) AS duplicate_count",
)
"""The summary columns where the status and the repeat count have a table of their own
(PostgreSQL): looked up for the rows of the page only, so the rest of the plan is that
of ``events`` alone."""


def glob_to_like(pattern: str) -> str:
    """``order.*`` → ``order.%`` with LIKE's own wildcards escaped (escape char ``\\``)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def glob_to_sqlite_glob(pattern: str) -> str:
    """Our globs have two wildcards, ``*`` and ``?``; SQLite's GLOB also reads ``[...]``
    as a character class, so a literal ``[`` becomes the class ``[[]``."""
    return pattern.replace("[", "[[]")


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """The glob as a predicate on one type, case-sensitive like PostgreSQL's LIKE."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    compiled = re.compile(regex, re.DOTALL)
    return lambda value: compiled.fullmatch(value) is not None


def is_glob(event_type: str) -> bool:
    return any(c in event_type for c in "*?")


MAX_MERGED_TYPES = 32
"""A glob matching more stored types than this is common: a walk back from the newest
event finds a page quickly, and one search per type would cost more."""
MAX_DISTINCT_TYPES = 10_000


def types_to_search(glob: str, stored: Sequence[str]) -> list[str] | None:
    """The stored types ``glob`` matches, when few enough to search one by one; ``None``
    when it matches too many, or ``stored`` was cut off at ``MAX_DISTINCT_TYPES``."""
    if len(stored) > MAX_DISTINCT_TYPES:
        return None
    matches = glob_matcher(glob)
    found = [t for t in stored if matches(t)]
    return found if len(found) <= MAX_MERGED_TYPES else None


def _distinct_types_sql(first: str, after: str) -> str:
    """Every stored event type, one index search each (a "loose index scan")."""
    return f"""
WITH RECURSIVE types(t) AS (
    {first}
    UNION ALL
    SELECT ({after}) FROM types WHERE types.t IS NOT NULL
)
SELECT t FROM types WHERE t IS NOT NULL LIMIT {MAX_DISTINCT_TYPES + 1}
"""


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the backends' SQL for event lists."""

    placeholder: Callable[[int], str]
    type_glob_sql: str
    """``event_type`` matches the pattern ``{}``, written by ``type_glob_pattern``."""
    type_glob_pattern: Callable[[str], str]
    status_table: bool
    """Statuses live in ``event_status`` (PostgreSQL), not in a column of ``events``."""
    distinct_types_sql: str


SQLITE = Dialect(
    placeholder=lambda _: "?",
    # GLOB, not LIKE: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    type_glob_sql="event_type GLOB {}",
    type_glob_pattern=glob_to_sqlite_glob,
    status_table=False,
    distinct_types_sql=_distinct_types_sql(
        "SELECT min(event_type) FROM events",
        "SELECT min(event_type) FROM events WHERE event_type > types.t",
    ),
)
POSTGRES = Dialect(
    placeholder=lambda n: f"${n}",
    type_glob_sql="event_type LIKE {} ESCAPE '\\'",
    type_glob_pattern=glob_to_like,
    status_table=True,
    # The type index orders by bytes (text_pattern_ops, migration 0009): its operators.
    distinct_types_sql=_distinct_types_sql(
        "SELECT (SELECT event_type FROM events WHERE event_type IS NOT NULL "
        "ORDER BY event_type USING ~<~ LIMIT 1)",
        "SELECT e.event_type FROM events e WHERE e.event_type ~>~ types.t "
        "ORDER BY e.event_type USING ~<~ LIMIT 1",
    ),
)


ID_TIME_MARGIN_MS = 5 * 60 * 1000
"""How far an id's clock may trail its ``received_us`` (a clock stepped back mid-request)."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def lowest_id_at(ms: int) -> str:
    """The smallest id (ULID) minted at millisecond ``ms``: 48 bits of time, 80 zero bits."""
    value = max(ms, 0) << 80
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -5, -5))


def where_clause(
    query: EventFilter, dialect: Dialect, *, params: list[Any] | None = None
) -> tuple[str, list[Any]]:
    """``params``: a list to go on from (placeholders number on from its length)."""
    clauses: list[str] = []
    params = [] if params is None else params
    placeholder = dialect.placeholder

    def add(sql: str, value: Any) -> None:
        params.append(value)
        clauses.append(sql.format(placeholder(len(params))))

    def bind(value: Any) -> str:
        params.append(value)
        return placeholder(len(params))

    if query.source:
        add("source = {}", query.source)
    if query.event_type:
        if is_glob(query.event_type):
            add(dialect.type_glob_sql, dialect.type_glob_pattern(query.event_type))
        else:
            add("event_type = {}", query.event_type)
    if query.verdict:
        add("verdict = {}", query.verdict)
    if query.status and dialect.status_table:
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
    query: EventFilter, dialect: Dialect, *, event_types: Sequence[str] | None = None
) -> tuple[str, list[Any]]:
    """A page of events, newest first.

    ``event_types``: the stored types that the query's type glob matches (see
    ``types_to_search``). The page is then merged from one ordered index search per type,
    each stopping at the page size, instead of a walk back through every event that a
    rare glob (or one matching nothing) turns into a read of the whole table.
    """
    columns = STATUS_TABLE_COLUMNS if dialect.status_table else SUMMARY_COLUMNS
    placeholder = dialect.placeholder
    if event_types is None:
        where, params = where_clause(query, dialect)
        params.append(query.limit)
        limit = placeholder(len(params))
        return f"SELECT {columns} FROM events{where} ORDER BY id DESC LIMIT {limit}", params
    params = []
    searches = []
    for number, event_type in enumerate(event_types):
        where, params = where_clause(replace(query, event_type=event_type), dialect, params=params)
        params.append(query.limit)
        searches.append(
            f"SELECT id FROM (SELECT id FROM events{where} ORDER BY id DESC "
            f"LIMIT {placeholder(len(params))}) AS t{number}"
        )
    params.append(query.limit)
    limit = placeholder(len(params))
    merged = " UNION ALL ".join(searches)
    page = f"SELECT id FROM ({merged}) AS merged ORDER BY id DESC LIMIT {limit}"
    return f"SELECT {columns} FROM events WHERE id IN ({page}) ORDER BY id DESC", params


def stream_sql(
    query: EventFilter, dialect: Dialect, *, after: str | None, before: str, limit: int
) -> tuple[str, list[Any]]:
    """Events matching ``query`` with ``after < id < before``, oldest first (the live stream)."""
    columns = STATUS_TABLE_COLUMNS if dialect.status_table else SUMMARY_COLUMNS
    where, params = where_clause(replace(query, cursor=None), dialect)
    bounds = []
    for sql, value in (("id > {}", after), ("id < {}", before)):
        if value is not None:
            params.append(value)
            bounds.append(sql.format(dialect.placeholder(len(params))))
    where = (where + " AND " if where else " WHERE ") + " AND ".join(bounds)
    params.append(limit)
    limit_sql = dialect.placeholder(len(params))
    return f"SELECT {columns} FROM events{where} ORDER BY id LIMIT {limit_sql}", params


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
    # The page's ids first, then their rows: the ids of one status (or destination) come
    # from a covering index, so only the rows shown are read, not every dead one to sort.
    return (
        f"SELECT {DISPATCH_COLUMNS} FROM dispatches WHERE id IN "
        f"(SELECT id FROM dispatches{where} ORDER BY id DESC LIMIT {placeholder(len(params))}) "
        "ORDER BY id DESC",
        params,
    )
