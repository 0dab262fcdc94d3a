"""``/metrics`` on real stores: ingest, delivery, the sampled backlog, the [alerts] hook.

Metrics are process-wide, so each test reads a value before and after what it does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from hookyard.app import HookyardApp, create_app
from hookyard.config import settings_from_mapping
from hookyard.delivery.alerts import AlertConfig
from hookyard.delivery.destinations import parse_destinations
from hookyard.delivery.worker import DeliveryService
from hookyard.sampler import BacklogSampler
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission
from support.netguard import LOOPBACK, LOOPBACK_NETWORKS
from support.sink import Reply, ScriptedServer, running_sink
from support.waiting import eventually_async

FAST = {"schedule": ["50ms", "50ms"], "jitter": False}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def settings(database: str, sink_url: str, **server: Any) -> Any:
    return settings_from_mapping(
        {
            "server": {"database": database, "allow_networks": list(LOOPBACK_NETWORKS), **server},
            "sources": {"shop": {"scheme": "none"}},
            "destinations": {"crm": {"url": sink_url, "sources": ["shop"], "retry": FAST}},
        }
    )


@pytest.fixture
async def app(store_url: str, sink: ScriptedServer) -> AsyncIterator[HookyardApp]:
    # The config names no database the memory store could be; the store is given.
    config = settings("sqlite:///not-opened.db", sink.url(), sample_interval="50ms")
    instance = create_app(config, open_store(store_url))
    await instance.startup()
    yield instance
    await instance.shutdown()


async def test_ingest_and_delivery_are_counted_by_source_destination_and_outcome(
    app: HookyardApp, sink: ScriptedServer
) -> None:
    sink.then(Reply(503), Reply(200))
    accepted = value("hookyard_ingest_requests_total", source="shop", outcome="accepted")
    unknown = value("hookyard_ingest_requests_total", source="(unknown)", outcome="unknown_source")
    bodies = value("hookyard_ingest_body_bytes_total", source="shop")
    retried = value("hookyard_attempts_total", destination="crm", decision="retrying", result="5xx")
    done = value("hookyard_attempts_total", destination="crm", decision="delivered", result="2xx")
    end_to_end = value("hookyard_end_to_end_seconds_count", destination="crm")
    commits = value("hookyard_store_commit_batch_size_count")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        answer = await client.post("/in/shop", content=b'{"type": "order.paid"}')
        assert answer.status_code == 202
        assert (await client.post("/in/no-such-source-x1", content=b"{}")).status_code == 404

        async def delivered() -> bool:
            got = value(
                "hookyard_attempts_total", destination="crm", decision="delivered", result="2xx"
            )
            return got == done + 1

        await eventually_async(delivered, message="the delivery was not counted")
        scraped = (await client.get("/metrics")).text
    assert (
        value("hookyard_ingest_requests_total", source="shop", outcome="accepted") == accepted + 1
    )
    assert (
        value("hookyard_ingest_requests_total", source="(unknown)", outcome="unknown_source")
        == unknown + 1
    )
    assert "no-such-source-x1" not in scraped  # a label value is never the client's choice
    assert value("hookyard_ingest_body_bytes_total", source="shop") == bodies + 22
    assert (
        value("hookyard_attempts_total", destination="crm", decision="retrying", result="5xx")
        == retried + 1
    )
    assert value("hookyard_end_to_end_seconds_count", destination="crm") == end_to_end + 1
    if not app.store.url.startswith("memory"):
        assert value("hookyard_store_commit_batch_size_count") > commits
    assert 'hookyard_build_info{python="' in scraped
    assert "hookyard_up 1.0" in scraped
    assert "hookyard_store_write_queue_depth 0.0" in scraped
    assert 'hookyard_circuit_state{destination="crm"} 0.0' in scraped


async def test_the_sampler_exports_the_backlog_by_destination_and_state(
    store: Store, sink: ScriptedServer
) -> None:
    an_hour_ago = time.time_ns() // 1000 - 3600 * 1_000_000
    for _ in range(3):
        await store.submit(submission(destinations=("crm",), received_us=an_hour_ago))
    await store.submit(submission(destinations=("other",)))
    sampler = BacklogSampler(store, ["crm", "other"], interval=0.01)
    await sampler.sample_once()
    assert value("hookyard_dispatches", destination="crm", state="pending") == 3
    assert value("hookyard_dispatches", destination="other", state="pending") == 1
    assert value("hookyard_dispatches", destination="crm", state="dead") == 0
    age = value("hookyard_oldest_due_dispatch_age_seconds", destination="crm")
    assert 3600 <= age < 3660
    assert value("hookyard_oldest_due_dispatch_age_seconds", destination="other") < 60

    # Delivered (here: dead-lettered by a 400), the backlog is empty and its age 0.
    sink.then(*[Reply(400)] * 3)
    dests = parse_destinations({"crm": {"url": sink.url(), "retry": FAST}})
    service = DeliveryService(store, dests, poll_interval=0.05, policy=LOOPBACK)
    await service.start()
    try:

        async def drained() -> bool:
            await sampler.sample_once()
            return value("hookyard_dispatches", destination="crm", state="dead") == 3

        await eventually_async(drained, message="the dead letters were not sampled")
    finally:
        await service.stop(grace=2)
    assert value("hookyard_dispatches", destination="crm", state="pending") == 0
    assert value("hookyard_oldest_due_dispatch_age_seconds", destination="crm") == 0


@pytest.mark.postgres
async def test_on_postgres_one_process_samples_and_the_turn_passes_on(pg_url: str) -> None:
    first, second = open_store(pg_url), open_store(pg_url)
    await first.start()
    await second.start()
    try:
        await first.submit(submission(destinations=("crm",)))
        now = time.time_ns() // 1000
        taken = await first.sample_backlog(["crm"], now_us=now)
        assert taken is not None and taken.counts[("crm", "pending")] == 1
        assert await second.sample_backlog(["crm"], now_us=now) is None
        assert await first.sample_backlog(["crm"], now_us=now) is not None  # still its turn
        await first.close()
        handed = await second.sample_backlog(["crm"], now_us=now)
        assert handed is not None and handed.total("pending") == 1
    finally:
        await first.close()
        await second.close()


async def test_metrics_off_counts_no_ingest(sqlite_url: str, sink: ScriptedServer) -> None:
    app = create_app(settings(sqlite_url, sink.url(), metrics=False))
    await app.startup()
    try:
        before = value("hookyard_ingest_requests_total", source="shop", outcome="accepted")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            assert (await client.post("/in/shop", content=b"{}")).status_code == 202
        assert value("hookyard_ingest_requests_total", source="shop", outcome="accepted") == before
    finally:
        await app.shutdown()


async def test_the_alert_hook_pages_once_for_an_old_backlog(
    store: Store, sink: ScriptedServer
) -> None:
    an_hour_ago = time.time_ns() // 1000 - 3600 * 1_000_000
    await store.submit(submission(destinations=("crm",), received_us=an_hour_ago))
    alerts = AlertConfig(url=sink.url("/alerts"), backlog_age=600)
    sampler = BacklogSampler(store, ["crm"], interval=0.01, alerts=alerts, policy=LOOPBACK)
    await sampler.start()
    try:

        async def paged() -> bool:
            return len(sink.received) >= 1

        await eventually_async(paged, message="no backlog notice")
        await asyncio.sleep(0.3)  # many more samples, all still over the threshold
    finally:
        await sampler.stop()
    [notice] = [json.loads(r.body) for r in sink.received]
    assert notice["type"] == "hookyard.backlog"
    assert notice["destination"] == "crm" and notice["oldest_due_seconds"] >= 3600
    assert value("hookyard_alerts_sent_total", kind="backlog") >= 1


async def test_daily_dead_letters_mean_one_summary_not_a_notice_per_dispatch(
    store: Store, sink: ScriptedServer
) -> None:
    with running_sink() as alerts_sink:
        alerts = AlertConfig(
            url=alerts_sink.url("/alerts"), dead_letters="daily", backlog_age=None, summary_every=1
        )
        sink.then(Reply(404), Reply(404))
        dests = parse_destinations({"crm": {"url": sink.url(), "retry": FAST}})
        service = DeliveryService(store, dests, poll_interval=0.05, policy=LOOPBACK, alerts=alerts)
        await service.start()
        try:
            for _ in range(2):
                await store.submit(submission(destinations=("crm",)))

            async def both_dead() -> bool:
                return len(await store.list_dispatches(status="dead")) == 2

            await eventually_async(both_dead, message="the dispatches did not die")
            # The sampler's first sample starts the period; the summary comes a period later.
            sampler = BacklogSampler(store, ["crm"], interval=0.05, alerts=alerts, policy=LOOPBACK)
            await sampler.start()
            try:

                async def summarised() -> bool:
                    return any(b"dead_letters.summary" in r.body for r in alerts_sink.received)

                await eventually_async(summarised, message="no dead-letter summary")
                await asyncio.sleep(0.3)  # well inside the next period: nothing more
            finally:
                await sampler.stop()
        finally:
            await service.stop(grace=2)
    notices = [json.loads(r.body) for r in alerts_sink.received]
    assert [n["type"] for n in notices] == ["hookyard.dead_letters.summary"]  # no per-dispatch page
    assert notices[0]["dead"] == 2
    assert notices[0]["destinations"] == {"crm": {"dead": 2, "new": 0}}
