"""SQLite purges: candidates read off the event loop, deletions in the writer.

A batch's candidates are found on a reader connection (a walk of an index, in a
thread); the writer then checks them again inside its transaction, so an event that
got a new dispatch in between stays, and deletes the rest with a few set-based
statements. A dry run does the same checks on the reader and deletes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from hookyard.models import PurgeCounts, PurgeSelector
from hookyard.store.filters import ID_TIME_MARGIN_MS, lowest_id_at
from hookyard.store.sqlite.queries import Q


def _bounds(selector: PurgeSelector) -> dict[str, object]:
    high = lowest_id_at(selector.cutoff_us // 1000 + ID_TIME_MARGIN_MS + 1)
    values: dict[str, object] = {"high": high, "cutoff": selector.cutoff_us}
    if selector.sources is not None:
        kept = [s for s in selector.sources if s not in selector.excluded]
        values["sources"] = json.dumps(kept)
    else:
        values["excluded"] = json.dumps(list(selector.excluded))
    return values


def candidates(
    conn: sqlite3.Connection, selector: PurgeSelector, *, after: str, limit: int
) -> list[str]:
    name = "purge_candidates_in" if selector.sources is not None else "purge_candidates_except"
    params = {**_bounds(selector), "after": after, "limit": limit}
    return [row[0] for row in conn.execute(Q[name], params)]


def count_candidates(conn: sqlite3.Connection, selector: PurgeSelector) -> int:
    name = (
        "count_purge_candidates_in"
        if selector.sources is not None
        else "count_purge_candidates_except"
    )
    count: int = conn.execute(Q[name], _bounds(selector)).fetchone()[0]
    return count


def purge(
    conn: sqlite3.Connection,
    selector: PurgeSelector,
    ids: Sequence[str],
    *,
    now_us: int,
    dry_run: bool,
) -> PurgeCounts:
    """Delete (or count) the eligible events of ``ids`` and everything that hangs off them."""
    if not ids:
        return PurgeCounts()
    eligible = conn.execute(
        Q["purge_eligible"], {"ids": json.dumps(list(ids)), "dead": int(selector.dead)}
    ).fetchall()
    if not eligible:
        return PurgeCounts()
    event_ids = json.dumps([row[0] for row in eligible])
    dispatches = conn.execute(Q["purge_dispatches_of"], (event_ids,)).fetchall()
    dispatch_ids = json.dumps([row[0] for row in dispatches])
    idempotency = {row[0]: row[2] or row[0] for row in eligible}
    handler_keys = [(d[1], idempotency[d[2]], d[2]) for d in dispatches]
    handler_keys = list(dict.fromkeys(handler_keys))
    dedup_keys = [(row[1], row[2], row[0], now_us) for row in eligible if row[2] is not None]
    if dry_run:
        attempts = conn.execute(Q["purge_count_attempts"], (dispatch_ids,)).fetchone()[0]
        processed = sum(
            conn.execute(Q["purge_count_processed_key"], k).fetchone()[0] for k in handler_keys
        )
        dedup = sum(conn.execute(Q["purge_count_dedup_key"], k).fetchone()[0] for k in dedup_keys)
    else:
        attempts = conn.execute(Q["purge_delete_attempts"], (dispatch_ids,)).rowcount
        processed = conn.executemany(Q["purge_delete_processed_key"], handler_keys).rowcount
        dedup = conn.executemany(Q["purge_delete_dedup_key"], dedup_keys).rowcount
        conn.execute(Q["purge_delete_dispatches"], (dispatch_ids,))
        conn.execute(Q["purge_delete_redactions"], (event_ids,))
        conn.execute(Q["purge_delete_mirror_log"], (event_ids,))
        conn.execute(Q["purge_delete_events"], (event_ids,))
    return PurgeCounts(
        events=len(eligible),
        dispatches=len(dispatches),
        attempts=attempts,
        dedup_keys=max(dedup, 0),
        processed_keys=max(processed, 0),
    )


def stale_dedup_keys(conn: sqlite3.Connection, *, now_us: int, limit: int) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(Q["purge_stale_dedup_keys"], (now_us, limit))]


def delete_dedup_keys(
    conn: sqlite3.Connection, keys: Sequence[tuple[str, str]], *, now_us: int
) -> int:
    rows = [(source, key, now_us) for source, key in keys]
    return max(conn.executemany(Q["purge_delete_stale_dedup_key"], rows).rowcount, 0)


def finished_replay_batches(conn: sqlite3.Connection, *, before_us: int, limit: int) -> list[str]:
    return [r[0] for r in conn.execute(Q["purge_finished_replay_batches"], (before_us, limit))]


def delete_replay_batches(conn: sqlite3.Connection, ids: Sequence[str], *, before_us: int) -> int:
    """Deletes those of ``ids`` that still qualify (checked again in the writer)."""
    wanted = set(ids)
    still = [i for i in finished_replay_batches(conn, before_us=before_us, limit=-1) if i in wanted]
    if not still:
        return 0
    conn.execute(Q["purge_delete_replay_batches"], (json.dumps(still),))
    return len(still)
