"""The Overview's counts on every backend: requests and attempts per bucket of a window,
the backlog with its oldest, and the dead letters."""

from __future__ import annotations

from hookyard.models import AttemptRecord
from hookyard.store.activity import slots
from hookyard.store.base import Store
from support.factories import submission

MINUTE = 60_000_000


async def test_counts_per_bucket_backlog_and_dead(store: Store) -> None:
    start = 1_700_000_000_000_000
    for minute in (0, 0, 1, 5):
        await store.submit(
            submission(received_us=start + minute * MINUTE + 1, destinations=("app",))
        )
    await store.submit(submission(received_us=start - MINUTE))  # before the window
    claimed = await store.claim_due(
        "w", now_us=start + 10 * MINUTE, lease_us=MINUTE, limit=2, destinations=("app",)
    )
    assert len(claimed) == 2
    ok, bad = claimed
    for dispatch, code, status, minute in ((ok, 200, "delivered", 2), (bad, 503, "dead", 3)):
        attempt = AttemptRecord(
            dispatch.dispatch_id,
            1,
            start + minute * MINUTE,
            5.0,
            code,
            (),
            b"",
            None,
            None,
            status,
            None,
        )
        assert await store.record_attempt("w", attempt, status=status)
    found = await store.activity(since_us=start, bucket_us=MINUTE, buckets=6)
    assert found.received == (2, 1, 0, 0, 0, 1)
    assert found.delivered == (0, 0, 1, 0, 0, 0)
    assert found.failed == (0, 0, 0, 1, 0, 0)
    assert found.backlog == 2 and found.dead == 1
    assert found.oldest_due_us is not None and found.oldest_due_us >= start - MINUTE


async def test_an_empty_store(store: Store) -> None:
    found = await store.activity(since_us=0, bucket_us=MINUTE, buckets=3)
    assert found.received == found.delivered == found.failed == (0, 0, 0)
    assert (found.backlog, found.oldest_due_us, found.dead) == (0, None, 0)


def test_slots_drop_rows_outside_the_window() -> None:
    assert slots([(0, 2), (2, 1), (-1, 5), (3, 7), (0, 1)], 3) == (3, 0, 1)
