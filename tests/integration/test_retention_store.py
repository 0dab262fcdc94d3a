"""Retention on every backend (``store``: memory, SQLite, PostgreSQL): what a purge takes,
what it keeps, and what hangs off a purged event."""

from __future__ import annotations

import asyncio
import time

import pytest

from hookyard.ids import new_id
from hookyard.models import (
    AttemptRecord,
    PurgeCounts,
    PurgeSelector,
    ReplayBatch,
    ReplayResult,
    WriteResult,
)
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission

DAY_US = 86_400 * 1_000_000
NOW = time.time_ns() // 1000
OLD = NOW - 40 * DAY_US
EVERYTHING_OLD = PurgeSelector(cutoff_us=NOW - 30 * DAY_US)
DEAD_OLD = PurgeSelector(cutoff_us=NOW - 30 * DAY_US, dead=True)


async def stored(store: Store, *, received_us: int = OLD, **kwargs: object) -> str:
    result: WriteResult = await store.submit(submission(received_us=received_us, **kwargs))  # type: ignore[arg-type]
    return result.id


async def deliver(
    store: Store, destination: str, status: str, *, key: tuple[str, str] | None = None
) -> list[str]:
    """Claim everything due for ``destination`` and record one attempt of ``status``."""
    claimed = await store.claim_due(
        "w", now_us=NOW, lease_us=60_000_000, limit=100, destinations=[destination]
    )
    for c in claimed:
        attempt = AttemptRecord(
            c.dispatch_id, 1, NOW, 1.0, 200, (), b"ok", None, None, status, None
        )
        processed = None if key is None else (key[0], key[1], c.event_id)
        assert await store.record_attempt("w", attempt, status=status, processed_key=processed)
    return [c.event_id for c in claimed]


async def purge_all(
    store: Store, selector: PurgeSelector, *, dry_run: bool = False, limit: int = 500
) -> PurgeCounts:
    total, after = PurgeCounts(), ""
    while True:
        step = await store.purge_events(
            selector, now_us=NOW, after=after, limit=limit, dry_run=dry_run
        )
        total += step.counts
        if step.last_id is None:
            return total
        after = step.last_id


async def test_old_events_go_and_recent_ones_stay(store: Store) -> None:
    old = [await stored(store) for _ in range(3)]
    recent = await stored(store, received_us=NOW - DAY_US)
    counts = await purge_all(store, EVERYTHING_OLD)
    assert counts.events == 3
    for event_id in old:
        assert await store.get_event(event_id) is None
        assert await store.get_body(event_id) is None
    assert await store.get_event(recent) is not None
    assert await store.count_events() == 1


async def test_an_event_with_a_dispatch_to_deliver_stays(store: Store) -> None:
    waiting = await stored(store, destinations=("slow",))
    delivered = await stored(store, destinations=("fast",))
    await deliver(store, "fast", "delivered")
    counts = await purge_all(store, EVERYTHING_OLD)
    assert counts == PurgeCounts(events=1, dispatches=1, attempts=1)
    assert await store.get_event(delivered) is None
    assert await store.get_event(waiting) is not None
    assert [d.event_id for d in await store.list_dispatches()] == [waiting]


async def test_retrying_in_flight_and_disabled_dispatches_keep_their_events(store: Store) -> None:
    retrying = await stored(store, destinations=("r",))
    await deliver(store, "r", "retrying")
    in_flight = await stored(store, destinations=("f",))
    await store.claim_due("w", now_us=NOW, lease_us=60_000_000, limit=10, destinations=["f"])
    held = await stored(store, destinations=("off",))
    await store.set_destination_disabled("off", True, reason="410", now_us=NOW)
    assert (await purge_all(store, EVERYTHING_OLD)).events == 0
    for event_id in (retrying, in_flight, held):
        assert await store.get_event(event_id) is not None


async def test_dead_letters_have_a_pass_of_their_own(store: Store) -> None:
    dead = await stored(store, destinations=("d",))
    await deliver(store, "d", "dead")
    done = await stored(store)
    assert (await purge_all(store, EVERYTHING_OLD)).events == 1
    assert await store.get_event(dead) is not None and await store.get_event(done) is None
    assert (await purge_all(store, DEAD_OLD)).events == 1
    assert await store.get_event(dead) is None
    assert await store.list_dispatches(status="dead") == []


async def test_a_pass_takes_only_its_sources(store: Store) -> None:
    a = await stored(store, source="a")
    b = await stored(store, source="b")
    c = await stored(store, source="c")
    only_a = PurgeSelector(cutoff_us=EVERYTHING_OLD.cutoff_us, sources=("a",))
    assert await store.count_purge_candidates(only_a) == 1
    assert (await purge_all(store, only_a)).events == 1
    not_b = PurgeSelector(cutoff_us=EVERYTHING_OLD.cutoff_us, excluded=("b",))
    assert (await purge_all(store, not_b)).events == 1
    assert [await store.get_event(i) is None for i in (a, b, c)] == [True, False, True]


async def test_a_dry_run_counts_what_a_run_deletes_and_deletes_nothing(store: Store) -> None:
    for _ in range(3):
        await stored(store, destinations=("x",))
    await deliver(store, "x", "delivered")
    await stored(store, provider_id="evt_old", window_s=60)
    dry = await purge_all(store, EVERYTHING_OLD, dry_run=True)
    assert await store.count_events() == 4
    real = await purge_all(store, EVERYTHING_OLD)
    assert dry == real == PurgeCounts(events=4, dispatches=3, attempts=3, dedup_keys=1)
    assert await store.count_events() == 0


async def test_batches_walk_every_candidate_once(store: Store) -> None:
    kept = await stored(store, destinations=("slow",))
    gone = [await stored(store) for _ in range(5)]
    first = await store.purge_events(EVERYTHING_OLD, now_us=NOW, after="", limit=2, dry_run=False)
    assert first.examined == 2 and first.last_id is not None
    rest = await purge_all(store, EVERYTHING_OLD, limit=2)
    assert first.counts.events + rest.events == 5
    assert all([await store.get_event(i) is None for i in gone])
    assert await store.get_event(kept) is not None


async def test_a_dedup_key_stays_until_its_window_ends(store: Store) -> None:
    # The window of the first is long past; the second's runs for ever (100 years).
    expired = await stored(store, provider_id="evt_a", window_s=60)
    current = await stored(store, provider_id="evt_b", window_s=100 * 365 * 86400)
    assert (await purge_all(store, EVERYTHING_OLD)).dedup_keys == 1
    assert {await store.get_event(expired), await store.get_event(current)} == {None}
    again = await store.submit(submission(provider_id="evt_b"))
    assert again.duplicate_of == current  # still recognised as a repeat
    fresh = await store.submit(submission(provider_id="evt_a"))
    assert not fresh.duplicate
    assert await store.purge_dedup_keys(now_us=NOW, limit=100, dry_run=False) == 0


async def test_leftover_dedup_keys_are_swept_once_their_window_ends(store: Store) -> None:
    # Received 40 days ago with a 20-day window; a purge run on the day after receipt
    # (inside the window) takes the event and leaves its key.
    await stored(store, provider_id="evt_l", window_s=20 * 86400)
    inside_window = OLD + DAY_US
    step = await store.purge_events(
        PurgeSelector(cutoff_us=inside_window + 1),
        now_us=inside_window,
        after="",
        limit=10,
        dry_run=False,
    )
    assert step.counts.events == 1 and step.counts.dedup_keys == 0
    assert await store.purge_dedup_keys(now_us=inside_window, limit=10, dry_run=False) == 0
    assert await store.purge_dedup_keys(now_us=NOW, limit=10, dry_run=True) == 1
    assert await store.purge_dedup_keys(now_us=NOW, limit=10, dry_run=False) == 1
    assert await store.purge_dedup_keys(now_us=NOW, limit=10, dry_run=False) == 0


async def test_handler_keys_go_with_their_event(store: Store) -> None:
    event_id = await stored(store, destinations=("py",))
    await deliver(store, "py", "delivered", key=("py", event_id))
    assert await store.is_processed("py", event_id)
    assert (await purge_all(store, EVERYTHING_OLD)).processed_keys == 1
    assert not await store.is_processed("py", event_id)


async def test_replays_go_with_their_event_and_finished_batches_after(store: Store) -> None:
    event_id = await stored(store)
    batch = ReplayBatch(new_id(), OLD, {"ids": [event_id]}, "original", 1, "running")
    await store.create_replay_batch(batch)
    dispatch_id = new_id()
    attempt = AttemptRecord(dispatch_id, 1, OLD, 1.0, 500, (), b"", None, None, "failed", None)
    result = ReplayResult(dispatch_id, event_id, "x", "failed", attempt)
    await store.record_replay_results(batch.id, [result], now_us=OLD)
    running = ReplayBatch(new_id(), OLD, {"ids": []}, "original", 0, "running")
    await store.create_replay_batch(running)
    cutoff = EVERYTHING_OLD.cutoff_us
    # A batch with a dispatch left stays; so does one still running.
    assert await store.purge_replay_batches(before_us=cutoff, limit=10, dry_run=False) == 0
    await store.finish_replay_batch(batch.id, "done", now_us=OLD)
    assert await store.purge_replay_batches(before_us=cutoff, limit=10, dry_run=False) == 0
    assert await purge_all(store, EVERYTHING_OLD) == PurgeCounts(events=1, dispatches=1, attempts=1)
    assert await store.replay_batch_dispatches(batch.id, status="failed") == []
    assert await store.purge_replay_batches(before_us=cutoff, limit=10, dry_run=True) == 1
    assert await store.purge_replay_batches(before_us=cutoff, limit=10, dry_run=False) == 1
    assert await store.get_replay_batch(batch.id) is None
    assert await store.get_replay_batch(running.id) is not None


async def test_purge_beside_ingest_loses_no_new_event(store: Store) -> None:
    for _ in range(300):
        await stored(store)

    async def ingest() -> list[str]:
        ids = []
        for _ in range(200):
            ids.append((await store.submit(submission())).id)
            await asyncio.sleep(0)
        return ids

    new_ids, counts = await asyncio.gather(ingest(), purge_all(store, EVERYTHING_OLD, limit=20))
    assert counts.events == 300
    assert await store.count_events() == 200
    assert await store.known_event_ids(new_ids) == set(new_ids)


async def test_the_purge_lock_is_held_by_one_run(store: Store) -> None:
    async with store.purge_lock() as held:
        assert held


@pytest.mark.parametrize("backend", ["postgres"])
async def test_on_postgres_one_process_purges_at_a_time(backend: str, pg_url: str) -> None:
    first, second = open_store(pg_url), open_store(pg_url)
    await first.start()
    await second.start()
    try:
        async with first.purge_lock() as held:
            assert held
            async with second.purge_lock() as also:
                assert not also
        async with second.purge_lock() as now_free:
            assert now_free
    finally:
        await first.close()
        await second.close()


async def test_mirror_log_rows_go_with_their_event(store: Store) -> None:
    from hookyard.mirror.records import MirrorCopyRecord

    old, recent = await stored(store), await stored(store, received_us=NOW - DAY_US)
    rows = [
        MirrorCopyRecord("staging", event_id, "demo", None, at, at, status_code=200)
        for event_id, at in ((old, OLD), (recent, NOW - DAY_US))
    ]
    await store.record_mirror_copies("staging", rows, cursor=None, now_us=NOW)
    await purge_all(store, EVERYTHING_OLD)
    kept = await store.mirror_pairs("staging", compare_with=None, since_us=0)
    assert [p.copy.event_id for p in kept] == [recent]


async def test_the_background_run_purges_then_redacts(store: Store) -> None:
    from hookyard.redaction.fields import FieldRedaction
    from hookyard.retention.policy import RetentionPolicy
    from hookyard.retention.service import RetentionService

    gone = await stored(store)
    kept = await stored(store, received_us=NOW - 10 * DAY_US)
    service = RetentionService(
        store,
        RetentionPolicy(default=30 * 86400.0),
        interval=3600,
        redactions=[FieldRedaction("demo", ("type",), 86400.0)],
    )
    progress = await service.run_once()
    assert progress is not None and progress.counts.events == 1
    assert service.runs == 1
    assert await store.get_event(gone) is None
    record = await store.get_event(kept)
    assert record is not None and record.redaction is not None
    assert await store.get_body(kept) == (b'{"type":"[redacted]"}', "application/json")
