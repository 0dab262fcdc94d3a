"""PostgreSQL reads of more than one statement, as functions of a connection.

``Q`` holds the named statements of ``sql/postgres/queries.sql``, for every module
here. Each read is a few statements whatever the size of its answer: the attempts of a
page of dispatches come in one (``with_attempts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import asyncpg

from hookyard.keyring import Keyring
from hookyard.models import DispatchRecord, EventFilter, EventRecord, EventSummary
from hookyard.store import filters
from hookyard.store.rows import (
    Row,
    attach_attempts,
    record_from_row,
    redaction_from_row,
    summary_from_row,
)
from hookyard.store.sqlfiles import load_queries

Q = load_queries("postgres")
#: Where commits that make dispatches due notify workers (LISTEN/NOTIFY).
DISPATCH_CHANNEL = "hookyard_dispatch"
#: Where every ingest commit that stored events notifies the live stream (issue 19).
EVENTS_CHANNEL = "hookyard_events"

# A string: asyncpg's classes are generic only in its stubs.
Conn: TypeAlias = "asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]"
"""A connection of its own or one held from the pool."""


async def with_attempts(conn: Conn, dispatches: Sequence[Row]) -> list[DispatchRecord]:
    """The dispatches with their attempts, read in one more statement (none when empty)."""
    if not dispatches:
        return []
    ids = [row[0] for row in dispatches]
    return attach_attempts(dispatches, await conn.fetch(Q["attempts_of_dispatches"], ids))


async def get_event(conn: Conn, event_id: str, keyring: Keyring) -> EventRecord | None:
    row = await conn.fetchrow(Q["get_event"], event_id)
    if row is None:
        return None
    dispatches = await conn.fetch(Q["event_dispatches"], event_id)
    redacted = redaction_from_row(await conn.fetchrow(Q["get_redaction"], event_id))
    return record_from_row(row, await with_attempts(conn, dispatches), keyring, redacted)


async def list_events(conn: Conn, query: EventFilter) -> list[EventSummary]:
    types = None
    if query.event_type and filters.is_glob(query.event_type):
        stored = [r[0] for r in await conn.fetch(filters.POSTGRES.distinct_types_sql)]
        types = filters.types_to_search(query.event_type, stored)
        if types == []:
            return []
    sql, params = filters.list_sql(query, filters.POSTGRES, event_types=types)
    return [summary_from_row(row) for row in await conn.fetch(sql, *params)]


async def list_dispatches(
    conn: Conn,
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
        placeholder=lambda n: f"${n}",
    )
    return await with_attempts(conn, await conn.fetch(sql, *params))


async def replay_batch_dispatches(
    conn: Conn, batch_id: str, status: str, limit: int
) -> list[DispatchRecord]:
    rows = await conn.fetch(Q["replay_batch_dispatches"], batch_id, status, limit)
    return await with_attempts(conn, rows)


# -- live events and listeners (issue 19) -------------------------------------------------


async def stream_events(
    conn: Conn, query: EventFilter, *, after: str | None, before: str, limit: int
) -> list[EventSummary]:
    sql, params = filters.stream_sql(
        query, filters.POSTGRES, after=after, before=before, limit=limit
    )
    return [summary_from_row(row) for row in await conn.fetch(sql, *params)]
