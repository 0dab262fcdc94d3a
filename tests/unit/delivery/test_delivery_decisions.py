"""What the worker and replay decide about an attempt, with a real SQLite store and a
``MockTransport`` in place of the network (the real-HTTP paths are integration tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hookyard.delivery.destinations import Destination, parse_destinations
from hookyard.delivery.exchange import OutgoingRequest, SendResult
from hookyard.delivery.handlers import Event
from hookyard.delivery.transport import MockTransport, reply
from hookyard.delivery.worker import DeliveryService
from hookyard.models import EventRecord, ReplayBatch
from hookyard.replay import Replayer, ReplayPlan, resolve_target
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission
from support.waiting import eventually_async

URL = "http://receiver.invalid/hooks"
FAST = {"schedule": ["20ms", "20ms", "20ms"], "jitter": False}
SECRET_HEADERS = {"Authorization": "Bearer s3cret"}
HANDLED: list[Event] = []


def handle(event: Event) -> None:
    HANDLED.append(event)


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    instance = open_store(sqlite_url)
    await instance.start()
    yield instance
    await instance.close()


class Receiver:
    """Answers requests in turn from a script (the last answer repeats); keeps them."""

    def __init__(
        self,
        *answers: SendResult,
        by_request: Callable[[OutgoingRequest], SendResult] | None = None,
    ) -> None:
        self.answers = list(answers) or [reply(200, b"ok")]
        self.by_request = by_request
        self.requests: list[OutgoingRequest] = []
        self.transport = MockTransport(self.answer)

    def answer(self, request: OutgoingRequest) -> SendResult:
        self.requests.append(request)
        if self.by_request is not None:
            return self.by_request(request)
        return self.answers[min(len(self.requests), len(self.answers)) - 1]


async def worker_delivers(
    store: Store, dests: dict[str, Destination], receiver: Receiver, done: set[str], **kw: Any
) -> EventRecord:
    """Submit one event for ``app`` and run a worker until its dispatch reaches ``done``."""
    service = DeliveryService(store, dests, poll_interval=0.02, transport=receiver.transport)
    await service.start()
    try:
        written = await store.submit(submission(destinations=tuple(dests), **kw))

        async def settled() -> EventRecord | None:
            record = await store.get_event(written.id)
            assert record is not None
            reached = bool(record.dispatches) and all(d.status in done for d in record.dispatches)
            return record if reached else None

        return await eventually_async(
            settled,
            timeout=10,
            interval=0.02,
            message=f"event {written.id} did not settle as {sorted(done)}",
        )
    finally:
        await service.stop(grace=1)


async def replay(
    store: Store, dests: dict[str, Destination], receiver: Receiver, ids: list[str]
) -> ReplayBatch:
    replayer = Replayer(store, transport=receiver.transport)
    plan = ReplayPlan(target=resolve_target(dests, to="app"), ids=tuple(ids))
    batch = await replayer.begin(plan, await replayer.select(plan))
    return await replayer.run(batch, plan, ids)


# -- the worker ------------------------------------------------------------------------------


async def test_worker_retries_a_503_then_delivers_with_the_same_key(store: Store) -> None:
    receiver = Receiver(reply(503, b"busy"), reply(200, b"ok"))
    dests = parse_destinations({"app": {"url": URL, "retry": FAST}})
    record = await worker_delivers(store, dests, receiver, {"delivered"}, provider_id="evt_7")
    [dispatch] = record.dispatches
    assert [a.number for a in dispatch.attempt_log] == [1, 2]
    assert [a.status_code for a in dispatch.attempt_log] == [503, 200]
    assert [a.decision.split(":")[0] for a in dispatch.attempt_log] == ["retry", "delivered"]
    assert dispatch.attempt_log[0].response_excerpt == b"busy"
    assert dispatch.attempt_log[0].next_attempt_us is not None
    assert [r.header("X-Hookyard-Attempt") for r in receiver.requests] == ["1", "2"]
    assert [r.header("Idempotency-Key") for r in receiver.requests] == ["evt_7", "evt_7"]
    assert record.summary.status == "delivered"


async def test_worker_disables_a_destination_that_answers_410(store: Store) -> None:
    receiver = Receiver(reply(410))
    dests = parse_destinations({"app": {"url": URL, "retry": FAST}})
    record = await worker_delivers(store, dests, receiver, {"disabled"})
    assert record.dispatches[0].attempt_log[0].decision.startswith("disable:")
    assert "app" in await store.disabled_destinations()
    assert len(receiver.requests) == 1


async def test_worker_dry_run_records_a_masked_preview_and_sends_nothing(store: Store) -> None:
    receiver = Receiver()
    dests = parse_destinations({"app": {"url": URL, "dry_run": True, "headers": SECRET_HEADERS}})
    record = await worker_delivers(store, dests, receiver, {"dry_run"})
    [attempt] = record.dispatches[0].attempt_log
    assert attempt.response_excerpt.startswith(f"POST {URL}\n".encode())
    assert b"Authorization: Bearer **** (6 chars)\n" in attempt.response_excerpt
    assert b"s3cret" not in attempt.response_excerpt
    assert attempt.decision == "dry_run: built, not sent"
    assert receiver.requests == []


async def test_worker_handler_destination_goes_through_the_same_attempt(store: Store) -> None:
    HANDLED.clear()
    receiver = Receiver()
    dests = parse_destinations({"app": {"handler": f"{__name__}:handle"}})
    record = await worker_delivers(store, dests, receiver, {"delivered"}, provider_id="evt_h")
    [event] = HANDLED
    assert (event.id, event.attempt, event.replay_of) == (record.summary.id, 1, None)
    assert record.dispatches[0].attempt_log[0].decision.startswith("delivered:")
    assert await store.is_processed("app", "evt_h")
    assert receiver.requests == []


# -- replay ----------------------------------------------------------------------------------


async def test_replay_counts_a_503_failed_and_a_200_delivered_never_retrying(
    store: Store,
) -> None:
    ids = [(await store.submit(submission(b'{"n": %d}' % i))).id for i in range(2)]
    receiver = Receiver(
        by_request=lambda r: reply(503 if r.header("X-Hookyard-Id") == ids[0] else 200)
    )
    dests = parse_destinations({"app": {"url": URL, "retry": FAST}})
    batch = await replay(store, dests, receiver, ids)
    assert (batch.delivered, batch.failed, batch.skipped) == (1, 1, 0)
    assert len(receiver.requests) == 2  # a failed replay is not retried
    assert {r.header("X-Hookyard-Replay-Of") for r in receiver.requests} == set(ids)
    assert {r.header("X-Hookyard-Attempt") for r in receiver.requests} == {"1"}
    [failed] = await store.replay_batch_dispatches(batch.id, status="failed")
    assert failed.event_id == ids[0]
    assert failed.attempt_log[0].decision == "failed: HTTP 503 (not retried)"


async def test_replay_dry_run_records_a_masked_preview_and_sends_nothing(store: Store) -> None:
    ids = [(await store.submit(submission())).id]
    receiver = Receiver()
    dests = parse_destinations({"app": {"url": URL, "dry_run": True, "headers": SECRET_HEADERS}})
    batch = await replay(store, dests, receiver, ids)
    assert batch.skipped == 1 and receiver.requests == []
    [dispatch] = await store.replay_batch_dispatches(batch.id, status="dry_run")
    excerpt = dispatch.attempt_log[0].response_excerpt
    assert excerpt.startswith(f"POST {URL}\n".encode())
    assert b"Authorization: Bearer **** (6 chars)\n" in excerpt and b"s3cret" not in excerpt
    assert f"X-Hookyard-Replay-Of: {ids[0]}\n".encode() in excerpt


async def test_replay_handler_skips_what_was_processed_unless_forced(store: Store) -> None:
    HANDLED.clear()
    ids = [(await store.submit(submission(provider_id="evt_p"))).id]
    dests = parse_destinations({"app": {"handler": f"{__name__}:handle"}})
    first = await replay(store, dests, Receiver(), ids)
    again = await replay(store, dests, Receiver(), ids)
    assert (first.delivered, again.skipped) == (1, 1)
    [event] = HANDLED
    assert (event.attempt, event.replay_of, event.idempotency_key) == (1, ids[0], "evt_p")


# -- one key ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider_id", ["evt_k", None])
async def test_the_idempotency_key_is_one_across_worker_replay_and_handler(
    store: Store, provider_id: str | None
) -> None:
    HANDLED.clear()
    http = parse_destinations({"app": {"url": URL}})
    worker_receiver, replay_receiver = Receiver(), Receiver()
    record = await worker_delivers(
        store, http, worker_receiver, {"delivered"}, provider_id=provider_id
    )
    event_id = record.summary.id
    await replay(store, http, replay_receiver, [event_id])
    handler = parse_destinations({"app": {"handler": f"{__name__}:handle"}})
    await replay(store, handler, Receiver(), [event_id])
    key = provider_id or event_id  # the provider's id, else hookyard's
    [stored] = await store.replay_payloads([event_id])
    assert stored.idempotency_key == key
    assert worker_receiver.requests[0].header("Idempotency-Key") == key
    assert replay_receiver.requests[0].header("Idempotency-Key") == key
    assert HANDLED[0].idempotency_key == key
    # A handler event built by hand agrees with the stored one, too.
    by_hand = Event(
        id=event_id, source="demo", type=None, headers=(), body=b"", provider_event_id=provider_id
    )
    assert by_hand.idempotency_key == key
