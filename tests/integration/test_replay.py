"""Replay on every backend: the real store, real HTTP receivers on 127.0.0.1, no fakes."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.delivery.destinations import Destination, parse_destinations
from hookyard.delivery.worker import DeliveryService
from hookyard.exceptions import UsageError
from hookyard.filtering import filter_from_params
from hookyard.models import ReplayBatch
from hookyard.replay import Replayer, ReplayManager, ReplayPlan, resolve_target
from hookyard.signatures.base import SignedMessage
from hookyard.signatures.standard_webhooks import StandardWebhooks
from hookyard.store.base import Store
from support.factories import submission
from support.fastsink import FastSink, running_fast_sink
from support.netguard import LOOPBACK
from support.server import free_port
from support.sink import Received, Reply, ScriptedServer
from support.waiting import eventually_async

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#: Bodies no re-serialisation survives: every byte value, invalid UTF-8, CRLFs, empty.
BODIES = [
    bytes(range(256)) + b"\r\n\xc3\x28" * 50,
    b'{"type": "order.created",   "id": "evt_a" }\n',
    b"",
    b"<xml>\x00\xff</xml>",
    b'{"big": "' + b"x" * 300_000 + b'"}',
]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def by_header(sink: ScriptedServer, name: str) -> dict[str | None, Received]:
    return {r.header(name): r for r in sink.received}


async def stored(store: Store, count: int = 3, **kwargs: Any) -> list[str]:
    return [(await store.submit(submission(b'{"n": %d}' % i, **kwargs))).id for i in range(count)]


async def run(
    store: Store, plan: ReplayPlan, replayer: Replayer | None = None
) -> tuple[ReplayBatch, list[str]]:
    replayer = replayer or Replayer(store, policy=LOOPBACK)
    ids = await replayer.select(plan)
    batch = await replayer.begin(plan, ids)
    return await replayer.run(batch, plan, ids), ids


def to_url(url: str, ids: list[str], **kwargs: Any) -> ReplayPlan:
    target = resolve_target({}, url=url, **kwargs)
    return ReplayPlan(target=target, ids=tuple(ids), selection={"ids": ids})


async def test_bodies_arrive_byte_identical_re_signed_and_linked_to_their_originals(
    store: Store, sink: ScriptedServer
) -> None:
    written = []
    for index, body in enumerate(BODIES):
        provider_id = f"evt_{index}" if index % 2 == 0 else None
        written.append(await store.submit(submission(body, provider_id=provider_id)))
    ids = [w.id for w in written]
    plan = to_url(sink.url(), ids, sign_scheme="standard-webhooks", sign_secret=SECRET)
    started = time.time()
    batch, _ = await run(store, plan)

    assert (batch.status, batch.total, batch.delivered, batch.failed) == ("done", 5, 5, 0)
    assert batch.selection == {"ids": ids}
    assert batch.target == f"url:{sink.url()}"
    assert batch.options["signing"] == "standard-webhooks"
    received = by_header(sink, "X-Hookyard-Replay-Of")
    assert set(received) == set(ids)
    for index, (event_id, body) in enumerate(zip(ids, BODIES, strict=True)):
        got = received[event_id]
        assert sha(got.body) == sha(body)
        assert got.header("X-Hookyard-Id") == event_id
        # The original's key: the provider's event id, else hookyard's id.
        assert got.header("Idempotency-Key") == (f"evt_{index}" if index % 2 == 0 else event_id)
        assert got.header("webhook-id") == got.header("Idempotency-Key")
        assert int(got.header("webhook-timestamp") or 0) >= int(started)  # a fresh timestamp
        verdict = StandardWebhooks().verify(
            SignedMessage.from_text_headers(got.headers, got.body), [SECRET], now=time.time()
        )
        assert verdict.status == "valid", verdict.reason

        record = await store.get_event(event_id)
        assert record is not None
        [dispatch] = record.dispatches
        assert dispatch.replay_of == event_id and dispatch.batch_id == batch.id
        assert dispatch.status == "delivered" and dispatch.destination == batch.target
        [attempt] = dispatch.attempt_log
        assert attempt.status_code == 200 and attempt.response_excerpt == b"ok"
        assert attempt.decision == "delivered: HTTP 200"
        assert record.summary.status == "stored"  # the original's own state is untouched


async def test_a_configured_destination_is_used_with_its_signing_and_headers(
    store: Store, sink: ScriptedServer
) -> None:
    ids = await stored(store, 2, provider_id=None)
    dests = parse_destinations(
        {
            "app": {
                "url": sink.url("/app"),
                "signing": {"scheme": "standard-webhooks", "secret": SECRET},
                "headers": {"Authorization": "Bearer t0ken"},
            }
        }
    )
    target = resolve_target(dests, to="app")
    batch, _ = await run(store, ReplayPlan(target=target, ids=tuple(ids)))
    assert batch.target == "app" and batch.delivered == 2
    for got in sink.received:
        assert got.path == "/app" and got.header("Authorization") == "Bearer t0ken"
        message = SignedMessage.from_text_headers(got.headers, got.body)
        assert StandardWebhooks().verify(message, [SECRET], now=time.time()).status == "valid"
    record = await store.get_event(ids[0])
    assert record is not None and record.dispatches[0].destination == "app"


async def test_failures_are_attempted_once_counted_and_kept_out_of_the_dlq(
    store: Store, sink: ScriptedServer
) -> None:
    ids = await stored(store, 3)
    sink.then(Reply(200), Reply(503, body=b"down for deploy"), Reply(200))
    plan = to_url(sink.url(), ids)
    batch, _ = await run(store, ReplayPlan(target=plan.target, ids=plan.ids, concurrency=1))
    assert (batch.status, batch.delivered, batch.failed, batch.skipped) == ("done", 2, 1, 0)
    assert len(sink.received) == 3  # nothing retried
    [failure] = await store.replay_batch_dispatches(batch.id, status="failed")
    assert failure.event_id == ids[1] and failure.replay_of == ids[1]
    [attempt] = failure.attempt_log
    assert attempt.status_code == 503 and attempt.response_excerpt == b"down for deploy"
    assert attempt.decision.startswith("failed: HTTP 503")
    assert await store.list_dispatches(status="dead") == []
    # A worker never picks a replayed dispatch up again.
    claimed = await store.claim_due(
        "w",
        now_us=time.time_ns() // 1000 + 10**9,
        lease_us=10**6,
        limit=10,
        destinations=[batch.target],
    )
    assert claimed == []


async def test_an_unreachable_receiver_is_a_recorded_failure(store: Store) -> None:
    ids = await stored(store, 2)
    batch, _ = await run(store, to_url(f"http://127.0.0.1:{free_port()}/x", ids))
    assert (batch.status, batch.failed) == ("done", 2)
    failures = await store.replay_batch_dispatches(batch.id, status="failed")
    assert {f.event_id for f in failures} == set(ids)
    attempt = failures[0].attempt_log[0]
    assert attempt.status_code is None and attempt.error_class == "ConnectError"


async def test_a_filter_takes_the_newest_matches_and_sends_them_oldest_first(
    store: Store, sink: ScriptedServer
) -> None:
    orders = [
        (
            await store.submit(
                submission(b"order %d" % i, source="shop", event_type="order.created")
            )
        ).id
        for i in range(5)
    ]
    await store.submit(submission(b"refund", source="shop", event_type="refund.created"))
    await store.submit(submission(b"other", source="crm", event_type="order.created"))
    query, limit = filter_from_params({"source": "shop", "type": "order.*", "limit": 3})
    target = resolve_target({}, url=sink.url())
    plan = ReplayPlan(
        target=target, query=query, max_events=limit, selection={"limit": 3}, concurrency=1
    )
    batch, ids = await run(store, plan)
    assert ids == orders[2:]
    assert [r.header("X-Hookyard-Replay-Of") for r in sink.received] == orders[2:]
    assert batch.total == 3 and batch.delivered == 3


async def test_a_filter_on_status_replays_dead_events(store: Store, sink: ScriptedServer) -> None:
    dead = await store.submit(submission(b"dead one", destinations=("app",)))
    alive = await store.submit(submission(b"fine one", destinations=("app",)))
    now = time.time_ns() // 1000
    claimed = await store.claim_due("w", now_us=now, lease_us=10**7, limit=10, destinations=["app"])
    from hookyard.models import AttemptRecord

    for c in claimed:
        status = "dead" if c.event_id == dead.id else "delivered"
        attempt = AttemptRecord(c.dispatch_id, 1, now, 1.0, 500, (), b"", None, None, status, None)
        assert await store.record_attempt("w", attempt, status=status)
    query, limit = filter_from_params({"status": "dead"})
    plan = ReplayPlan(target=resolve_target({}, url=sink.url()), query=query, max_events=limit)
    batch, ids = await run(store, plan)
    assert ids == [dead.id] and alive.id not in ids
    assert [r.body for r in sink.received] == [b"dead one"]
    record = await store.get_event(dead.id)
    assert record is not None
    assert {d.status for d in record.dispatches} == {"dead", "delivered"}
    assert record.summary.status == "dead"  # replays do not rewrite the original's status
    assert batch.delivered == 1


async def test_unknown_ids_are_refused_before_anything_is_sent(
    store: Store, sink: ScriptedServer
) -> None:
    ids = await stored(store, 1)
    with pytest.raises(UsageError, match="no event with id 'nope'"):
        await Replayer(store).select(to_url(sink.url(), [*ids, "nope"]))
    assert sink.received == []


async def test_the_rate_limit_paces_the_sends(store: Store, sink: ScriptedServer) -> None:
    ids = await stored(store, 8)
    plan = to_url(sink.url(), ids)
    plan = ReplayPlan(target=plan.target, ids=plan.ids, rate=20.0)
    started = time.monotonic()
    batch, _ = await run(store, plan)
    # A burst of two, then one every 50 ms.
    assert time.monotonic() - started >= 0.25
    assert batch.delivered == 8 and batch.options["rate"] == 20.0


HANDLED: list[tuple[str, str | None]] = []


def remember(event: Any) -> None:
    HANDLED.append((event.idempotency_key, event.replay_of))


def broken(event: Any) -> None:
    raise RuntimeError("handler broke")


async def test_handlers_skip_what_they_processed_unless_forced(store: Store) -> None:
    HANDLED.clear()
    dests = parse_destinations({"fn": {"handler": f"{__name__}:remember"}})
    ids = await stored(store, 2, provider_id=None)
    first = await store.submit(submission(b"keyed", provider_id="evt_k"))
    ids.append(first.id)
    target = resolve_target(dests, to="fn")
    batch, _ = await run(store, ReplayPlan(target=target, ids=tuple(ids)))
    assert batch.delivered == 3
    assert sorted(HANDLED) == sorted([(ids[0], ids[0]), (ids[1], ids[1]), ("evt_k", first.id)])

    HANDLED.clear()
    again, _ = await run(store, ReplayPlan(target=target, ids=tuple(ids)))
    assert (again.delivered, again.skipped) == (0, 3) and HANDLED == []
    skipped = await store.replay_batch_dispatches(again.id, status="skipped")
    assert {d.event_id for d in skipped} == set(ids)
    assert skipped[0].attempt_log[0].decision.startswith("skipped: already processed")

    forced, _ = await run(store, ReplayPlan(target=target, ids=tuple(ids), force=True))
    assert (forced.delivered, forced.skipped) == (3, 0) and len(HANDLED) == 3


async def test_handlers_skip_events_the_worker_already_delivered(store: Store) -> None:
    HANDLED.clear()
    dests = parse_destinations({"fn": {"handler": f"{__name__}:remember"}})
    worker = DeliveryService(store, dests, poll_interval=0.05, policy=LOOPBACK)
    await worker.start()
    try:
        written = await store.submit(submission(b"once", provider_id="evt_w", destinations=("fn",)))
        await eventually_async(
            lambda: store.is_processed("fn", "evt_w"),
            timeout=10,
            message="the worker did not run the handler for evt_w",
        )
    finally:
        await worker.stop(grace=2)
    batch, _ = await run(
        store, ReplayPlan(target=resolve_target(dests, to="fn"), ids=(written.id,))
    )
    assert batch.skipped == 1 and HANDLED == [("evt_w", None)]


async def test_a_failing_handler_is_a_failed_replay(store: Store) -> None:
    dests = parse_destinations({"fn": {"handler": f"{__name__}:broken"}})
    ids = await stored(store, 1)
    batch, _ = await run(store, ReplayPlan(target=resolve_target(dests, to="fn"), ids=tuple(ids)))
    assert batch.failed == 1
    [failure] = await store.replay_batch_dispatches(batch.id, status="failed")
    assert failure.attempt_log[0].error_class == "RuntimeError"
    assert not await store.is_processed("fn", ids[0])


async def test_a_dry_run_destination_builds_and_sends_nothing(
    store: Store, sink: ScriptedServer
) -> None:
    dests = parse_destinations({"app": {"url": sink.url(), "dry_run": True}})
    ids = await stored(store, 2)
    batch, _ = await run(store, ReplayPlan(target=resolve_target(dests, to="app"), ids=tuple(ids)))
    assert (batch.skipped, batch.delivered) == (2, 0) and sink.received == []


async def test_a_slow_run_keeps_telling_the_store_it_is_alive(
    store: Store, sink: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paced run writes no results for a while; its heartbeat still moves ``updated_us``,
    so that a reader can tell it from a run whose process is gone (shown ``interrupted``)."""
    from hookyard.replay import STALE_AFTER_SECONDS, batch_json, runner

    monkeypatch.setattr(runner, "HEARTBEAT_SECONDS", 0.1)
    ids = await stored(store, 3)
    plan = to_url(sink.url(), ids)
    plan = ReplayPlan(target=plan.target, ids=plan.ids, rate=1.0)  # one send a second
    replayer = Replayer(store, policy=LOOPBACK)
    batch = await replayer.begin(plan, await replayer.select(plan))
    running = asyncio.create_task(replayer.run(batch, plan, ids))
    seen = set()
    while not running.done():
        current = await store.get_replay_batch(batch.id)
        assert current is not None
        if current.status == "running":
            seen.add((current.done, current.updated_us))
        await asyncio.sleep(0.05)
    assert (await running).delivered == 3
    # Several heartbeats between two results: the same count, later times.
    counts = [done for done, _ in seen]
    assert any(counts.count(done) >= 3 for done in set(counts)), sorted(seen)
    stale = dataclasses.replace(batch, updated_us=batch.created_us)
    late = batch.created_us + int(STALE_AFTER_SECONDS * 1e6) + 1
    assert batch_json(stale, at_us=late)["status"] == "interrupted"
    assert batch_json(stale, at_us=late - 2)["status"] == "running"


async def test_cancelling_a_run_records_what_was_done_and_marks_the_batch(
    store: Store, sink: ScriptedServer
) -> None:
    ids = await stored(store, 30)
    sink.then(*[Reply(200, delay=0.1)] * 30)
    plan = to_url(sink.url(), ids)
    plan = ReplayPlan(target=plan.target, ids=plan.ids, concurrency=2)
    replayer = Replayer(store, policy=LOOPBACK)
    batch = await replayer.begin(plan, ids)
    task = asyncio.create_task(replayer.run(batch, plan, ids))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    final = await store.get_replay_batch(batch.id)
    assert final is not None and final.status == "cancelled"
    assert 0 < final.done < 30 and final.finished_us is not None
    recorded = await store.replay_batch_dispatches(batch.id, status="delivered", limit=100)
    assert len(recorded) == final.delivered


@pytest.mark.slow
async def test_a_bulk_replay_of_ten_thousand_events(store: Store) -> None:
    count = 10_000
    bodies = [b'{"n": %d, "pad": "%s"}' % (i, b"%x" % (i * 7919) * 20) for i in range(count)]
    ids: list[str] = []
    for start in range(0, count, 2000):
        chunk = bodies[start : start + 2000]
        written = await asyncio.gather(
            *(
                store.submit(submission(b, provider_id=f"evt_{start + i}"))
                for i, b in enumerate(chunk)
            )
        )
        ids.extend(w.id for w in written)
    expected = {event_id: sha(body) for event_id, body in zip(ids, bodies, strict=True)}
    keys = {event_id: f"evt_{i}" for i, event_id in enumerate(ids)}
    with running_fast_sink() as fast:
        target = resolve_target({}, url=fast.url())
        plan = ReplayPlan(
            target=target, query=filter_from_params({"source": "demo"})[0], concurrency=64
        )
        started = time.monotonic()
        batch, selected = await run(store, plan)
        elapsed = time.monotonic() - started
    assert sorted(selected) == sorted(ids)
    assert (batch.status, batch.total, batch.delivered, batch.failed) == ("done", count, count, 0)
    assert len(fast.seen) == count
    arrived = {s.header("x-hookyard-replay-of"): s for s in fast.seen}
    assert len(arrived) == count
    for event_id, seen in arrived.items():
        assert event_id is not None
        assert seen.sha256 == expected[event_id]
        assert seen.header("idempotency-key") == keys[event_id]
    sample = await store.get_event(ids[1234])
    assert sample is not None and sample.dispatches[0].batch_id == batch.id
    print(f"replayed {count} events in {elapsed:.1f} s ({count / elapsed:.0f}/s)")


# -- the admin API -----------------------------------------------------------------------------


@pytest.fixture
async def api(
    store: Store, sink: ScriptedServer
) -> AsyncIterator[tuple[httpx.AsyncClient, ReplayManager]]:
    dests: dict[str, Destination] = parse_destinations({"app": {"url": sink.url("/app")}})
    manager = ReplayManager(store, dests, LOOPBACK)
    app = create_admin_app(store, admin_token=None, replays=manager)
    transport = httpx.ASGITransport(app=app)
    # A loopback Host: the admin app serves no other by default (hookyard.api.guard).
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client, manager
    await manager.stop()


async def progress(client: httpx.AsyncClient, batch_id: str) -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        response = await client.get(f"/api/replays/{batch_id}")
        assert response.status_code == 200
        data: dict[str, Any] = response.json()
        return data if data["status"] != "running" else None

    return await eventually_async(
        finished, timeout=10, message=f"replay batch {batch_id} still running"
    )


async def test_api_starts_a_replay_in_the_background_and_reports_progress(
    store: Store, sink: ScriptedServer, api: tuple[httpx.AsyncClient, ReplayManager]
) -> None:
    client, _ = api
    ids = await stored(store, 3)
    sink.then(Reply(200), Reply(500, body=b"nope"), Reply(200))
    response = await client.post(
        "/api/replays", json={"ids": ids, "to": "app", "rate": 100, "concurrency": 1}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/replays/{body['id']}"
    assert body["total"] == 3 and body["target"] == "app"
    data = await progress(client, body["id"])
    assert data["status"] == "done"
    assert (data["total"], data["done"], data["delivered"], data["failed"]) == (3, 3, 2, 1)
    assert data["filter"] == {"ids": ids} and data["options"]["rate"] == 100
    [failure] = data["failures"]
    assert failure["status_code"] == 500 and failure["event_id"] == ids[1]
    shown = (await client.get(f"/api/events/{ids[0]}")).json()
    [dispatch] = shown["dispatches"]
    assert dispatch["replay_of"] == ids[0] and dispatch["batch_id"] == body["id"]
    assert dispatch["attempt_log"][0]["status_code"] == 200


async def test_api_replays_by_filter_to_a_url(
    store: Store, api: tuple[httpx.AsyncClient, ReplayManager]
) -> None:
    client, _ = api
    await stored(store, 2, source="shop")
    await stored(store, 1, source="crm")
    with running_fast_sink() as fast:
        response = await client.post(
            "/api/replays", json={"filter": {"source": "shop", "since": "1h"}, "url": fast.url()}
        )
        assert response.status_code == 202, response.text
        data = await progress(client, response.json()["id"])
    assert (data["status"], data["delivered"]) == ("done", 2)
    assert data["filter"] == {"source": "shop", "since": "1h"}
    assert len(fast.seen) == 2


async def test_api_dry_run_previews_and_sends_nothing(
    store: Store, sink: ScriptedServer, api: tuple[httpx.AsyncClient, ReplayManager]
) -> None:
    client, _ = api
    ids = await stored(store, 7)
    response = await client.post(
        "/api/replays", json={"filter": {"source": "demo"}, "to": "app", "dry_run": True}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["dry_run"] is True and data["total"] == 7
    assert [p["id"] for p in data["preview"]] == ids[:5]
    assert data["preview"][0]["event_type"] == "thing.happened"
    await asyncio.sleep(0.2)
    assert sink.received == []
    record = await store.get_event(ids[0])
    assert record is not None and record.dispatches == ()


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ([1, 2], "expected a JSON object"),
        ({"to": "app"}, 'exactly one of "ids"'),
        ({"ids": ["x"], "filter": {}, "to": "app"}, 'exactly one of "ids"'),
        ({"ids": [], "to": "app"}, "non-empty list"),
        ({"ids": ["x"]}, "exactly one of to NAME or url URL"),
        ({"ids": ["x"], "to": "app", "url": "http://a/"}, "exactly one of to"),
        ({"ids": ["x"], "to": "nope"}, "unknown destination 'nope'"),
        ({"ids": ["x"], "url": "ftp://a/"}, "url: must start with http"),
        ({"ids": ["x"], "to": "app", "rate": 0}, "rate must be more than 0"),
        ({"ids": ["x"], "to": "app", "rate": "fast"}, "rate: expected a number"),
        ({"ids": ["x"], "to": "app", "dry_run": "yes"}, "dry_run: expected true or false"),
        ({"ids": ["x"], "to": "app", "retries": 3}, "unknown field 'retries'"),
        ({"filter": {"stauts": "dead"}, "to": "app"}, "unknown filter 'stauts'"),
        ({"filter": {}, "to": "app"}, "filter: give at least one filter"),
        ({"filter": {"status": "zombie"}, "to": "app"}, "filter.status: expected one of"),
        ({"filter": {"since": "yesterday"}, "to": "app"}, "filter.since: expected an ISO time"),
        ({"filter": {"verdict": "meh"}, "to": "app"}, "filter.verdict"),
        ({"filter": {"response_status": "6xx"}, "to": "app"}, "filter.response_status"),
        ({"filter": {"limit": 0}, "to": "app"}, "filter.limit"),
        ({"ids": ["no-such-event"], "to": "app"}, "no event with id 'no-such-event'"),
    ],
)
async def test_api_bad_input_is_a_400_naming_the_problem(
    api: tuple[httpx.AsyncClient, ReplayManager], payload: object, detail: str
) -> None:
    client, _ = api
    response = await client.post("/api/replays", json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"
    assert detail in response.json()["detail"]


async def test_api_body_that_is_not_json_is_a_400(
    api: tuple[httpx.AsyncClient, ReplayManager],
) -> None:
    client, _ = api
    response = await client.post(
        "/api/replays", content=b"\xff{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"] == "bad_request"


async def test_api_unknown_batch_is_a_404(api: tuple[httpx.AsyncClient, ReplayManager]) -> None:
    client, _ = api
    response = await client.get("/api/replays/01NOSUCHBATCH0000000000000")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "no replay batch with that id"}


async def test_stopping_the_server_cancels_running_replays(
    store: Store, sink: ScriptedServer, api: tuple[httpx.AsyncClient, ReplayManager]
) -> None:
    client, manager = api
    ids = await stored(store, 20)
    sink.then(*[Reply(200, delay=0.2)] * 20)
    response = await client.post("/api/replays", json={"ids": ids, "to": "app", "concurrency": 1})
    batch_id = response.json()["id"]
    await asyncio.sleep(0.3)
    assert manager.running == [batch_id]
    await manager.stop()
    data = (await client.get(f"/api/replays/{batch_id}")).json()
    assert data["status"] == "cancelled" and data["done"] < 20
    assert manager.running == []


def test_fast_sink_answers_with_the_status_it_was_given() -> None:
    with running_fast_sink(status=418) as fast:
        assert isinstance(fast, FastSink)
        response = httpx.post(fast.url(), content=b"abc")
    assert response.status_code == 418 and fast.seen[0].sha256 == sha(b"abc")


async def test_a_filter_that_matches_nothing_records_an_empty_batch(
    store: Store, sink: ScriptedServer
) -> None:
    await stored(store, 2, source="demo")
    query, _ = filter_from_params({"source": "nobody"})
    plan = ReplayPlan(target=resolve_target({}, url=sink.url()), query=query)
    batch, ids = await run(store, plan)
    assert ids == [] and (batch.status, batch.total, batch.done) == ("done", 0, 0)
    assert sink.received == []
