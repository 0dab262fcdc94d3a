"""Mirror log rows, both ways, for the SQL backends (sqlite3 tuples and asyncpg Records)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState, MirrorPair
from hookyard.store.rows import Row


def copy_row(copy: MirrorCopyRecord) -> tuple[Any, ...]:
    return (
        copy.mirror,
        copy.event_id,
        copy.source,
        copy.event_type,
        copy.received_us,
        copy.sent_us,
        copy.reason,
        copy.body_sha256,
        copy.status_code,
        copy.error_class,
        copy.error_message,
        copy.latency_ms,
        json.dumps([list(pair) for pair in copy.response_headers]),
        copy.response_excerpt,
    )


def _headers(text: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(n), str(v)) for n, v in json.loads(text or "[]"))


def copy_from_row(row: Row) -> MirrorCopyRecord:
    return MirrorCopyRecord(
        mirror=row[0],
        event_id=row[1],
        source=row[2],
        event_type=row[3],
        received_us=row[4],
        sent_us=row[5],
        reason=row[6],
        body_sha256=row[7],
        status_code=row[8],
        error_class=row[9],
        error_message=row[10],
        latency_ms=row[11],
        response_headers=_headers(row[12]),
        response_excerpt=bytes(row[13] or b""),
    )


def pair_from_row(row: Row) -> MirrorPair:
    return MirrorPair(
        copy=copy_from_row(row),
        production_status=row[14],
        production_code=row[15],
        production_headers=_headers(row[16]),
        production_excerpt=bytes(row[17] or b""),
    )


def lane_from_row(row: Row) -> MirrorLaneState:
    cursor = None if row[1] is None else MirrorCursor(row[1], row[2])
    counts = dict(json.loads(row[4] or "{}"))
    return MirrorLaneState(row[0], cursor, row[3], counts, lag_us=row[5])


def merged_counts(stored: str | None, copies: Sequence[MirrorCopyRecord]) -> str:
    """The lane's counts by outcome with ``copies`` added, as the JSON the row keeps."""
    counts: dict[str, int] = dict(json.loads(stored or "{}"))
    add_counts(counts, copies)
    return json.dumps(counts, sort_keys=True)


def add_counts(counts: dict[str, int], copies: Sequence[MirrorCopyRecord]) -> None:
    for copy in copies:
        counts[copy.outcome] = counts.get(copy.outcome, 0) + 1


def cursor_params(cursor: MirrorCursor | None) -> Mapping[str, Any]:
    return {
        "cursor_us": None if cursor is None else cursor.received_us,
        "cursor_id": None if cursor is None else cursor.event_id,
    }
