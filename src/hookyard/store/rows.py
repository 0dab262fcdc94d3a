"""Rows (same column order in both dialects) to model objects."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from hookyard.models import (
    AttemptRecord,
    DispatchRecord,
    EventRecord,
    EventSummary,
    decode_headers,
)


class Row(Protocol):
    """A result row of either driver: sqlite3 tuples and asyncpg Records both index by position."""

    def __getitem__(self, index: int, /) -> Any: ...


def summary_from_row(row: Row) -> EventSummary:
    return EventSummary(
        id=row[0],
        source=row[1],
        received_us=row[2],
        method=row[3],
        path=row[4],
        body_size=row[5],
        body_sha256=row[6],
        content_type=row[7],
        verdict=row[8],
        verdict_reason=row[9],
        provider_event_id=row[10],
        event_type=row[11],
        status=row[12],
        duplicate_count=row[13],
    )


def record_from_row(row: Row, dispatches: Sequence[DispatchRecord]) -> EventRecord:
    return EventRecord(
        summary=summary_from_row(row),
        remote_addr=row[14],
        query_string=bytes(row[15]),
        headers=decode_headers(bytes(row[16])),
        secret_index=row[17],
        last_duplicate_us=row[18],
        verdict_detail=json.loads(row[19]),
        dispatches=tuple(dispatches),
    )


def dispatch_from_row(row: Row, attempts: Sequence[AttemptRecord]) -> DispatchRecord:
    return DispatchRecord(
        id=row[0],
        event_id=row[1],
        destination=row[2],
        status=row[3],
        attempts=row[4],
        next_attempt_us=row[5],
        created_us=row[6],
        updated_us=row[7],
        replay_of=row[8],
        batch_id=row[9],
        attempt_log=tuple(attempts),
    )


def attempt_from_row(row: Row) -> AttemptRecord:
    return AttemptRecord(
        dispatch_id=row[0],
        number=row[1],
        started_us=row[2],
        latency_ms=row[3],
        status_code=row[4],
        response_headers=tuple((str(n), str(v)) for n, v in json.loads(row[5])),
        response_excerpt=bytes(row[6]),
        error_class=row[7],
        error_message=row[8],
        decision=row[9],
        next_attempt_us=row[10],
    )


def attach_attempts(dispatches: Iterable[Row], attempts: Iterable[Row]) -> list[DispatchRecord]:
    """Dispatch rows, in their order, each with its attempts in number order.

    ``attempts`` are the rows of ``attempts_of_dispatches`` for all of them: one query for
    a page of dispatches instead of one per dispatch.
    """
    by_dispatch: dict[str, list[AttemptRecord]] = {}
    for row in attempts:
        attempt = attempt_from_row(row)
        by_dispatch.setdefault(attempt.dispatch_id, []).append(attempt)
    for found in by_dispatch.values():
        found.sort(key=lambda a: a.number)
    return [dispatch_from_row(row, by_dispatch.get(row[0], ())) for row in dispatches]
