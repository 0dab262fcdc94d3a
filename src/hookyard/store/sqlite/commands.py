"""SQLite writes other than ingest's: functions run inside the writer's transaction.

Claims, attempts, leases, destination state and replay records go through the one
writer connection (``SqliteStore.run_in_writer``), between ingest batches, so each is
a few statements.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from hookyard.keyring import Keyring
from hookyard.models import (
    AttemptRecord,
    ClaimedDispatch,
    DestinationActivity,
    ReplayBatch,
    ReplayResult,
)
from hookyard.store.policy import replay_counts
from hookyard.store.rows import attempt_row, claimed_from_row, replay_batch_row, replay_dispatch_row
from hookyard.store.sqlite.queries import Q


def claim_due(
    conn: sqlite3.Connection,
    worker_id: str,
    *,
    now_us: int,
    lease_us: int,
    limit: int,
    destinations: Sequence[str],
    keyring: Keyring,
) -> list[ClaimedDispatch]:
    ids = [
        row[0]
        for row in conn.execute(
            Q["claim_due"],
            {
                "owner": worker_id,
                "expires": now_us + lease_us,
                "now": now_us,
                "names": json.dumps(list(destinations)),
                "limit": limit,
            },
        ).fetchall()
    ]
    if not ids:
        return []
    rows = conn.execute(Q["claimed_rows"], (json.dumps(ids),)).fetchall()
    return [claimed_from_row(row, keyring) for row in rows]


def record_attempt(
    conn: sqlite3.Connection,
    worker_id: str,
    attempt: AttemptRecord,
    *,
    status: str,
    processed_key: tuple[str, str, str] | None,
) -> bool:
    row = conn.execute(
        Q["finish_attempt"],
        (
            status,
            attempt.next_attempt_us,
            attempt.status_code,
            attempt.started_us,
            attempt.dispatch_id,
            worker_id,
        ),
    ).fetchone()
    if row is None:
        return False
    conn.execute(Q["insert_attempt"], attempt_row(attempt))
    if processed_key is not None:
        conn.execute(Q["insert_processed_key"], (*processed_key, attempt.started_us))
    conn.execute(Q["refresh_event_status"], (row[0], row[0]))
    return True


def release_leases(conn: sqlite3.Connection, worker_id: str, *, now_us: int) -> int:
    return conn.execute(Q["release_leases"], (now_us, now_us, worker_id)).rowcount


def postpone(
    conn: sqlite3.Connection, worker_id: str, dispatch_id: str, *, next_attempt_us: int, now_us: int
) -> None:
    conn.execute(Q["postpone"], (next_attempt_us, now_us, dispatch_id, worker_id))


def set_destination_mode(
    conn: sqlite3.Connection, name: str, state: str, *, reason: str, now_us: int
) -> int:
    conn.execute(Q["set_destination_mode"], (name, state, int(state == "disabled"), reason, now_us))
    if state == "active":
        rows = conn.execute(Q["release_held"], (now_us, now_us, name)).fetchall()
    else:
        rows = conn.execute(Q["hold_dispatches"], _hold(name, state, now_us)).fetchall()
    _refresh_events(conn, {r[0] for r in rows})
    return len(rows)


def _hold(name: str, state: str, now_us: int) -> dict[str, object]:
    return {"name": name, "state": state, "now": now_us}


def hold_dispatches(conn: sqlite3.Connection, name: str, state: str, *, now_us: int) -> int:
    rows = conn.execute(Q["hold_dispatches"], _hold(name, state, now_us)).fetchall()
    _refresh_events(conn, {r[0] for r in rows})
    return len(rows)


def note_destination_activity(
    conn: sqlite3.Connection, reports: Sequence[DestinationActivity], *, now_us: int
) -> None:
    conn.executemany(
        Q["note_destination_activity"],
        [
            {
                "name": r.name,
                "now": now_us,
                "circuit": r.circuit,
                "until": r.circuit_until_us,
                "success": r.last_success_us,
                "error_at": r.last_error_us,
                "error": r.last_error,
            }
            for r in reports
        ],
    )


def _refresh_events(conn: sqlite3.Connection, event_ids: set[str]) -> None:
    for event_id in event_ids:
        conn.execute(Q["refresh_event_status"], (event_id, event_id))


def retry_dead(conn: sqlite3.Connection, dispatch_ids: Sequence[str], *, now_us: int) -> int:
    rows = conn.execute(
        Q["retry_dead"], (now_us, now_us, json.dumps(list(dispatch_ids)))
    ).fetchall()
    for event_id in {r[0] for r in rows}:
        conn.execute(Q["refresh_event_status"], (event_id, event_id))
    return len(rows)


# -- replay --------------------------------------------------------------------------------


def create_replay_batch(conn: sqlite3.Connection, batch: ReplayBatch) -> None:
    conn.execute(Q["insert_replay_batch"], replay_batch_row(batch))


def record_replay_results(
    conn: sqlite3.Connection,
    batch_id: str,
    results: Sequence[ReplayResult],
    *,
    missing: int,
    now_us: int,
) -> None:
    dispatches = [replay_dispatch_row(r, batch_id, now_us) for r in results]
    attempts = [attempt_row(r.attempt) for r in results]
    keys = [(*r.processed_key, r.attempt.started_us) for r in results if r.processed_key]
    delivered, failed, skipped = replay_counts(results, missing)
    conn.executemany(Q["insert_replay_dispatch"], dispatches)
    conn.executemany(Q["insert_attempt"], attempts)
    conn.executemany(Q["insert_processed_key"], keys)
    conn.execute(Q["count_replay_results"], (delivered, failed, skipped, now_us, batch_id))


def finish_replay_batch(
    conn: sqlite3.Connection, batch_id: str, status: str, *, now_us: int, error: str | None
) -> None:
    conn.execute(Q["finish_replay_batch"], (status, now_us, now_us, error, batch_id))


def record_listener_results(
    conn: sqlite3.Connection,
    name: str,
    batch_id: str,
    results: Sequence[ReplayResult],
    *,
    cursor: str | None,
    now_us: int,
) -> None:
    record_replay_results(conn, batch_id, results, missing=0, now_us=now_us)
    if cursor is not None:
        conn.execute(Q["save_listener_cursor"], (name, cursor, now_us))
