"""What only the in-memory store has: its names, its lifetime, and refusals that leave
nothing behind. Its store behaviour is the shared suite's (``store_url`` in conftest)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from hookyard.exceptions import ConfigError, StoreError, StoreSaturated
from hookyard.models import AttemptRecord
from hookyard.store import open_store
from hookyard.store.memory import MemoryStore
from hookyard.store.memory.tables import event_status
from support.factories import submission

MINUTE = 60_000_000


def attempt(dispatch_id: str, number: int = 1, next_attempt_us: int | None = None) -> AttemptRecord:
    return AttemptRecord(
        dispatch_id=dispatch_id,
        number=number,
        started_us=time.time_ns() // 1000,
        latency_ms=2,
        status_code=200,
        response_headers=(("Content-Type", "text/plain"),),
        response_excerpt=b"ok",
        error_class=None,
        error_message=None,
        decision="delivered",
        next_attempt_us=next_attempt_us,
    )


async def started(url: str = "memory://") -> MemoryStore:
    store = open_store(url)
    assert isinstance(store, MemoryStore)
    await store.start()
    return store


async def test_a_name_is_shared_while_one_of_its_stores_is_open() -> None:
    first, second = await started("memory://shared"), await started("memory://shared")
    other = await started("memory://other")
    written = await first.submit(submission())
    assert await second.get_event(written.id) is not None
    assert await other.get_event(written.id) is None
    await first.close()
    assert await second.count_events() == 1  # one store of the name is still open
    await second.close()
    reopened = await started("memory://shared")
    assert await reopened.count_events() == 0  # the last one closed: nothing kept
    await reopened.close()
    await other.close()


async def test_a_bare_url_is_a_private_store() -> None:
    first, second = await started(), await started()
    await first.submit(submission())
    assert (await first.count_events(), await second.count_events()) == (1, 0)
    await first.close()
    await second.close()


async def test_only_memory_urls_and_only_while_open() -> None:
    with pytest.raises(ConfigError):
        MemoryStore("sqlite:///x.db")
    store = MemoryStore()
    with pytest.raises(StoreError):
        await store.count_events()  # not started
    with pytest.raises(StoreSaturated):
        await store.submit(submission())
    await store.start()
    await store.close()
    with pytest.raises(StoreSaturated):
        await store.submit(submission())


async def test_a_submission_that_cannot_be_written_fails_alone() -> None:
    store = await started()
    taken = submission()
    await store.submit(taken)
    again = dataclasses.replace(submission(destinations=("a",)), request=taken.request)
    others = [submission(destinations=("a",)) for _ in range(3)]
    results = await asyncio.gather(
        store.submit(others[0]), store.submit(again), store.submit(others[1]),
        store.submit(others[2]), return_exceptions=True,
    )  # fmt: skip
    assert isinstance(results[1], StoreError)
    assert [r.id for r in results if not isinstance(r, BaseException)] == [
        s.request.id for s in others
    ]
    assert await store.count_events() == 4
    claimed = await store.claim_due(
        "w", now_us=time.time_ns() // 1000, lease_us=MINUTE, limit=10, destinations=["a"]
    )
    assert sorted(c.event_id for c in claimed) == sorted(s.request.id for s in others)
    await store.close()


async def test_a_refused_attempt_changes_nothing() -> None:
    store = await started()
    written = await store.submit(submission(destinations=("a",)))
    now = time.time_ns() // 1000
    [held] = await store.claim_due("w", now_us=now, lease_us=MINUTE, limit=1, destinations=["a"])
    retry = attempt(held.dispatch_id, next_attempt_us=now + MINUTE)
    assert await store.record_attempt("w", retry, status="retrying")
    [again] = await store.claim_due(
        "w", now_us=now + 2 * MINUTE, lease_us=MINUTE, limit=1, destinations=["a"]
    )
    with pytest.raises(StoreError):  # attempt 1 is recorded already
        await store.record_attempt("w", attempt(again.dispatch_id), status="delivered")
    record = await store.get_event(written.id)
    assert record is not None
    [dispatch] = record.dispatches
    assert (dispatch.status, dispatch.attempts, len(dispatch.attempt_log)) == ("in_flight", 1, 1)
    assert dispatch.attempt_log[0].latency_ms == 2.0
    assert isinstance(dispatch.attempt_log[0].latency_ms, float)  # a REAL column's value
    assert record.summary.status == "retrying"
    await store.close()


async def test_listeners_hear_commits_of_every_store_of_the_name() -> None:
    ingest, delivery = await started("memory://wake"), await started("memory://wake")
    heard: list[str] = []
    stop = await delivery.listen_for_dispatches(lambda: heard.append("listen"))
    delivery.on_dispatch.append(lambda: heard.append("own"))
    await ingest.submit(submission())  # no destination: nothing to wake for
    await ingest.submit(submission(destinations=("a",)))
    assert heard == ["listen"]  # on_dispatch is the store's own commits only
    await stop()
    await ingest.submit(submission(destinations=("a",)))
    assert heard == ["listen"]
    await ingest.close()
    await delivery.close()


def test_event_status_takes_the_most_urgent_dispatch_status() -> None:
    assert event_status(["delivered", "dead", "pending"]) == "dead"
    assert event_status(["delivered", "in_flight"]) == "retrying"
    assert event_status(["pending", "disabled"]) == "disabled"
    assert event_status(["delivered", "dry_run"]) == "delivered"
    assert event_status(["dry_run"]) == "dry_run"
