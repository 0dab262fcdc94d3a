"""One behaviour suite for every storage backend (``store_url``: memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from hookyard.exceptions import StoreSaturated
from hookyard.keyring import PLAIN
from hookyard.models import EventFilter
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission
from support.pg import waits_for_a_lock

if TYPE_CHECKING:
    import asyncpg

BINARY = bytes(range(256)) * 4 + b"\xff\xfe\x00invalid utf-8 \xc3\x28"


async def test_round_trip_keeps_bytes_and_header_list(store: Store) -> None:
    headers = (
        (b"Content-Type", b"application/octet-stream"),
        (b"X-Dup", b"1"),
        (b"x-dup", b"2"),
        (b"X-Latin", "caf\u00e9".encode("latin-1")),
    )
    sub = submission(BINARY, headers=headers)
    result = await store.submit(sub)
    assert result.id == sub.request.id and not result.duplicate
    record = await store.get_event(result.id)
    assert record is not None
    assert record.headers == headers
    assert record.summary.body_sha256 == sub.request.body_sha256
    assert record.summary.body_size == len(BINARY)
    assert record.summary.status == "stored"
    assert await store.get_body(result.id) == (BINARY, "application/json")


async def test_unknown_event_is_none(store: Store) -> None:
    assert await store.get_event("01NOPE") is None
    assert await store.get_body("01NOPE") is None


async def test_repeat_of_provider_id_is_a_duplicate_counted_on_the_original(store: Store) -> None:
    first = await store.submit(submission(provider_id="evt_1"))
    again = await store.submit(submission(provider_id="evt_1"))
    assert again.duplicate_of == first.id
    record = await store.get_event(first.id)
    assert record is not None and record.summary.duplicate_count == 1
    assert record.last_duplicate_us is not None
    assert await store.get_event(again.id) is None  # a repeat is counted, not stored again
    assert await store.count_events() == 1


async def test_concurrent_identical_requests_store_exactly_one(store: Store) -> None:
    results = await asyncio.gather(
        *(store.submit(submission(provider_id="evt_c")) for _ in range(50))
    )
    originals = {r.duplicate_of or r.id for r in results}
    assert len(originals) == 1
    assert sum(not r.duplicate for r in results) == 1
    record = await store.get_event(originals.pop())
    assert record is not None and record.summary.duplicate_count == 49


async def test_dedup_is_per_source(store: Store) -> None:
    a = await store.submit(submission(provider_id="evt_s", source="a"))
    b = await store.submit(submission(provider_id="evt_s", source="b"))
    assert not a.duplicate and not b.duplicate


async def test_repeat_after_the_window_is_a_new_event(store: Store) -> None:
    first = await store.submit(submission(provider_id="evt_w", window_s=10, received_us=1_000_000))
    later = await store.submit(submission(provider_id="evt_w", window_s=10, received_us=12_000_000))
    assert not later.duplicate
    inside = await store.submit(
        submission(provider_id="evt_w", window_s=10, received_us=13_000_000)
    )
    assert inside.duplicate_of == later.id
    assert first.id != later.id


async def test_rejected_requests_are_stored_but_never_deduped_or_dispatched(store: Store) -> None:
    bad = await store.submit(
        submission(provider_id="evt_r", verdict="invalid", destinations=("sink",))
    )
    good = await store.submit(submission(provider_id="evt_r", destinations=("sink",)))
    assert not good.duplicate
    rejected = await store.get_event(bad.id)
    assert rejected is not None
    assert rejected.summary.status == "rejected" and rejected.dispatches == ()
    accepted = await store.get_event(good.id)
    assert accepted is not None and accepted.summary.status == "pending"
    assert [d.destination for d in accepted.dispatches] == ["sink"]


async def test_one_dispatch_per_destination_in_the_same_commit(store: Store) -> None:
    result = await store.submit(submission(destinations=("a", "b", "c")))
    record = await store.get_event(result.id)
    assert record is not None
    assert sorted(d.destination for d in record.dispatches) == ["a", "b", "c"]
    assert all(d.status == "pending" and d.attempts == 0 for d in record.dispatches)


async def test_list_filters_and_cursor_pagination(store: Store) -> None:
    ids = []
    for i in range(7):
        kind = "order.created" if i % 2 == 0 else "order.paid"
        sub = submission(
            source="shop" if i < 5 else "other",
            event_type=kind,
            received_us=1_000_000 * (i + 1),
            verdict="valid" if i != 3 else "invalid",
        )
        ids.append((await store.submit(sub)).id)
    newest_first = list(reversed(ids))
    page1 = await store.list_events(EventFilter(limit=3))
    page2 = await store.list_events(EventFilter(limit=3, cursor=page1[-1].id))
    page3 = await store.list_events(EventFilter(limit=3, cursor=page2[-1].id))
    assert [e.id for e in page1 + page2 + page3] == newest_first
    shop = await store.list_events(EventFilter(source="shop"))
    assert {e.id for e in shop} == set(ids[:5])
    created = await store.list_events(EventFilter(event_type="order.c*"))
    assert {e.id for e in created} == {ids[0], ids[2], ids[4], ids[6]}
    exact = await store.list_events(EventFilter(event_type="order.paid"))
    assert {e.id for e in exact} == {ids[1], ids[3], ids[5]}
    invalid = await store.list_events(EventFilter(verdict="invalid"))
    assert [e.id for e in invalid] == [ids[3]]
    window = await store.list_events(EventFilter(since_us=2_000_000, until_us=4_000_000))
    assert {e.id for e in window} == {ids[1], ids[2]}
    rejected = await store.list_events(EventFilter(status="rejected"))
    assert [e.id for e in rejected] == [ids[3]]


async def test_like_wildcards_in_types_are_literal(store: Store) -> None:
    await store.submit(submission(event_type="a_b"))
    await store.submit(submission(event_type="axb"))
    found = await store.list_events(EventFilter(event_type="a_*"))
    assert [e.event_type for e in found] == ["a_b"]


async def test_type_globs_select_the_same_events_on_every_backend(store: Store) -> None:
    """Case counts (SQLite's LIKE ignored it), ``[`` is literal, ``*`` and ``?`` are the
    only wildcards, and a glob matching no stored type finds nothing."""
    for event_type in ("order.paid", "Order.paid", "order.created", "a[1]", "a1", "refund.paid"):
        await store.submit(submission(event_type=event_type))

    async def types(glob: str) -> list[str | None]:
        return sorted(e.event_type for e in await store.list_events(EventFilter(event_type=glob)))  # type: ignore[type-var]

    assert await types("order.*") == ["order.created", "order.paid"]
    assert await types("*.paid") == ["Order.paid", "order.paid", "refund.paid"]
    assert await types("a[*") == ["a[1]"]
    assert await types("a?") == ["a1"]
    assert await types("order.?aid") == ["order.paid"]
    assert await types("nothing.*") == []
    newest = await store.list_events(EventFilter(event_type="*", limit=2))
    assert [e.event_type for e in newest] == ["refund.paid", "a1"]


@pytest.mark.parametrize(
    "store_url",
    [
        pytest.param("memory", marks=pytest.mark.skip(reason="not durable: gone once closed")),
        "sqlite",
        "postgres",
    ],
    indirect=True,
)
async def test_close_commits_everything_already_taken(store_url: str) -> None:
    store = open_store(store_url)
    await store.start()
    tasks = [asyncio.create_task(store.submit(submission())) for _ in range(200)]
    await asyncio.sleep(0)
    await store.close()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    stored = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, StoreSaturated) for r in refused)
    reopened = open_store(store_url)
    await reopened.start()
    try:
        assert await reopened.count_events() == len(stored)
        for r in stored:
            assert await reopened.get_event(r.id) is not None
    finally:
        await reopened.close()


async def test_full_queue_answers_saturated(store_url: str) -> None:
    store = open_store(store_url, queue_size=1)
    await store.start()
    try:
        results = await asyncio.gather(
            *(store.submit(submission()) for _ in range(20)), return_exceptions=True
        )
    finally:
        await store.close()
    saturated = [r for r in results if isinstance(r, StoreSaturated)]
    assert saturated, "a full queue must refuse"
    assert all(not isinstance(r, BaseException) or isinstance(r, StoreSaturated) for r in results)


async def test_migrations_are_idempotent(database_url: str) -> None:
    store = open_store(database_url)
    from hookyard.store.sqlfiles import load_migrations

    dialect = "sqlite" if database_url.startswith("sqlite") else "postgres"
    first = await store.migrate()
    assert await store.migrate() == []
    every = [m.version for m in load_migrations(dialect)]
    # Ascending without repeats; branches get numbers assigned ahead, so gaps may occur.
    assert every[0] == 1 and every == sorted(set(every))
    assert first in (every, [])  # [] when an earlier test already migrated this database


@pytest.mark.postgres
async def test_dedup_holds_across_processes(pg_url: str) -> None:
    """Two stores (as two ingest processes would) racing on one provider id store it once."""
    stores = [open_store(pg_url), open_store(pg_url)]
    for s in stores:
        await s.start()
    try:
        subs = [submission(provider_id=f"evt_x{i}") for i in range(30)]
        twins = [submission(provider_id=f"evt_x{i}") for i in range(30)]
        results = await asyncio.gather(
            *(stores[0].submit(s) for s in subs), *(stores[1].submit(s) for s in twins)
        )
        assert sum(not r.duplicate for r in results) == 30
        assert await stores[0].count_events() == 30
        originals = [await stores[0].get_event(r.id) for r in results if not r.duplicate]
        assert sum(e.summary.duplicate_count for e in originals if e) == 30  # each twin, once
    finally:
        for s in stores:
            await s.close()


async def _schema_at(conn: asyncpg.Connection, version: int) -> None:
    """A fresh schema ``upgrade`` holding the PostgreSQL migrations up to ``version``."""
    from hookyard.store.sqlfiles import load_migrations

    execute = conn.execute
    await execute("CREATE SCHEMA upgrade; SET search_path = upgrade")
    await execute(
        "CREATE TABLE schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)"
    )
    for migration in load_migrations("postgres"):
        if migration.version <= version:
            await execute(migration.sql)
            await execute(
                "INSERT INTO schema_migrations VALUES ($1, $2, 0)",
                migration.version,
                migration.name,
            )


@pytest.mark.postgres
async def test_moving_the_status_out_of_the_event_row_keeps_every_status(pg_url: str) -> None:
    """Migration 0007 on a database that already holds events: each keeps its status."""
    import asyncpg

    from hookyard.store.postgres.connection import apply_migrations
    from hookyard.store.sqlfiles import load_migrations

    conn = await asyncpg.connect(pg_url)
    try:
        await _schema_at(conn, 6)
        for event_id, status in (("e1", "dead"), ("e2", "delivered"), ("e3", "rejected")):
            await conn.execute(
                "INSERT INTO events (id, source, received_us, remote_addr, method, path, "
                "query_string, headers, body, body_sha256, body_size, content_type, verdict, "
                "verdict_reason, verdict_detail, status) VALUES ($1, 'demo', 0, '', 'POST', "
                "'/in/demo', '', '', '', '', 0, '', 'unsigned', '', '', $2)",
                event_id,
                status,
            )
        assert await apply_migrations(conn) == [m.version for m in load_migrations("postgres")][6:]
        rows = await conn.fetch("SELECT event_id, status FROM event_status ORDER BY event_id")
        assert [tuple(r) for r in rows] == [("e1", "dead"), ("e2", "delivered"), ("e3", "rejected")]
        column = "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'upgrade' "
        assert (
            await conn.fetchval(column + "AND table_name = 'events' AND column_name = 'status'")
            == 0
        )
    finally:
        await conn.execute("DROP SCHEMA IF EXISTS upgrade CASCADE")
        await conn.close()


@pytest.mark.postgres
async def test_moving_repeat_counts_to_the_status_row_keeps_them(pg_url: str) -> None:
    """Migration 0010 on a database that already counted repeats in the event row."""
    import asyncpg

    from hookyard.store.postgres.connection import apply_migrations

    conn = await asyncpg.connect(pg_url)
    try:
        await _schema_at(conn, 9)
        for event_id, count, last in (("e1", 0, None), ("e2", 3, 1_700_000_000_000_000)):
            await conn.execute(
                "INSERT INTO events (id, source, received_us, remote_addr, method, path, "
                "query_string, headers, body, body_sha256, body_size, content_type, verdict, "
                "verdict_reason, verdict_detail, duplicate_count, last_duplicate_us) VALUES "
                "($1, 'demo', 0, '', 'POST', '/in/demo', '', '', '', '', 0, '', 'unsigned', "
                "'', '', $2, $3)",
                event_id,
                count,
                last,
            )
            await conn.execute("INSERT INTO event_status VALUES ($1, 'stored')", event_id)
        assert (await apply_migrations(conn))[0] == 10  # then any later ones
        rows = await conn.fetch(
            "SELECT event_id, status, duplicate_count, last_duplicate_us FROM event_status "
            "ORDER BY event_id"
        )
        assert [tuple(r) for r in rows] == [
            ("e1", "stored", 0, None),
            ("e2", "stored", 3, 1_700_000_000_000_000),
        ]
        columns = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'upgrade' "
            "AND table_name = 'events' AND column_name LIKE '%duplicate%'"
        )
        assert columns == 0
    finally:
        await conn.execute("DROP SCHEMA IF EXISTS upgrade CASCADE")
        await conn.close()


@pytest.mark.postgres
async def test_postgres_counts_repeats_without_rewriting_the_event_row(pg_url: str) -> None:
    """A provider re-sending everything after an outage must not rewrite each wide event
    row (headers, body, five indexes): that made repeats four times slower than new
    events. ``xmin`` is the transaction that wrote a row version; any update changes it."""
    import asyncpg

    store = open_store(pg_url)
    await store.start()
    conn = await asyncpg.connect(pg_url)
    try:
        first = await store.submit(submission(provider_id="evt_storm"))
        version = await conn.fetchval("SELECT xmin::text FROM events WHERE id = $1", first.id)
        repeats = await asyncio.gather(
            *(store.submit(submission(provider_id="evt_storm")) for _ in range(5))
        )
        assert {r.duplicate_of for r in repeats} == {first.id}
        record = await store.get_event(first.id)
        assert record is not None and record.summary.duplicate_count == 5
        [listed] = await store.list_events(EventFilter())
        assert listed.duplicate_count == 5
        after = await conn.fetchval("SELECT xmin::text FROM events WHERE id = $1", first.id)
        assert after == version
    finally:
        await conn.close()
        await store.close()


@pytest.mark.postgres
async def test_counting_repeats_locks_status_rows_in_id_order(pg_url: str) -> None:
    """An attempt group locks its events' status rows in id order. An ingest batch
    counting repeats of the same events must take them in that order too, or the two
    can each hold one row and wait for the other (a deadlock, and a failed batch)."""
    import asyncpg

    from hookyard.store.postgres import PostgresStore
    from hookyard.store.postgres.writer import write_batch

    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    await store.start()
    group = await asyncpg.connect(pg_url)
    ingest = await asyncpg.connect(pg_url)
    try:
        low, high = sorted(
            [
                (await store.submit(submission(provider_id=key))).id
                for key in ("evt_order_a", "evt_order_b")
            ]
        )
        key_of = {
            event_id: key
            for event_id, key in await group.fetch(
                "SELECT event_id, provider_event_id FROM dedup_keys WHERE event_id = ANY($1)",
                [low, high],
            )
        }
        tx = group.transaction()
        await tx.start()
        lock = "SELECT 1 FROM event_status WHERE event_id = $1 FOR NO KEY UPDATE"
        await group.execute(lock, low)  # as an attempt group does: the lower id first
        # The batch names the higher id first.
        batch = [submission(provider_id=key_of[high]), submission(provider_id=key_of[low])]
        counting = asyncio.ensure_future(write_batch(ingest, batch))
        assert await waits_for_a_lock(group, ingest), (
            "the batch should be waiting for the lower id's row"
        )
        await group.execute("SET LOCAL lock_timeout = '3s'")
        await group.execute(lock, high)  # free: the batch holds nothing before the lower id
        await tx.commit()
        results = await counting
        assert [r.duplicate_of for r in results] == [high, low]
        for event_id in (low, high):
            record = await store.get_event(event_id)
            assert record is not None and record.summary.duplicate_count == 1
    finally:
        await group.close()
        await ingest.close()
        await store.close()


@pytest.mark.postgres
async def test_batches_claim_dedup_keys_in_key_order(pg_url: str) -> None:
    """Two writers claiming the same provider ids in opposite orders would each hold one
    key and wait for the other; claims in key order only ever wait, never in a cycle."""
    import asyncpg

    from hookyard.store.postgres import PostgresStore
    from hookyard.store.postgres.writer import write_batch

    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    await store.start()
    other = await asyncpg.connect(pg_url)
    ingest = await asyncpg.connect(pg_url)
    try:
        claim = (
            "INSERT INTO dedup_keys (source, provider_event_id, event_id, first_seen_us, "
            "expires_us) VALUES ('demo', $1, 'elsewhere', 0, 9000000000000000)"
        )
        tx = other.transaction()
        await tx.start()
        await other.execute(claim, "evt_key_a")  # another writer, the lower key first
        batch = [submission(provider_id="evt_key_b"), submission(provider_id="evt_key_a")]
        writing = asyncio.ensure_future(write_batch(ingest, batch))
        assert await waits_for_a_lock(other, ingest), (
            "the batch should be waiting for the lower key"
        )
        await other.execute("SET LOCAL lock_timeout = '3s'")
        await other.execute(claim, "evt_key_b")  # free: the batch holds nothing before it
        await tx.rollback()
        results = await writing
        assert [r.duplicate for r in results] == [False, False]
    finally:
        await other.close()
        await ingest.close()
        await store.close()


@pytest.mark.postgres
async def test_a_repeat_of_an_event_committed_during_its_batch_is_counted(pg_url: str) -> None:
    """Another writer's batch holds the provider id, uncommitted, when this batch starts:
    this one waits for it, then finds the key taken by a commit newer than its own
    snapshot, so its lookups see no original. The store looks it up again and counts it."""
    import asyncpg

    from hookyard.store.postgres import PostgresStore
    from hookyard.store.postgres.writer import write_batch

    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    await store.start()
    other = await asyncpg.connect(pg_url)
    ingest = await asyncpg.connect(pg_url)
    try:
        tx = other.transaction()
        await tx.start()
        [first] = await write_batch(other, [submission(provider_id="evt_late")])
        repeating = asyncio.ensure_future(write_batch(ingest, [submission(provider_id="evt_late")]))
        assert await waits_for_a_lock(other, ingest), (
            "the repeat's batch should be waiting for the other's key"
        )
        await tx.commit()
        [repeat] = await repeating
        assert repeat.duplicate_of == first.id
        record = await store.get_event(first.id)
        assert record is not None and record.summary.duplicate_count == 1
        assert record.last_duplicate_us is not None
    finally:
        await other.close()
        await ingest.close()
        await store.close()


# -- dispatches are read with their attempts in a fixed number of statements ----------------


async def attempted(store: Store, destinations: tuple[str, ...], attempts: int) -> str:
    """An event with a dispatch to each destination, each attempted ``attempts`` times."""
    from hookyard.models import AttemptRecord

    event_id = (await store.submit(submission(destinations=destinations))).id
    for number in range(1, attempts + 1):
        now = time.time_ns() // 1000
        claimed = await store.claim_due(
            "w", now_us=now, lease_us=60_000_000, limit=100, destinations=destinations
        )
        assert len(claimed) == len(destinations)
        for c in claimed:
            attempt = AttemptRecord(
                c.dispatch_id, number, now, 1.0, 503, (), b"", None, None, "retry", now
            )
            assert await store.record_attempt("w", attempt, status="retrying")
    return event_id


async def replayed(store: Store, event_id: str, destinations: tuple[str, ...]) -> str:
    """A replay batch that failed once to each destination."""
    from hookyard.ids import new_id
    from hookyard.models import AttemptRecord, ReplayBatch, ReplayResult

    now = time.time_ns() // 1000
    batch = ReplayBatch(new_id(), now, {"ids": [event_id]}, "original", 1, "running")
    await store.create_replay_batch(batch)
    results = []
    for destination in destinations:
        dispatch_id = new_id()
        attempt = AttemptRecord(dispatch_id, 1, now, 1.0, 500, (), b"", None, None, "failed", None)
        results.append(ReplayResult(dispatch_id, event_id, destination, "failed", attempt))
    await store.record_replay_results(batch.id, results, now_us=now)
    return batch.id


Read = Callable[[Any, Any], Any]
"""A read as a function of a backend's read module and one of its connections."""


async def statements(database_url: str, read: Read) -> list[str]:
    """The statements ``read`` sends, on a connection of its own, as the driver reports
    them (sqlite3's trace callback, asyncpg's query logger)."""
    seen: list[str] = []
    if database_url.startswith("sqlite:///"):
        from hookyard.store.sqlite import queries as sqlite_queries
        from hookyard.store.sqlite.connection import connect

        conn = connect(database_url.removeprefix("sqlite:///"), readonly=True)
        try:
            conn.set_trace_callback(seen.append)
            read(sqlite_queries, conn)
        finally:
            conn.close()
        return seen
    import asyncpg

    from hookyard.store.postgres import queries as pg_queries

    pg = await asyncpg.connect(database_url)
    try:
        pg.add_query_logger(lambda record: seen.append(record.query))
        await read(pg_queries, pg)
    finally:
        await pg.close()
    return seen


def get_event(event_id: str) -> Read:
    return lambda q, conn: q.get_event(conn, event_id, PLAIN)


def retrying_dispatches(destination: str | None) -> Read:
    return lambda q, conn: q.list_dispatches(
        conn,
        status="retrying",
        destination=destination,
        since_us=None,
        until_us=None,
        cursor=None,
        limit=50,
    )


def batch_failures(batch_id: str) -> Read:
    return lambda q, conn: q.replay_batch_dispatches(conn, batch_id, "failed", 20)


async def test_dispatches_are_read_with_their_attempts_in_a_fixed_number_of_statements(
    real_store: Store, database_url: str
) -> None:
    """One statement for all the attempts of a page of dispatches, not one per dispatch:
    an event with one dispatch and one attempt costs as many statements as an event with
    four dispatches of two attempts each, and so do their dead-letter and replay pages.
    (An event is read in four: its row, its dispatches, their attempts, its redaction.)"""
    store = real_store
    small = await attempted(store, ("s",), attempts=1)
    large = await attempted(store, ("l1", "l2", "l3", "l4"), attempts=2)
    small_batch = await replayed(store, small, ("s",))
    large_batch = await replayed(store, large, ("l1", "l2", "l3"))
    record = await store.get_event(large)
    assert record is not None
    # Its four dispatches, then the three replayed ones (linked to it, one attempt each).
    assert [len(d.attempt_log) for d in record.dispatches] == [2, 2, 2, 2, 1, 1, 1]
    assert len(await store.list_dispatches(status="retrying")) == 5
    failures = await store.replay_batch_dispatches(large_batch, status="failed")
    assert [len(d.attempt_log) for d in failures] == [1, 1, 1]
    for name, one, many, expected in [
        ("get_event", get_event(small), get_event(large), 4),
        ("list_dispatches", retrying_dispatches("s"), retrying_dispatches(None), 2),
        ("replay_batch_dispatches", batch_failures(small_batch), batch_failures(large_batch), 2),
    ]:
        few, more = await statements(database_url, one), await statements(database_url, many)
        assert len(few) == len(more) == expected, (name, few, more)
