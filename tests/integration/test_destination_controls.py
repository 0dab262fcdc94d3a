"""Destination controls and the audit trail on every backend: state shared through the
store, held dispatches, what ``destinations list`` reads, and the workers honouring it."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hookyard.control.destinations import change_destination, destination_views
from hookyard.delivery.destinations import parse_destinations
from hookyard.delivery.transport import MockTransport, reply
from hookyard.delivery.worker import DeliveryService
from hookyard.exceptions import Refused, UnknownName
from hookyard.models import AttemptRecord, AuditEntry, DestinationActivity, EventRecord
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission
from support.netguard import LOOPBACK
from support.sink import Reply, ScriptedServer
from support.waiting import eventually_async

FAST = {"schedule": ["50ms"], "jitter": False, "max_attempts": 3}


def now() -> int:
    return time.time_ns() // 1000


async def claim(store: Store, *names: str) -> list[str]:
    claimed = await store.claim_due(
        "w1", now_us=now() + 1, lease_us=60_000_000, limit=100, destinations=names
    )
    return [c.dispatch_id for c in claimed]


async def statuses(store: Store, event_id: str) -> tuple[str, list[str]]:
    record = await store.get_event(event_id)
    assert record is not None
    return record.summary.status, [d.status for d in record.dispatches]


async def test_a_paused_destination_holds_its_dispatches_until_resumed(store: Store) -> None:
    written = await store.submit(submission(destinations=("app",)))
    assert await store.set_destination_mode("app", "paused", reason="by ops", now_us=now()) == 1
    assert await statuses(store, written.id) == ("paused", ["paused"])
    assert await claim(store, "app") == []
    [state] = (await store.destination_states()).values()
    assert (state.name, state.state, state.reason) == ("app", "paused", "by ops")
    assert await store.disabled_destinations() == {}  # paused is not disabled

    assert await store.set_destination_mode("app", "active", reason="", now_us=now()) == 1
    assert await statuses(store, written.id) == ("pending", ["pending"])
    assert len(await claim(store, "app")) == 1


async def test_no_process_claims_for_a_held_destination_even_when_asked(store: Store) -> None:
    await store.set_destination_mode("app", "paused", reason="", now_us=now())
    later = await store.submit(submission(destinations=("app", "other")))
    # Ingest queued it as pending; a worker that still believes "app" active asks anyway.
    assert len(await claim(store, "app", "other")) == 1  # only "other"
    assert await store.hold_dispatches("app", "paused", now_us=now()) == 1
    status, dispatches = await statuses(store, later.id)
    assert sorted(dispatches) == ["in_flight", "paused"] and status == "retrying"
    assert await store.hold_dispatches("app", "paused", now_us=now()) == 0  # idempotent


async def test_enable_after_a_410_keeps_the_attempts_and_sends_again(store: Store) -> None:
    written = await store.submit(submission(destinations=("app",)))
    [dispatch_id] = await claim(store, "app")
    attempt = AttemptRecord(
        dispatch_id=dispatch_id,
        number=1,
        started_us=now(),
        latency_ms=1.0,
        status_code=410,
        response_headers=(),
        response_excerpt=b"",
        error_class=None,
        error_message=None,
        decision="disable: HTTP 410",
        next_attempt_us=None,
    )
    assert await store.record_attempt("w1", attempt, status="disabled")
    await store.set_destination_disabled("app", True, reason="HTTP 410", now_us=now())
    assert await store.disabled_destinations() == {"app": "HTTP 410"}
    assert (await store.destination_states())["app"].state == "disabled"
    assert await store.set_destination_mode("app", "active", reason="", now_us=now()) == 1
    assert await statuses(store, written.id) == ("retrying", ["retrying"])
    [again] = await store.claim_due(
        "w1", now_us=now() + 1, lease_us=1_000_000, limit=10, destinations=["app"]
    )
    assert again.attempts == 1  # the next attempt is number 2


async def test_backlog_counts_what_is_owed_per_destination(store: Store) -> None:
    for _ in range(3):
        await store.submit(submission(destinations=("app", "crm")))
    await claim(store, "crm")
    await store.set_destination_mode("app", "paused", reason="", now_us=now())
    assert await store.destination_backlog() == {"app": {"paused": 3}, "crm": {"in_flight": 3}}


async def test_backlog_skips_what_is_settled_and_splits_by_status(store: Store) -> None:
    for names in (("app", "crm", "zeta"), ("app",), ("crm",)):
        await store.submit(submission(destinations=names))
    [crm, _] = await store.claim_due(
        "w1", now_us=now() + 1, lease_us=60_000_000, limit=2, destinations=("crm",)
    )
    done = AttemptRecord(
        crm.dispatch_id, 1, now(), 1.0, 200, (), b"", None, None, "delivered", None
    )
    assert await store.record_attempt("w1", done, status="delivered")
    assert await store.destination_backlog() == {
        "app": {"pending": 2},
        "crm": {"in_flight": 1},
        "zeta": {"pending": 1},
    }


async def test_outcomes_count_attempts_per_destination_since_a_time(store: Store) -> None:
    for _ in range(3):
        await store.submit(submission(destinations=("app", "crm")))
    start = now()
    claimed = await store.claim_due(
        "w1", now_us=start + 1, lease_us=60_000_000, limit=10, destinations=("app", "crm")
    )
    by_destination: dict[str, list[str]] = {}
    for c in claimed:
        by_destination.setdefault(c.destination, []).append(c.dispatch_id)
    plan = [  # (destination, started, status code), the first one before the window
        ("app", start - 10, 200),
        ("app", start + 1, 200),
        ("app", start + 2, 503),
        ("crm", start + 3, None),
    ]
    for name, started, code in plan:
        dispatch_id = by_destination[name].pop()
        status, retry_at = ("delivered", None) if code == 200 else ("retrying", start + 60_000_000)
        attempt = AttemptRecord(
            dispatch_id, 1, started, 1.0, code, (), b"", None, None, status, retry_at
        )
        assert await store.record_attempt("w1", attempt, status=status)
    assert await store.destination_outcomes(since_us=start) == {"app": (1, 1), "crm": (0, 1)}
    assert await store.destination_outcomes(since_us=start + 100) == {}
    [app, crm] = await destination_views(store, ("app", "crm"))
    assert (app.delivered_last_hour, app.failed_last_hour) == (2, 1)
    assert (crm.delivered_last_hour, crm.failed_last_hour) == (0, 1)


async def test_the_newest_success_and_error_win_and_a_circuit_stays_unless_reported(
    store: Store,
) -> None:
    await store.note_destination_activity(
        [DestinationActivity("app", last_success_us=200, last_error_us=100, last_error="HTTP 503")],
        now_us=now(),
    )
    await store.note_destination_activity(
        [
            DestinationActivity("app", last_success_us=150, last_error_us=300, last_error="late"),
            DestinationActivity("app", circuit="open", circuit_until_us=999),
        ],
        now_us=now(),
    )
    await store.note_destination_activity(
        [DestinationActivity("app", last_error_us=250, last_error="older")], now_us=now()
    )
    st = (await store.destination_states())["app"]
    assert (st.last_success_us, st.last_error_us, st.last_error) == (200, 300, "late")
    assert (st.circuit, st.circuit_until_us, st.state) == ("open", 999, "active")
    await store.set_destination_mode("app", "paused", reason="x", now_us=now())
    st = (await store.destination_states())["app"]
    assert (st.state, st.circuit, st.last_success_us) == ("paused", "open", 200)  # kept


async def test_audit_entries_list_newest_first_with_filters_and_a_cursor(store: Store) -> None:
    for n, action in enumerate(["destination.pause", "dlq.retry", "destination.resume"]):
        await store.record_audit(
            AuditEntry(
                id=f"01AUDIT{n}",
                at_us=1_000 + n,
                actor="cli:ops",
                action=action,
                target="app",
                count=n,
                detail={"n": n},
            )
        )
    every = await store.list_audit()
    assert [e.id for e in every] == ["01AUDIT2", "01AUDIT1", "01AUDIT0"]
    assert every[1] == AuditEntry("01AUDIT1", 1_001, "cli:ops", "dlq.retry", "app", 1, {"n": 1})
    assert [e.id for e in await store.list_audit(action="dlq.retry")] == ["01AUDIT1"]
    assert [e.id for e in await store.list_audit(since_us=1_001)] == ["01AUDIT2", "01AUDIT1"]
    assert [e.id for e in await store.list_audit(cursor="01AUDIT2", limit=1)] == ["01AUDIT1"]


async def test_controls_refuse_unknown_names_and_record_who_did_what(store: Store) -> None:
    with pytest.raises(UnknownName, match="no destination 'nope' \\(destinations: app\\)"):
        await change_destination(store, "nope", "pause", actor="cli:ops", known=["app"])
    await store.submit(submission(destinations=("app",)))
    change = await change_destination(store, "app", "pause", actor="cli:ops", known=["app"])
    assert (change.before, change.after, change.moved) == ("active", "paused", 1)
    again = await change_destination(store, "app", "pause", actor="ops", known=["app"])
    assert (again.before, again.after, again.moved) == ("paused", "paused", 0)
    await store.set_destination_disabled("app", True, reason="HTTP 410", now_us=now())
    with pytest.raises(Refused):
        await change_destination(store, "app", "resume", actor="cli:ops", known=["app"])
    await change_destination(store, "app", "enable", actor="ops-token", known=["app"])
    entries = await store.list_audit()
    assert [(e.actor, e.action, e.count, e.detail) for e in entries] == [
        ("ops-token", "destination.enable", 1, {"before": "disabled", "after": "active"}),
        ("ops", "destination.pause", 0, {"before": "paused", "after": "paused"}),
        ("cli:ops", "destination.pause", 1, {"before": "active", "after": "paused"}),
    ]
    [view] = await destination_views(store, ["app"])
    assert (view.name, view.state, view.owed) == ("app", "active", 1)


async def test_a_removed_destination_with_held_dispatches_is_still_listed(store: Store) -> None:
    await store.submit(submission(destinations=("old",)))
    await store.set_destination_mode("old", "paused", reason="", now_us=now())
    views = await destination_views(store, ["app"])
    assert [(v.name, v.configured, v.state, v.owed) for v in views] == [
        ("app", True, "active", 0),
        ("old", False, "paused", 1),
    ]
    change = await change_destination(store, "old", "resume", actor="x", known=["app"])
    assert change.moved == 1


# -- workers honour the shared state ---------------------------------------------------------


@pytest.fixture
async def workers() -> AsyncIterator[list[DeliveryService]]:
    services: list[DeliveryService] = []
    yield services
    for service in services:
        await service.stop(grace=2)


async def start(
    store: Store, table: dict[str, Any], services: list[DeliveryService]
) -> DeliveryService:
    service = DeliveryService(
        store,
        parse_destinations(table),
        poll_interval=0.05,
        state_interval=0.05,
        policy=LOOPBACK,
    )
    await service.start()
    services.append(service)
    return service


async def settle(store: Store, event_id: str, done: set[str]) -> EventRecord:
    async def settled() -> EventRecord | None:
        record = await store.get_event(event_id)
        assert record is not None
        ok = record.dispatches and all(d.status in done for d in record.dispatches)
        return record if ok and record.summary.status in done else None

    return await eventually_async(settled, timeout=10, message=f"{event_id} not {done}")


async def test_a_worker_delivers_nothing_while_paused_and_everything_after_resume(
    store: Store, sink: ScriptedServer, workers: list[DeliveryService]
) -> None:
    await start(store, {"app": {"url": sink.url(), "retry": FAST}}, workers)
    await store.set_destination_mode("app", "paused", reason="", now_us=now())
    written = await store.submit(submission(destinations=("app",)))
    await settle(store, written.id, {"paused"})  # the worker held what ingest queued
    assert sink.received == []
    await store.set_destination_mode("app", "active", reason="", now_us=now())
    await settle(store, written.id, {"delivered"})
    assert len(sink.received) == 1
    states = await store.destination_states()
    await eventually_async(
        lambda: _reported(store), timeout=5, message="the worker reported no success"
    )
    assert states["app"].state == "active"


async def _reported(store: Store) -> bool:
    return (await store.destination_states())["app"].last_success_us is not None


async def test_a_410_seen_by_one_worker_stops_every_other(
    store_url: str, store: Store, sink: ScriptedServer, workers: list[DeliveryService]
) -> None:
    """Two workers, each with its own store connection (as two processes have)."""
    other = open_store(store_url)
    await other.start()
    try:
        sink.then(Reply(410))
        table = {"app": {"url": sink.url(), "retry": FAST}}
        await start(store, table, workers)
        first = await store.submit(submission(destinations=("app",)))
        await settle(store, first.id, {"disabled"})
        await start(other, table, workers)  # a worker that never saw the 410
        later = [await other.submit(submission(destinations=("app",))) for _ in range(5)]
        for written in later:
            await settle(store, written.id, {"disabled"})
        assert len(sink.received) == 1
        await change_destination(store, "app", "enable", actor="ops", known=["app"])
        for written in [first, *later]:
            await settle(store, written.id, {"delivered"})
        assert len(sink.received) == 7  # the first again (attempt 2) and the five held
        attempts = sorted(r.header("X-Hookyard-Attempt") or "" for r in sink.received)
        assert attempts == ["1", "1", "1", "1", "1", "1", "2"]
    finally:
        await other.close()


async def test_a_circuit_opening_and_closing_is_logged_once_each_and_stored(
    store: Store, caplog: pytest.LogCaptureFixture, workers: list[DeliveryService]
) -> None:
    answers = iter([reply(503), reply(503)])
    transport = MockTransport(lambda request: next(answers, reply(200)))
    table = {
        "app": {
            "url": "http://receiver.invalid/",
            "retry": {"schedule": ["10ms"], "jitter": False, "max_attempts": 5},
            "circuit_breaker": {"failure_threshold": 2, "open_seconds": 0.3},
        }
    }
    caplog.set_level(logging.INFO, "hookyard.delivery")
    service = DeliveryService(
        store, parse_destinations(table), poll_interval=0.02, transport=transport
    )
    await service.start()
    workers.append(service)
    written = await store.submit(submission(destinations=("app",)))

    async def circuit() -> str | None:
        st = (await store.destination_states()).get("app")
        return st.circuit if st is not None else None

    assert await eventually_async(circuit, timeout=5) == "open"
    await settle(store, written.id, {"delivered"})
    await eventually_async(lambda: _is(circuit, "closed"), timeout=5)
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("circuit")]
    assert messages == ["circuit opened", "circuit closed"]
    opened = next(r for r in caplog.records if r.getMessage() == "circuit opened")
    assert opened.fields["destination"] == "app"  # type: ignore[attr-defined]


async def _is(read: Any, value: str) -> bool:
    return bool(await read() == value)


# -- replay batches are listable -------------------------------------------------------------


async def test_replay_batches_list_newest_first_with_a_cursor(store: Store) -> None:
    from hookyard.models import ReplayBatch

    for n in range(3):
        await store.create_replay_batch(
            ReplayBatch(
                id=f"01BATCH{n}",
                created_us=1_000 + n,
                selection={"ids": [f"e{n}"]},
                target="app",
                total=1,
                status="running",
                options={"rate": None},
            )
        )
    batches = await store.list_replay_batches()
    assert [b.id for b in batches] == ["01BATCH2", "01BATCH1", "01BATCH0"]
    assert batches[0].selection == {"ids": ["e2"]} and batches[0].options == {"rate": None}
    assert [b.id for b in await store.list_replay_batches(cursor="01BATCH2", limit=1)] == [
        "01BATCH1"
    ]


async def test_an_audit_entry_the_store_refuses_is_logged_not_raised(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from hookyard.control import audit

    closed = open_store(store_url)
    await closed.start()
    await closed.close()  # writes are refused from now on
    caplog.set_level(logging.ERROR, "hookyard.audit")
    entry = await audit.record(closed, actor="ops", action="destination.pause", target="app")
    assert entry.actor == "ops"
    [line] = [r for r in caplog.records if r.getMessage() == "audit entry not recorded"]
    assert line.fields["target"] == "app"  # type: ignore[attr-defined]


async def test_held_events_and_dispatches_are_found_by_their_status(store: Store) -> None:
    from hookyard.models import EventFilter

    held = await store.submit(submission(destinations=("app",)))
    await store.submit(submission(destinations=("other",)))
    await store.set_destination_mode("app", "paused", reason="", now_us=now())
    found = await store.list_events(EventFilter(status="paused"))
    assert [e.id for e in found] == [held.id]
    dispatches = await store.list_dispatches(status="paused")
    assert [(d.event_id, d.destination) for d in dispatches] == [(held.id, "app")]
