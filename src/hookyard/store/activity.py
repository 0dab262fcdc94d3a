"""What the dashboard's Overview reads: the last hour in buckets, from the store (so the
charts survive a restart), and the delivery backlog now.

``slots`` turns the ``(slot, count)`` rows a backend's GROUP BY gives into one count per
bucket, oldest first; the backends only count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Dispatch statuses still waiting for a delivery.
BACKLOG_STATUSES = ("pending", "retrying", "in_flight")


@dataclass(frozen=True, slots=True)
class Activity:
    since_us: int
    bucket_us: int
    #: Requests received per bucket (every verdict).
    received: tuple[int, ...]
    #: Attempts per bucket answered 2xx, and every other attempt.
    delivered: tuple[int, ...]
    failed: tuple[int, ...]
    #: Dispatches waiting now, and the earliest time one of them (pending or retrying)
    #: was due: how long the most overdue has waited.
    backlog: int
    oldest_due_us: int | None
    dead: int


def earliest(*times: int | None) -> int | None:
    return min((t for t in times if t is not None), default=None)


def slots(rows: Iterable[tuple[int, int]], buckets: int) -> tuple[int, ...]:
    counts = [0] * buckets
    for slot, count in rows:
        if 0 <= slot < buckets:
            counts[slot] += count
    return tuple(counts)
