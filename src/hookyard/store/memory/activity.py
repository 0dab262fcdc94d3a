"""The in-memory side of the Overview's counts (:mod:`hookyard.store.activity`)."""

from __future__ import annotations

from hookyard.store.activity import BACKLOG_STATUSES, Activity, slots
from hookyard.store.memory.tables import Tables


def activity(t: Tables, since_us: int, bucket_us: int, buckets: int) -> Activity:
    def slot(at_us: int) -> int:
        return (at_us - since_us) // bucket_us

    received = [
        (slot(e.submission.request.received_us), 1)
        for e in t.events.values()
        if e.submission.request.received_us >= since_us
    ]
    attempts = [a for log in t.attempts.values() for a in log.values() if a.started_us >= since_us]
    ok = [(slot(a.started_us), 1) for a in attempts if 200 <= (a.status_code or 0) <= 299]
    bad = [(slot(a.started_us), 1) for a in attempts if not 200 <= (a.status_code or 0) <= 299]
    waiting = [d for d in t.dispatches.values() if d.status in BACKLOG_STATUSES]
    due = [
        d.next_attempt_us
        for d in waiting
        if d.status in ("pending", "retrying") and d.next_attempt_us is not None
    ]
    return Activity(
        since_us=since_us,
        bucket_us=bucket_us,
        received=slots(received, buckets),
        delivered=slots(ok, buckets),
        failed=slots(bad, buckets),
        backlog=len(waiting),
        oldest_due_us=min(due, default=None),
        dead=sum(1 for d in t.dispatches.values() if d.status == "dead"),
    )
