"""PostgreSQL side of the Overview's counts (:mod:`hookyard.store.activity`)."""

from __future__ import annotations

from hookyard.store.activity import Activity, earliest, slots
from hookyard.store.postgres.queries import Conn, Q


async def activity(conn: Conn, since_us: int, bucket_us: int, buckets: int) -> Activity:
    received = await conn.fetch(Q["activity_received"], since_us, bucket_us)
    attempts = await conn.fetch(Q["activity_attempts"], since_us, bucket_us)
    backlog = await conn.fetchrow(Q["activity_backlog"])
    dead = await conn.fetchval(Q["activity_dead"])
    assert backlog is not None  # an aggregate always answers one row
    return Activity(
        since_us=since_us,
        bucket_us=bucket_us,
        received=slots(((r[0], r[1]) for r in received), buckets),
        delivered=slots(((r[0], r[1]) for r in attempts), buckets),
        failed=slots(((r[0], r[2]) for r in attempts), buckets),
        backlog=backlog[0],
        oldest_due_us=earliest(backlog[1], backlog[2]),
        dead=dead,
    )
