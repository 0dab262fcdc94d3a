"""Delivery end to end, on every backend: store → worker → a real HTTP sink on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hookyard.delivery.destinations import Destination, parse_destinations
from hookyard.delivery.worker import DeliveryService
from hookyard.models import EventFilter, EventRecord
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission
from support.netguard import LOOPBACK
from support.sink import Reply, ScriptedServer, running_sink
from support.waiting import eventually_async

BODY = b'{"type": "order.created", "id": "evt_1", "bytes": "\xff\xfe"}'
FAST = {"schedule": ["50ms", "50ms", "50ms"], "jitter": False}


def destinations(**tables: dict[str, Any]) -> dict[str, Destination]:
    return parse_destinations(tables)


@pytest.fixture
async def running(store: Store) -> AsyncIterator[list[DeliveryService]]:
    services: list[DeliveryService] = []
    yield services
    for service in services:
        await service.stop(grace=2)


async def start(
    store: Store, dests: dict[str, Destination], services: list[DeliveryService], **kwargs: Any
) -> DeliveryService:
    service = DeliveryService(store, dests, poll_interval=0.05, policy=LOOPBACK, **kwargs)
    await service.start()
    services.append(service)
    return service


async def settle(store: Store, event_id: str, done: set[str], timeout: float = 10) -> EventRecord:
    async def settled() -> EventRecord | None:
        record = await store.get_event(event_id)
        assert record is not None
        # The event row and its dispatches are separate reads: wait for both to agree.
        agree = all(d.status in done for d in record.dispatches)
        return record if record.dispatches and agree and record.summary.status in done else None

    return await eventually_async(
        settled, timeout=timeout, message=f"event {event_id} did not settle as {sorted(done)}"
    )


async def test_delivers_the_stored_bytes_with_correlation_headers(
    store: Store, sink: ScriptedServer, running: list[DeliveryService]
) -> None:
    dests = destinations(app={"url": sink.url(), "retry": FAST})
    await start(store, dests, running)
    written = await store.submit(submission(BODY, provider_id="evt_1", destinations=("app",)))
    record = await settle(store, written.id, {"delivered"})
    assert record.summary.status == "delivered"
    [received] = sink.received
    assert hashlib.sha256(received.body).hexdigest() == hashlib.sha256(BODY).hexdigest()
    assert received.header("X-Hookyard-Id") == written.id
    assert received.header("X-Hookyard-Attempt") == "1"
    assert received.header("Idempotency-Key") == "evt_1"
    assert received.header("Content-Type") == "application/json"
    [attempt] = record.dispatches[0].attempt_log
    assert attempt.status_code == 200 and attempt.decision.startswith("delivered")


async def test_retries_per_policy_and_keeps_every_attempt(
    store: Store, sink: ScriptedServer, running: list[DeliveryService]
) -> None:
    sink.then(Reply(503, body=b"busy"), Reply(500), Reply(200))
    dests = destinations(app={"url": sink.url(), "retry": FAST})
    await start(store, dests, running)
    written = await store.submit(submission(BODY, provider_id="evt_r", destinations=("app",)))
    record = await settle(store, written.id, {"delivered"})
    log = record.dispatches[0].attempt_log
    assert [a.status_code for a in log] == [503, 500, 200]
    assert [a.decision.split(":")[0] for a in log] == ["retry", "retry", "delivered"]
    assert log[0].response_excerpt == b"busy"
    assert all(a.next_attempt_us for a in log[:2])
    keys = {r.header("Idempotency-Key") for r in sink.received}
    assert keys == {"evt_r"}  # the same key on every retry
    assert [r.header("X-Hookyard-Attempt") for r in sink.received] == ["1", "2", "3"]


async def test_other_4xx_dead_letters_at_once_and_can_be_retried(
    store: Store, sink: ScriptedServer, running: list[DeliveryService]
) -> None:
    sink.then(Reply(400, body=b"bad payload"))
    dests = destinations(app={"url": sink.url(), "retry": FAST})
    await start(store, dests, running)
    written = await store.submit(submission(BODY, destinations=("app",)))
    record = await settle(store, written.id, {"dead"})
    assert record.summary.status == "dead"
    dead = await store.list_dispatches(status="dead")
    assert [d.event_id for d in dead] == [written.id]
    assert dead[0].attempt_log[0].status_code == 400
    assert await store.retry_dead([dead[0].id], now_us=time.time_ns() // 1000) == 1
    record = await settle(store, written.id, {"delivered"})
    assert [a.status_code for a in record.dispatches[0].attempt_log] == [400, 200]


async def test_exhausted_retries_go_dead(
    store: Store, sink: ScriptedServer, running: list[DeliveryService]
) -> None:
    sink.then(*[Reply(502)] * 5)
    dests = destinations(app={"url": sink.url(), "retry": {**FAST, "max_attempts": 3}})
    await start(store, dests, running)
    written = await store.submit(submission(BODY, destinations=("app",)))
    record = await settle(store, written.id, {"dead"})
    assert len(record.dispatches[0].attempt_log) == 3


async def test_gone_disables_the_destination_and_holds_its_dispatches(
    store: Store, sink: ScriptedServer, running: list[DeliveryService]
) -> None:
    sink.then(Reply(410))
    dests = destinations(app={"url": sink.url(), "retry": FAST})
    service = await start(store, dests, running)
    first = await store.submit(submission(BODY, destinations=("app",)))
    await settle(store, first.id, {"disabled"})
    assert "app" in await store.disabled_destinations()
    second = await store.submit(submission(BODY, destinations=("app",)))
    # Queued after the 410: held too, and shown as such once the worker looks (1 s).
    held = await settle(store, second.id, {"disabled"})
    assert held.summary.status == "disabled"
    assert len(sink.received) == 1  # nothing more was sent to a gone destination
    await service.stop(grace=1)
    running.remove(service)
    await store.set_destination_disabled("app", False, reason="", now_us=time.time_ns() // 1000)
    await start(store, dests, running)
    await settle(store, first.id, {"delivered"})
    await settle(store, second.id, {"delivered"})


async def test_retry_after_is_honoured(
    store: Store, sink: ScriptedServer, running: list[DeliveryService]
) -> None:
    sink.then(Reply(429, headers=[("Retry-After", "1")]))
    dests = destinations(app={"url": sink.url(), "retry": FAST})
    await start(store, dests, running)
    written = await store.submit(submission(BODY, destinations=("app",)))
    record = await settle(store, written.id, {"delivered"})
    first, second = record.dispatches[0].attempt_log
    assert second.started_us - first.started_us >= 1_000_000


async def test_connection_refused_is_a_retryable_failure(
    store: Store, running: list[DeliveryService]
) -> None:
    from support.server import free_port

    dests = destinations(
        app={"url": f"http://127.0.0.1:{free_port()}/", "retry": {**FAST, "max_attempts": 2}}
    )
    await start(store, dests, running)
    written = await store.submit(submission(BODY, destinations=("app",)))
    record = await settle(store, written.id, {"dead"})
    log = record.dispatches[0].attempt_log
    assert [a.status_code for a in log] == [None, None]
    assert log[0].error_class and log[0].decision.startswith("retry")


async def test_dry_run_records_and_sends_nothing(
    store: Store, sink: ScriptedServer, running: list[DeliveryService]
) -> None:
    dests = destinations(app={"url": sink.url(), "dry_run": True})
    await start(store, dests, running)
    written = await store.submit(submission(BODY, destinations=("app",)))
    record = await settle(store, written.id, {"dry_run"})
    assert record.summary.status == "dry_run"
    assert sink.received == []
    assert record.dispatches[0].attempt_log[0].response_excerpt.startswith(b"POST http://127.0.0.1")


HANDLED: list[str] = []


def record_handler(event: Any) -> None:
    HANDLED.append(event.idempotency_key)


def failing_handler(event: Any) -> None:
    raise RuntimeError("handler broke")


async def test_python_handler_is_effectively_once(
    store: Store, running: list[DeliveryService]
) -> None:
    HANDLED.clear()
    dests = destinations(fn={"handler": f"{__name__}:record_handler"})
    await start(store, dests, running)
    a = await store.submit(submission(BODY, provider_id="evt_h", window_s=0, destinations=("fn",)))
    await settle(store, a.id, {"delivered"})
    # The provider id comes back after the dedup window (a new event, same key).
    b = await store.submit(submission(BODY, provider_id="evt_h", window_s=0, destinations=("fn",)))
    record = await settle(store, b.id, {"delivered"})
    assert HANDLED == ["evt_h"]
    assert record.dispatches[0].attempt_log[0].decision == "delivered: already processed"


async def test_handler_exception_is_a_failed_attempt(
    store: Store, running: list[DeliveryService]
) -> None:
    dests = destinations(
        fn={"handler": f"{__name__}:failing_handler", "retry": {**FAST, "max_attempts": 2}}
    )
    await start(store, dests, running)
    written = await store.submit(submission(BODY, destinations=("fn",)))
    record = await settle(store, written.id, {"dead"})
    log = record.dispatches[0].attempt_log
    assert [a.error_class for a in log] == ["RuntimeError", "RuntimeError"]
    assert "handler broke" in (log[0].error_message or "")


async def test_expired_lease_is_reclaimed_and_the_late_worker_cannot_record(
    store: Store, sink: ScriptedServer
) -> None:
    written = await store.submit(submission(BODY, destinations=("app",)))
    now = time.time_ns() // 1000
    [claimed] = await store.claim_due(
        "crashed", now_us=now, lease_us=100_000, limit=10, destinations=["app"]
    )
    assert (
        await store.claim_due("other", now_us=now, lease_us=100_000, limit=10, destinations=["app"])
        == []
    )
    later = now + 200_000  # the crashed worker's lease has run out
    assert await store.renew_leases("other", now_us=later, lease_us=1) == 0  # not its own
    assert await store.expire_leases(now_us=later) == 1
    assert await store.expire_leases(now_us=later) == 0
    [again] = await store.claim_due(
        "other", now_us=later, lease_us=10_000_000, limit=10, destinations=["app"]
    )
    assert again.dispatch_id == claimed.dispatch_id
    assert again.attempts == 1  # the lost one counts: the redelivery is attempt 2
    from hookyard.models import AttemptRecord

    late = AttemptRecord(
        claimed.dispatch_id, 2, later, 1.0, 200, (), b"", None, None, "delivered", None
    )
    assert await store.record_attempt("crashed", late, status="delivered") is False
    assert await store.record_attempt("other", late, status="delivered") is True
    record = await store.get_event(written.id)
    assert record is not None and record.summary.status == "delivered"
    lost, done = record.dispatches[0].attempt_log
    assert (lost.number, lost.error_class, lost.status_code) == (1, "LeaseExpired", None)
    assert lost.decision == "retry: lease expired, outcome unknown"
    assert (done.number, done.status_code) == (2, 200)


async def test_a_live_worker_renews_its_leases_and_keeps_them(store: Store) -> None:
    await store.submit(submission(BODY, destinations=("app",)))
    now = time.time_ns() // 1000
    await store.claim_due("live", now_us=now, lease_us=100_000, limit=10, destinations=["app"])
    assert await store.renew_leases("live", now_us=now, lease_us=10_000_000) == 1
    assert await store.expire_leases(now_us=now + 200_000) == 0  # renewed past it


async def test_release_leases_on_shutdown(store: Store) -> None:
    await store.submit(submission(BODY, destinations=("app",)))
    now = time.time_ns() // 1000
    assert (
        len(
            await store.claim_due(
                "w", now_us=now, lease_us=60_000_000, limit=5, destinations=["app"]
            )
        )
        == 1
    )
    assert await store.release_leases("w", now_us=now) == 1
    assert (
        len(
            await store.claim_due(
                "w2", now_us=now, lease_us=60_000_000, limit=5, destinations=["app"]
            )
        )
        == 1
    )


@pytest.mark.postgres
async def test_two_workers_on_postgres_never_send_the_same_attempt_twice(
    pg_url: str, sink: ScriptedServer
) -> None:
    stores = [open_store(pg_url), open_store(pg_url)]
    services = []
    for s in stores:
        await s.start()
    try:
        dests = destinations(app={"url": sink.url(), "max_in_flight": 20})
        ids = [
            (await stores[0].submit(submission(BODY, destinations=("app",)))).id for _ in range(150)
        ]
        for s in stores:
            service = DeliveryService(s, dests, poll_interval=0.05, concurrency=16, policy=LOOPBACK)
            await service.start()
            services.append(service)

        async def all_sent() -> bool:
            return len(sink.received) >= 150

        await eventually_async(
            all_sent, timeout=30, interval=0.1, message="150 deliveries from the two workers"
        )
        await asyncio.sleep(0.3)
        sent = [(r.header("X-Hookyard-Id"), r.header("X-Hookyard-Attempt")) for r in sink.received]
        assert len(sent) == 150 and len(set(sent)) == 150
        assert {event_id for event_id, _ in sent} == set(ids)
        by_worker = {s.worker_id for s in services}
        assert len(by_worker) == 2
    finally:
        for service in services:
            await service.stop(grace=2)
        for s in stores:
            await s.close()


async def test_a_dead_dispatch_posts_an_alert(
    store: Store, sink: ScriptedServer, running: list[DeliveryService]
) -> None:
    from hookyard.delivery.alerts import parse_alerts

    with running_sink() as alerts:
        sink.then(Reply(404))
        dests = destinations(app={"url": sink.url(), "retry": FAST})
        await start(store, dests, running, alerts=parse_alerts({"url": alerts.url("/alert")}))
        written = await store.submit(submission(BODY, destinations=("app",)))
        await settle(store, written.id, {"dead"})

        async def alerted() -> bool:
            return bool(alerts.received)

        await eventually_async(alerted, timeout=5, message="an alert for the dead dispatch")
        [notice] = alerts.received
        import json

        body = json.loads(notice.body)
        assert body["type"] == "hookyard.dispatch.dead"
        assert body["event_id"] == written.id and body["destination"] == "app"
        assert "404" in body["reason"]


@pytest.mark.postgres
async def test_two_dispatches_finishing_together_leave_the_right_event_status(
    pg_url: str,
) -> None:
    """Interleave two attempt transactions by hand: the second must see the first's result.

    Without the lock on the event's status row, the second transaction recomputes the status from a snapshot
    taken before the first committed, and the event is left "retrying" for ever.
    """
    import asyncpg

    from hookyard.models import AttemptRecord
    from hookyard.store.postgres.queries import Q
    from hookyard.store.rows import attempt_row

    store = open_store(pg_url)
    await store.start()
    first = await asyncpg.connect(pg_url)
    second = await asyncpg.connect(pg_url)
    try:
        written = await store.submit(submission(BODY, destinations=("a", "b")))
        now = time.time_ns() // 1000
        claimed = await store.claim_due(
            "w", now_us=now, lease_us=60_000_000, limit=10, destinations=["a", "b"]
        )
        by_destination = {c.destination: c.dispatch_id for c in claimed}

        def record(destination: str, status: str, code: int) -> list[Any]:
            attempt = AttemptRecord(
                by_destination[destination], 1, now, 1.0, code, (), b"", None, None, status, None
            )
            return ["w", status, *attempt_row(attempt), None, None]

        one, two = first.transaction(), second.transaction()
        await one.start()
        # The later transaction's own outcome must rank lower (delivered below dead): that
        # is the interleaving that used to leave "retrying" behind.
        assert await first.fetchval(Q["record_attempt"], *record("b", "dead", 500)) is True
        await two.start()
        waiting = asyncio.create_task(
            second.fetchval(Q["record_attempt"], *record("a", "delivered", 200))
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()  # held on the status row until the first commits
        await one.commit()
        assert await waiting is True
        await two.commit()
        event = await store.get_event(written.id)
        assert event is not None and event.summary.status == "dead"
    finally:
        await first.close()
        await second.close()
        await store.close()


@pytest.mark.postgres
async def test_delivering_leaves_the_event_row_as_ingest_wrote_it(pg_url: str) -> None:
    """The status lives in its own narrow table: recording attempts must not rewrite the
    wide event row (headers, body, five indexes), which cost more than half of a record.
    ``xmin`` is the transaction that wrote a row version; any update changes it."""
    import asyncpg

    from hookyard.models import AttemptRecord

    store = open_store(pg_url)
    await store.start()
    conn = await asyncpg.connect(pg_url)
    try:
        written = await store.submit(submission(BODY, destinations=("app",)))
        version = await conn.fetchval("SELECT xmin::text FROM events WHERE id = $1", written.id)
        now = time.time_ns() // 1000
        for number, status in ((1, "retrying"), (2, "delivered")):
            [claimed] = await store.claim_due(
                "w", now_us=now, lease_us=60_000_000, limit=1, destinations=["app"]
            )
            code = 200 if status == "delivered" else 503
            attempt = AttemptRecord(
                claimed.dispatch_id, number, now, 1.0, code, (), b"", None, None, status, now
            )
            assert await store.record_attempt("w", attempt, status=status) is True
            record = await store.get_event(written.id)
            assert record is not None and record.summary.status == status
        listed = await store.list_events(EventFilter(status="delivered"))
        assert [s.id for s in listed] == [written.id]
        assert (
            await conn.fetchval("SELECT xmin::text FROM events WHERE id = $1", written.id)
            == version
        )
    finally:
        await conn.close()
        await store.close()


async def test_attempts_finishing_together_are_each_recorded_once(store: Store) -> None:
    """Concurrent records: every attempt lands on its own dispatch, a stranger's record is
    refused, and each event's status accounts for both of its dispatches."""
    from hookyard.models import AttemptRecord

    events = [await store.submit(submission(BODY, destinations=("app", "crm"))) for _ in range(20)]
    now = time.time_ns() // 1000
    claimed = await store.claim_due(
        "w1", now_us=now, lease_us=10_000_000, limit=100, destinations=["app", "crm"]
    )
    assert len(claimed) == 40

    def outcome(c: Any) -> str:
        return "dead" if c.destination == "crm" and c.event_id == events[0].id else "delivered"

    records = [
        store.record_attempt(
            "w1",
            AttemptRecord(c.dispatch_id, 1, now, 1.0, 200, (), b"", None, None, outcome(c), None),
            status=outcome(c),
        )
        for c in claimed
    ]
    stranger = AttemptRecord(
        claimed[1].dispatch_id, 1, now, 1.0, 200, (), b"", None, None, "delivered", None
    )
    results = await asyncio.gather(*records, store.record_attempt("w2", stranger, status="dead"))
    assert results[:-1] == [True] * 40 and results[-1] is False
    statuses = {e.id: (await store.get_event(e.id)).summary.status for e in events}  # type: ignore[union-attr]
    assert statuses.pop(events[0].id) == "dead"
    assert set(statuses.values()) == {"delivered"}
    first = await store.get_event(events[0].id)
    assert first is not None
    assert sorted(len(d.attempt_log) for d in first.dispatches) == [1, 1]


@pytest.mark.postgres
async def test_an_attempt_the_database_refuses_fails_alone(pg_url: str) -> None:
    """Attempts finishing together go to PostgreSQL as one group. One it refuses (a NUL
    character in text) fails with a StoreError; the others are recorded all the same."""
    from hookyard.exceptions import StoreError
    from hookyard.models import AttemptRecord
    from hookyard.store.postgres import PostgresStore

    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    await store.start()
    try:
        events = [await store.submit(submission(BODY, destinations=("app",))) for _ in range(6)]
        now = time.time_ns() // 1000
        claimed = await store.claim_due(
            "w1", now_us=now, lease_us=10_000_000, limit=10, destinations=["app"]
        )
        assert len(claimed) == 6
        refused = claimed[3].dispatch_id

        def failed(dispatch_id: str) -> AttemptRecord:
            message = "reset by peer\x00" if dispatch_id == refused else "reset by peer"
            return AttemptRecord(
                dispatch_id, 1, now, 1.0, None, (), b"", "ConnectError", message, "retry", now
            )

        results = await asyncio.gather(
            *(
                store.record_attempt("w1", failed(c.dispatch_id), status="retrying")
                for c in claimed
            ),
            return_exceptions=True,
        )
        assert store.record_groups >= 1
        by_dispatch = dict(zip((c.dispatch_id for c in claimed), results, strict=True))
        assert isinstance(by_dispatch.pop(refused), StoreError)
        assert list(by_dispatch.values()) == [True] * 5
        for written in events:
            record = await store.get_event(written.id)
            assert record is not None
            [dispatch] = record.dispatches
            if dispatch.id == refused:
                assert dispatch.attempt_log == () and dispatch.status == "in_flight"
            else:
                assert [a.error_message for a in dispatch.attempt_log] == ["reset by peer"]
                assert record.summary.status == "retrying"
    finally:
        await store.close()


async def test_a_worker_wakes_when_another_process_commits(
    database_url: str, sink: ScriptedServer
) -> None:
    """``hookyard worker`` beside ``serve --no-worker``: the ingest side's commit wakes the
    worker at once, not at its next poll (a minute away here). PostgreSQL notifies from
    the ingest statement; SQLite has no notifications, the worker reads
    ``PRAGMA data_version``."""
    ingest, delivery = open_store(database_url), open_store(database_url)
    await ingest.start()
    await delivery.start()
    service = DeliveryService(
        delivery, destinations(app={"url": sink.url()}), poll_interval=60, policy=LOOPBACK
    )
    await service.start()
    try:
        await asyncio.sleep(0.3)  # the worker has found nothing due and sleeps
        started = time.monotonic()
        await ingest.submit(submission(BODY, destinations=("app",)))

        async def delivered() -> bool:
            return bool(sink.received)

        await eventually_async(
            delivered,
            timeout=10,
            interval=0.01,
            message="the worker slept through another connection's commit",
        )
        assert time.monotonic() - started < 2
    finally:
        await service.stop()
        await delivery.close()
        await ingest.close()


class _CountingClaims:
    """The store, counting claims."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.claims = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def claim_due(self, *args: Any, **kwargs: Any) -> Any:
        self.claims += 1
        return await self.store.claim_due(*args, **kwargs)


async def test_a_busy_worker_claims_in_groups_not_per_finished_delivery(
    store: Store, sink: ScriptedServer
) -> None:
    """Each claim is a store round trip: with a backlog, a worker that claimed one dispatch
    per finished delivery would make one per event."""
    ids = [(await store.submit(submission(BODY, destinations=("app",)))).id for _ in range(400)]
    counting = _CountingClaims(store)
    dests = destinations(app={"url": sink.url(), "max_in_flight": 16})
    service = DeliveryService(counting, dests, poll_interval=0.05, concurrency=64, policy=LOOPBACK)
    await service.start()
    try:

        async def all_sent() -> bool:
            return len(sink.received) >= len(ids)

        await eventually_async(all_sent, timeout=30, message=f"{len(ids)} deliveries")
    finally:
        await service.stop()
    assert Counter(r.header("X-Hookyard-Id") for r in sink.received) == Counter(ids)
    assert counting.claims < len(ids) // 4, counting.claims
