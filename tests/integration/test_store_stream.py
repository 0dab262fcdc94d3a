"""The live stream's reads and the listeners' cursors, on every backend (issue 19)."""

from __future__ import annotations

import asyncio

import pytest

from hookyard.clock import now_us
from hookyard.ids import new_id
from hookyard.models import AttemptRecord, EventFilter, ReplayBatch, ReplayResult
from hookyard.store.base import Store
from hookyard.store.filters import lowest_id_at
from support.factories import submission

FAR = lowest_id_at(2**47)  # later than any id minted today


async def test_stream_reads_oldest_first_between_bounds_with_filters(store: Store) -> None:
    ids = [(await store.submit(submission(source="a" if n % 2 else "b"))).id for n in range(6)]
    everything = await store.stream_events(EventFilter(), after=None, before=FAR, limit=100)
    assert [e.id for e in everything] == ids
    after_two = await store.stream_events(EventFilter(), after=ids[1], before=FAR, limit=2)
    assert [e.id for e in after_two] == ids[2:4]
    below = await store.stream_events(EventFilter(), after=ids[0], before=ids[3], limit=100)
    assert [e.id for e in below] == ids[1:3]
    only_a = await store.stream_events(EventFilter(source="a"), after=None, before=FAR, limit=9)
    assert [e.id for e in only_a] == ids[1::2]
    # The list's page cursor and limit are the stream's own business, never the filter's.
    ignored = EventFilter(cursor=ids[0], limit=1)
    assert len(await store.stream_events(ignored, after=None, before=FAR, limit=100)) == 6


async def test_stream_type_glob(store: Store) -> None:
    await store.submit(submission(event_type="invoice.paid"))
    wanted = await store.submit(submission(event_type="order.created"))
    found = await store.stream_events(
        EventFilter(event_type="order.*"), after=None, before=FAR, limit=10
    )
    assert [e.id for e in found] == [wanted.id]


async def test_listen_for_events_wakes_on_a_commit(store: Store) -> None:
    woken = asyncio.Event()
    stop = await store.listen_for_events(woken.set)
    try:
        await asyncio.sleep(0.1)  # the watch has taken its first look
        woken.clear()
        await store.submit(submission())
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        await stop()


def _result(event_id: str, status: str = "delivered") -> ReplayResult:
    dispatch_id = new_id()
    attempt = AttemptRecord(
        dispatch_id, 1, now_us(), 1.5, 200, (), b"ok", None, None, f"{status}: HTTP 200", None
    )
    return ReplayResult(dispatch_id, event_id, "local:dev", status, attempt)  # type: ignore[arg-type]


async def test_listener_results_and_cursor_in_one_go(store: Store) -> None:
    assert await store.listener_cursor("dev") is None
    first = await store.submit(submission())
    second = await store.submit(submission())
    batch = ReplayBatch(
        id=new_id(),
        created_us=now_us(),
        selection={"listener": "dev"},
        target="local:dev",
        total=0,
        status="running",
        updated_us=now_us(),
        options={"local": True},
    )
    await store.create_replay_batch(batch)
    results = [_result(first.id), _result(second.id, "failed")]
    await store.record_listener_results("dev", batch.id, results, cursor=second.id, now_us=now_us())
    assert await store.listener_cursor("dev") == second.id
    assert await store.listener_cursor("other") is None
    record = await store.get_event(first.id)
    assert record is not None
    [local] = record.dispatches
    assert (local.destination, local.replay_of, local.batch_id) == ("local:dev", first.id, batch.id)
    stored = await store.get_replay_batch(batch.id)
    assert stored is not None and (stored.delivered, stored.failed) == (1, 1)
    # Results without a cursor leave it where it was; a later cursor replaces it.
    await store.record_listener_results("dev", batch.id, [], cursor=None, now_us=now_us())
    assert await store.listener_cursor("dev") == second.id
    await store.record_listener_results("dev", batch.id, [], cursor=first.id, now_us=now_us())
    assert await store.listener_cursor("dev") == first.id


@pytest.mark.postgres
async def test_a_lost_listen_connection_is_opened_again(pg_url: str) -> None:
    import asyncpg

    from hookyard.store import open_store

    store = open_store(pg_url)
    await store.start()
    admin = await asyncpg.connect(pg_url)
    woken = asyncio.Event()
    stop = await store.listen_for_events(woken.set)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        assert killed >= 1
        await asyncio.wait_for(woken.wait(), 10)  # woken once it listens again
        woken.clear()
        await store.submit(submission())
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        await stop()
        await admin.close()
        await store.close()
