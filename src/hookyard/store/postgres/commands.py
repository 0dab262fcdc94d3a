"""PostgreSQL writes of more than one statement, run inside the caller's transaction.

Ingest batches and attempts go through ``writer``; these are the rest: destination
state (with its held dispatches), the dead-letter retry, and a group of replay results.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookyard.models import ReplayResult
from hookyard.store.policy import replay_counts
from hookyard.store.postgres.queries import DISPATCH_CHANNEL, Conn, Q
from hookyard.store.rows import attempt_row


async def refresh_event_status(conn: Conn, event_id: str) -> None:
    """Recompute an event's status from its dispatches, inside the caller's transaction.

    The function (migrations 0005, 0007) locks the event's status row first: two
    dispatches of one event finishing together would otherwise both store "retrying"
    (write skew).
    """
    await conn.execute(Q["refresh_event_status"], event_id)


async def set_destination_mode(
    conn: Conn, name: str, state: str, *, reason: str, now_us: int
) -> int:
    await conn.execute(Q["set_destination_mode"], name, state, state == "disabled", reason, now_us)
    if state == "active":
        rows = await conn.fetch(Q["release_held"], now_us, now_us, name)
    else:
        rows = await conn.fetch(Q["hold_dispatches"], state, now_us, name)
    for event_id in {r[0] for r in rows}:
        await refresh_event_status(conn, event_id)
    if state == "active" and rows:
        await conn.execute("SELECT pg_notify($1, '')", DISPATCH_CHANNEL)
    return len(rows)


async def hold_dispatches(conn: Conn, name: str, state: str, *, now_us: int) -> int:
    rows = await conn.fetch(Q["hold_dispatches"], state, now_us, name)
    for event_id in {r[0] for r in rows}:
        await refresh_event_status(conn, event_id)
    return len(rows)


async def retry_dead(conn: Conn, dispatch_ids: Sequence[str], *, now_us: int) -> int:
    rows = await conn.fetch(Q["retry_dead"], now_us, list(dispatch_ids))
    for event_id in {r[0] for r in rows}:
        await refresh_event_status(conn, event_id)
    if rows:
        await conn.execute("SELECT pg_notify($1, '')", DISPATCH_CHANNEL)
    return len(rows)


async def record_replay_results(
    conn: Conn, batch_id: str, results: Sequence[ReplayResult], *, missing: int, now_us: int
) -> None:
    attempts = [attempt_row(r.attempt) for r in results]
    delivered, failed, skipped = replay_counts(results, missing)
    if results:
        await conn.execute(
            Q["insert_replay_dispatches"],
            [r.dispatch_id for r in results],
            [r.event_id for r in results],
            [r.destination for r in results],
            [r.status for r in results],
            [r.attempt.started_us for r in results],
            [r.attempt.status_code for r in results],
            now_us,
            batch_id,
        )
        # One array per attempts column, in insert_attempt's order.
        columns = [list(column) for column in zip(*attempts, strict=True)]
        await conn.execute(Q["insert_replay_attempts"], *columns)
    keys = [(*r.processed_key, r.attempt.started_us) for r in results if r.processed_key]
    if keys:
        await conn.executemany(Q["insert_processed_key"], keys)
    await conn.execute(Q["count_replay_results"], delivered, failed, skipped, now_us, batch_id)
