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
    #: Dispatches waiting now, and when the oldest of them was created.
    backlog: int
    oldest_pending_us: int | None
    dead: int


def slots(rows: Iterable[tuple[int, int]], buckets: int) -> tuple[int, ...]:
    counts = [0] * buckets
    for slot, count in rows:
        if 0 <= slot < buckets:
            counts[slot] += count
    return tuple(counts)
