"""SQLite side of the Overview's counts (:mod:`hookyard.store.activity`)."""

from __future__ import annotations

import sqlite3

from hookyard.store.activity import Activity, earliest, slots
from hookyard.store.sqlite.queries import Q


def activity(conn: sqlite3.Connection, since_us: int, bucket_us: int, buckets: int) -> Activity:
    window = {"since": since_us, "bucket": bucket_us}
    received = conn.execute(Q["activity_received"], window).fetchall()
    attempts = conn.execute(Q["activity_attempts"], window).fetchall()
    backlog, pending, retrying = conn.execute(Q["activity_backlog"]).fetchone()
    (dead,) = conn.execute(Q["activity_dead"]).fetchone()
    return Activity(
        since_us=since_us,
        bucket_us=bucket_us,
        received=slots(((int(s), int(n)) for s, n in received), buckets),
        delivered=slots(((int(s), int(ok)) for s, ok, _ in attempts), buckets),
        failed=slots(((int(s), int(bad)) for s, _, bad in attempts), buckets),
        backlog=int(backlog),
        oldest_due_us=earliest(pending, retrying),
        dead=int(dead),
    )
