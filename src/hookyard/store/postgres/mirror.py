"""PostgreSQL side of the mirror log. One lane per mirror holds a session-level advisory
lock on a connection of its own, so however many ``hookyard mirror`` or ``serve``
processes run, each mirror has one reader of its cursor; the lock goes with the
connection if the process dies."""

from __future__ import annotations

from collections.abc import Sequence

from hookyard.keyring import Keyring
from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState, MirrorPair
from hookyard.models import DeliveryEvent
from hookyard.store.base import ReleaseLane
from hookyard.store.mirror_rows import copy_row, lane_from_row, merged_counts, pair_from_row
from hookyard.store.postgres.connection import connect
from hookyard.store.postgres.queries import Conn, Q
from hookyard.store.rows import replay_payload_from_row

#: The advisory lock space of mirror lanes (the first key of the two-key form).
LANE_LOCK_SPACE = 0x6D697272  # "mirr"


async def candidates(
    conn: Conn,
    *,
    sources: Sequence[str],
    after: MirrorCursor | None,
    until_us: int,
    limit: int,
    keyring: Keyring,
) -> list[DeliveryEvent]:
    rows = await conn.fetch(
        Q["mirror_candidates"],
        -1 if after is None else after.received_us,
        "" if after is None else after.event_id,
        until_us,
        list(sources),
        limit,
    )
    return [replay_payload_from_row(row, keyring) for row in rows]


async def lane(conn: Conn, mirror: str) -> MirrorLaneState | None:
    row = await conn.fetchrow(Q["mirror_lane"], mirror)
    return None if row is None else lane_from_row(row)


async def record(
    conn: Conn,
    mirror: str,
    copies: Sequence[MirrorCopyRecord],
    cursor: MirrorCursor | None,
    now_us: int,
    lag_us: int | None,
) -> None:
    async with conn.transaction():
        if copies:
            # A batch names each event once; the last row of an event wins if not.
            rows = {(c.mirror, c.event_id): copy_row(c) for c in copies}.values()
            columns = (list(column) for column in zip(*rows, strict=True))
            await conn.execute(Q["insert_mirror_copies"], *columns)
        counts = await conn.fetchval(Q["lock_mirror_lane"], mirror, now_us)
        await conn.execute(
            Q["save_mirror_lane"],
            mirror,
            None if cursor is None else cursor.received_us,
            None if cursor is None else cursor.event_id,
            now_us,
            merged_counts(counts, copies),
            lag_us,
        )


async def pairs(
    conn: Conn,
    mirror: str,
    *,
    compare_with: str | None,
    since_us: int,
    source: str | None,
    event_ids: Sequence[str] | None,
    with_bodies: bool,
) -> list[MirrorPair]:
    rows = await conn.fetch(
        Q["mirror_pairs"],
        mirror,
        compare_with,
        since_us,
        source,
        None if event_ids is None else list(event_ids),
        with_bodies,
    )
    return [pair_from_row(row) for row in rows]


async def hold_lane(url: str, mirror: str) -> ReleaseLane | None:
    conn = await connect(url)
    try:
        held = await conn.fetchval(
            "SELECT pg_try_advisory_lock($1::int4, hashtext($2))", LANE_LOCK_SPACE, mirror
        )
    except BaseException:
        await conn.close()
        raise
    if not held:
        await conn.close()
        return None

    async def release() -> None:
        await conn.close()  # a session lock ends with its session

    return release
