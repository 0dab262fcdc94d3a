"""SQLite reads: functions of a connection (a read-only one of the store's pool).

``Q`` holds the named statements of ``sql/sqlite/queries.sql``, for every module here.
Each read is a few statements whatever the size of its answer: the attempts of a page
of dispatches come in one (``with_attempts``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from hookyard.keyring import Keyring
from hookyard.models import (
    AuditEntry,
    DeliveryEvent,
    DestinationState,
    DispatchRecord,
    EventFilter,
    EventRecord,
    EventSummary,
    ReplayBatch,
)
from hookyard.store import filters
from hookyard.store.rows import (
    Row,
    attach_attempts,
    audit_from_row,
    backlog_from_rows,
    body_from_row,
    destination_state_from_row,
    outcomes_from_rows,
    record_from_row,
    redaction_from_row,
    replay_batch_from_row,
    replay_payload_from_row,
    summary_from_row,
)
from hookyard.store.sqlfiles import load_queries

Q = load_queries("sqlite")
#: Event ids per ``known_event_ids`` statement.
KNOWN_IDS_CHUNK = 10_000


def with_attempts(conn: sqlite3.Connection, dispatches: list[Row]) -> list[DispatchRecord]:
    """The dispatches with their attempts, read in one more statement (none when empty)."""
    if not dispatches:
        return []
    ids = json.dumps([row[0] for row in dispatches])
    return attach_attempts(dispatches, conn.execute(Q["attempts_of_dispatches"], (ids,)))


def get_event(conn: sqlite3.Connection, event_id: str, keyring: Keyring) -> EventRecord | None:
    row = conn.execute(Q["get_event"], (event_id,)).fetchone()
    if row is None:
        return None
    dispatches = conn.execute(Q["event_dispatches"], (event_id,)).fetchall()
    redacted = redaction_from_row(conn.execute(Q["get_redaction"], (event_id,)).fetchone())
    return record_from_row(row, with_attempts(conn, dispatches), keyring, redacted)


def get_body(conn: sqlite3.Connection, event_id: str, keyring: Keyring) -> tuple[bytes, str] | None:
    row = conn.execute(Q["get_body"], (event_id,)).fetchone()
    return None if row is None else body_from_row(event_id, row, keyring)


def list_events(conn: sqlite3.Connection, query: EventFilter) -> list[EventSummary]:
    types = None
    if query.event_type and filters.is_glob(query.event_type):
        stored = [r[0] for r in conn.execute(filters.SQLITE.distinct_types_sql)]
        types = filters.types_to_search(query.event_type, stored)
        if types == []:
            return []
    sql, params = filters.list_sql(query, filters.SQLITE, event_types=types)
    return [summary_from_row(row) for row in conn.execute(sql, params)]


def count_events(conn: sqlite3.Connection) -> int:
    count: int = conn.execute(Q["count_events"]).fetchone()[0]
    return count


def list_dispatches(
    conn: sqlite3.Connection,
    *,
    status: str | None,
    destination: str | None,
    since_us: int | None,
    until_us: int | None,
    cursor: str | None,
    limit: int,
) -> list[DispatchRecord]:
    sql, params = filters.dispatch_sql(
        status=status,
        destination=destination,
        since_us=since_us,
        until_us=until_us,
        cursor=cursor,
        limit=limit,
        placeholder=lambda _: "?",
    )
    return with_attempts(conn, conn.execute(sql, params).fetchall())


def known_event_ids(conn: sqlite3.Connection, event_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(event_ids), KNOWN_IDS_CHUNK):
        chunk = json.dumps(list(event_ids[start : start + KNOWN_IDS_CHUNK]))
        found.update(row[0] for row in conn.execute(Q["known_event_ids"], (chunk,)))
    return found


# -- delivery and replay -------------------------------------------------------------------


def is_processed(conn: sqlite3.Connection, destination: str, key: str) -> bool:
    return conn.execute(Q["is_processed"], (destination, key)).fetchone() is not None


def disabled_destinations(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute(Q["disabled_destinations"]).fetchall())


def destination_states(conn: sqlite3.Connection) -> dict[str, DestinationState]:
    rows = conn.execute(Q["destination_states"]).fetchall()
    return {row[0]: destination_state_from_row(row) for row in rows}


def destination_backlog(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    return backlog_from_rows(conn.execute(Q["destination_backlog"]).fetchall())


def destination_outcomes(conn: sqlite3.Connection, since_us: int) -> dict[str, tuple[int, int]]:
    return outcomes_from_rows(conn.execute(Q["destination_outcomes"], {"since": since_us}))


def list_audit(
    conn: sqlite3.Connection,
    *,
    action: str | None,
    since_us: int | None,
    cursor: str | None,
    limit: int,
) -> list[AuditEntry]:
    rows = conn.execute(
        Q["list_audit"], {"action": action, "since": since_us, "cursor": cursor, "limit": limit}
    ).fetchall()
    return [audit_from_row(row) for row in rows]


def list_replay_batches(
    conn: sqlite3.Connection, *, cursor: str | None, limit: int
) -> list[ReplayBatch]:
    rows = conn.execute(Q["list_replay_batches"], {"cursor": cursor, "limit": limit}).fetchall()
    return [replay_batch_from_row(row) for row in rows]


def replay_payloads(
    conn: sqlite3.Connection, event_ids: Sequence[str], keyring: Keyring
) -> list[DeliveryEvent]:
    rows = conn.execute(Q["replay_payloads"], (json.dumps(list(event_ids)),)).fetchall()
    return [replay_payload_from_row(row, keyring) for row in rows]


def get_replay_batch(conn: sqlite3.Connection, batch_id: str) -> ReplayBatch | None:
    row = conn.execute(Q["get_replay_batch"], (batch_id,)).fetchone()
    return None if row is None else replay_batch_from_row(row)


def replay_batch_dispatches(
    conn: sqlite3.Connection, batch_id: str, status: str, limit: int
) -> list[DispatchRecord]:
    rows = conn.execute(Q["replay_batch_dispatches"], (batch_id, status, limit))
    return with_attempts(conn, rows.fetchall())


# -- live events and listeners (issue 19) -------------------------------------------------


def stream_events(
    conn: sqlite3.Connection, query: EventFilter, *, after: str | None, before: str, limit: int
) -> list[EventSummary]:
    sql, params = filters.stream_sql(query, filters.SQLITE, after=after, before=before, limit=limit)
    return [summary_from_row(row) for row in conn.execute(sql, params)]


def listener_cursor(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute(Q["listener_cursor"], (name,)).fetchone()
    return None if row is None else str(row[0])
