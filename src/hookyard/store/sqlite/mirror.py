"""SQLite side of the mirror log: reads on a pooled connection, writes in the writer's
transaction, and the one-lane-per-mirror hold as an advisory file lock beside the
database (SQLite has no advisory locks; every process that opens the file sees it)."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
from collections.abc import Sequence

from hookyard.keyring import Keyring
from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState, MirrorPair
from hookyard.models import DeliveryEvent
from hookyard.store.base import ReleaseLane
from hookyard.store.mirror_rows import (
    copy_row,
    cursor_params,
    lane_from_row,
    merged_counts,
    pair_from_row,
)
from hookyard.store.rows import replay_payload_from_row
from hookyard.store.sqlite.queries import Q


def candidates(
    conn: sqlite3.Connection,
    *,
    sources: Sequence[str],
    after: MirrorCursor | None,
    until_us: int,
    limit: int,
    keyring: Keyring,
) -> list[DeliveryEvent]:
    rows = conn.execute(
        Q["mirror_candidates"],
        {
            "after_us": -1 if after is None else after.received_us,
            "after_id": "" if after is None else after.event_id,
            "until_us": until_us,
            "sources": json.dumps(list(sources)),
            "limit": limit,
        },
    )
    return [replay_payload_from_row(row, keyring) for row in rows]


def lane(conn: sqlite3.Connection, mirror: str) -> MirrorLaneState | None:
    row = conn.execute(Q["mirror_lane"], (mirror,)).fetchone()
    return None if row is None else lane_from_row(row)


def record(
    conn: sqlite3.Connection,
    mirror: str,
    copies: Sequence[MirrorCopyRecord],
    cursor: MirrorCursor | None,
    now_us: int,
    lag_us: int | None,
) -> None:
    conn.executemany(Q["insert_mirror_copy"], [copy_row(copy) for copy in copies])
    row = conn.execute(Q["mirror_lane"], (mirror,)).fetchone()
    conn.execute(
        Q["save_mirror_lane"],
        {
            "mirror": mirror,
            "now": now_us,
            "counts": merged_counts(None if row is None else row[4], copies),
            "lag_us": lag_us,
            **cursor_params(cursor),
        },
    )


def pairs(
    conn: sqlite3.Connection,
    mirror: str,
    *,
    compare_with: str | None,
    since_us: int,
    source: str | None,
    event_ids: Sequence[str] | None,
    with_bodies: bool,
) -> list[MirrorPair]:
    rows = conn.execute(
        Q["mirror_pairs"],
        {
            "mirror": mirror,
            "destination": compare_with,
            "since": since_us,
            "source": source,
            "ids": None if event_ids is None else json.dumps(list(event_ids)),
            "bodies": with_bodies,
        },
    )
    return [pair_from_row(row) for row in rows]


async def hold_lane(database_path: str, mirror: str) -> ReleaseLane | None:
    path = f"{database_path}.mirror-{mirror}.lock"

    def take() -> int | None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    fd = await asyncio.to_thread(take)
    if fd is None:
        return None

    async def release() -> None:
        os.close(fd)  # closing drops the lock; the file stays for the next holder

    return release
