"""The mirror lane on every backend, sending to a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson

from hookyard.clock import now_us
from hookyard.config import Settings, settings_from_mapping
from hookyard.delivery.sender import HttpxTransport
from hookyard.mirror.copy import CopyMaker
from hookyard.mirror.lane import Lane, backfill
from hookyard.mirror.pressure import Headroom
from hookyard.store.base import Store
from support.factories import submission
from support.netguard import LOOPBACK
from support.sink import ScriptedServer


def configured(sink: ScriptedServer, **mirror: Any) -> Settings:
    # The suite keeps the CPUs busy: lanes here do not wait for headroom (tested below
    # with a pressure file of its own, and in tests/unit/mirror/test_mirror_pressure.py).
    table = {
        "sources": ["demo"],
        "url": sink.url("/staging/{source}"),
        "max_cpu_pressure": 1,
        **mirror,
    }
    data = {"sources": {"demo": {}, "other": {}}, "mirrors": {"staging": table}}
    return settings_from_mapping(data, "cfg.toml")


def lane_for(settings: Settings, store: Store, transport: HttpxTransport) -> Lane:
    mirror = settings.mirrors["staging"]
    schemes = {name: source.scheme for name, source in settings.sources.items()}
    return Lane(mirror, store, CopyMaker(mirror, schemes), transport, settle_us=0)


async def put(store: Store, n: int, *, at_us: int | None = None, **kwargs: Any) -> list[str]:
    ids = []
    for i in range(n):
        body = orjson.dumps({"id": f"evt_{i}", "type": "order.paid", "n": i})
        sub = submission(body, received_us=at_us, **kwargs)
        ids.append((await store.submit(sub)).id)
    return ids


async def test_the_lane_sends_each_accepted_event_once_and_logs_it(
    store: Store, sink: ScriptedServer
) -> None:
    transport = HttpxTransport(policy=LOOPBACK)
    try:
        ids = await put(store, 5)
        await put(store, 2, verdict="invalid")
        await put(store, 2, source="other")
        lane = lane_for(configured(sink), store, transport)
        assert await lane.step() == 5
        assert await lane.step() == 0  # the cursor moved past them
    finally:
        await transport.aclose()
    assert sorted(r.header("X-Hookyard-Mirror-Of") or "" for r in sink.received) == sorted(ids)
    assert {r.path for r in sink.received} == {"/staging/demo"}
    pairs = await store.mirror_pairs("staging", compare_with=None, since_us=0)
    assert sorted(p.copy.event_id for p in pairs) == sorted(ids)
    assert {p.copy.status_code for p in pairs} == {200}
    state = await store.mirror_lane("staging")
    assert state is not None and state.counts == {"2xx": 5}
    last = max(p.copy.received_us for p in pairs)
    # A short batch read the whole log up to its end: the cursor is past the last event.
    assert state.cursor is not None and state.cursor.received_us > last


async def test_old_events_are_skipped_as_lagging_not_sent_late(
    store: Store, sink: ScriptedServer
) -> None:
    transport = HttpxTransport(policy=LOOPBACK)
    try:
        await put(store, 3, at_us=now_us() - 120_000_000)
        fresh = await put(store, 1)
        await lane_for(configured(sink, max_lag="60s"), store, transport).step()
    finally:
        await transport.aclose()
    assert [r.header("X-Hookyard-Mirror-Of") for r in sink.received] == fresh
    state = await store.mirror_lane("staging")
    assert state is not None and state.counts == {"2xx": 1, "lagging": 3}


async def test_an_empty_bucket_drops_and_counts(store: Store, sink: ScriptedServer) -> None:
    transport = HttpxTransport(policy=LOOPBACK)
    try:
        await put(store, 20)
        await lane_for(configured(sink, rate=5, burst=5), store, transport).step()
    finally:
        await transport.aclose()
    assert len(sink.received) == 5
    state = await store.mirror_lane("staging")
    assert state is not None and state.counts == {"2xx": 5, "rate_limited": 15}


async def test_sampling_and_dry_run_send_nothing_they_should_not(
    store: Store, sink: ScriptedServer
) -> None:
    transport = HttpxTransport(policy=LOOPBACK)
    try:
        await put(store, 40)
        await lane_for(configured(sink, sample_rate=0.5, dry_run=True), store, transport).step()
    finally:
        await transport.aclose()
    assert sink.received == []
    pairs = await store.mirror_pairs("staging", compare_with=None, since_us=0, with_bodies=True)
    reasons = [p.copy.reason for p in pairs]
    assert set(reasons) == {"dry_run", "sampled_out"} and len(reasons) == 40
    dry = [p.copy for p in pairs if p.copy.reason == "dry_run"]
    assert all(
        c.body_sha256 and b"X-Hookyard-Mirror: production" in c.response_excerpt for c in dry
    )


async def test_a_failing_staging_is_logged_not_retried(store: Store, sink: ScriptedServer) -> None:
    from support.sink import Reply

    sink.then(Reply(503, body=b'{"error": "boom"}'))
    transport = HttpxTransport(policy=LOOPBACK)
    try:
        await put(store, 1)
        lane = lane_for(configured(sink), store, transport)
        await lane.step()
        await lane.step()
    finally:
        await transport.aclose()
    assert len(sink.received) == 1
    (pair,) = await store.mirror_pairs("staging", compare_with=None, since_us=0, with_bodies=True)
    assert pair.copy.status_code == 503 and pair.copy.response_excerpt == b'{"error": "boom"}'


async def test_a_quiet_sources_cursor_keeps_up_with_the_log(
    store: Store, sink: ScriptedServer
) -> None:
    transport = HttpxTransport(policy=LOOPBACK)
    try:
        [mirrored] = await put(store, 1)
        lane = lane_for(configured(sink), store, transport)
        assert await lane.step() == 1
        newest = now_us()
        await put(store, 3, source="other", at_us=newest)  # not mirrored
        assert await lane.step() == 0
        assert lane.cursor is not None and lane.cursor.received_us > newest
        lane._last_beat = 0.0  # the next idle step is due to beat
        assert await lane.step() == 0
    finally:
        await transport.aclose()
    state = await store.mirror_lane("staging")
    assert state is not None and state.cursor == lane.cursor  # persisted by the heartbeat
    assert [r.header("X-Hookyard-Mirror-Of") for r in sink.received] == [mirrored]


async def test_a_lane_sends_nothing_while_the_cpus_are_busy(
    store: Store, sink: ScriptedServer, tmp_path: Path
) -> None:
    pressure = tmp_path / "cpu"
    pressure.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    mirror = configured(sink).mirrors["staging"]
    transport = HttpxTransport(policy=LOOPBACK)
    headroom = Headroom(0.1, name="staging", path=pressure, probe_seconds=0.05)
    lane = Lane(mirror, store, CopyMaker(mirror, {}), transport, settle_us=0, headroom=headroom)
    stop = asyncio.Event()
    ids = await put(store, 3)
    started = time.monotonic()

    async def busy_machine() -> None:  # tasks wait for a CPU half of the time
        while True:
            waited = int((time.monotonic() - started) * 500_000)
            pressure.write_text(f"some avg10=50.00 avg60=0.00 avg300=0.00 total={waited}\n")
            await asyncio.sleep(0.005)

    machine = asyncio.create_task(busy_machine())
    runner = asyncio.create_task(lane.run(stop))
    try:
        await asyncio.sleep(0.5)
        assert sink.received == []  # it waits for room
        machine.cancel()  # the machine quietens
        deadline = time.monotonic() + 10
        while len(sink.received) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        machine.cancel()
        stop.set()
        await runner
        await transport.aclose()
    assert sorted(r.header("X-Hookyard-Mirror-Of") or "" for r in sink.received) == sorted(ids)


async def test_a_stopped_lane_resumes_from_its_cursor(store: Store, sink: ScriptedServer) -> None:
    settings = configured(sink)
    transport = HttpxTransport(policy=LOOPBACK)
    try:
        first = await put(store, 3)
        await lane_for(settings, store, transport).step()
        second = await put(store, 2)
        stop = asyncio.Event()
        lane = lane_for(settings, store, transport)  # a new lane reads the stored cursor
        runner = asyncio.create_task(lane.run(stop))
        deadline = time.monotonic() + 10
        while len(sink.received) < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        stop.set()
        await runner
    finally:
        await transport.aclose()
    sent = [r.header("X-Hookyard-Mirror-Of") or "" for r in sink.received]
    # Copies of one batch go out concurrently: compare each batch as a set.
    assert sorted(sent[:3]) == sorted(first) and sorted(sent[3:]) == sorted(second)


async def test_backfill_sends_a_past_window_without_moving_the_cursor(
    store: Store, sink: ScriptedServer
) -> None:
    settings = configured(sink, max_lag="1s")
    mirror = settings.mirrors["staging"]
    old = now_us() - 3_600_000_000
    transport = HttpxTransport(policy=LOOPBACK)
    try:
        ids = await put(store, 200, at_us=old)
        await put(store, 5, at_us=old - 7_200_000_000)  # before the window
        tallies: list[int] = []
        tally = await backfill(
            mirror,
            store,
            CopyMaker(mirror, {}),
            transport,
            since_us=old - 1,
            until_us=now_us(),
            on_batch=lambda t: tallies.append(t.read),
        )
    finally:
        await transport.aclose()
    assert tally.read == 200 and tally.sent == 200 and tally.outcomes == {"2xx": 200}
    assert tallies[-1] == 200
    assert sorted(r.header("X-Hookyard-Mirror-Of") or "" for r in sink.received) == sorted(ids)
    state = await store.mirror_lane("staging")
    assert state is not None and state.cursor is None  # the live lane's cursor is untouched
