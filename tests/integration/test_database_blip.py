"""Delivery survives PostgreSQL refusing connections for a moment.

A real TCP proxy stands between hookyard and PostgreSQL; cutting it drops every
connection and refuses new ones (``ConnectionRefusedError``, an ``OSError``), which is
what a restart of the database looks like from here. The claim loop once died on that
error and nothing was delivered again until a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from hookyard.delivery.destinations import parse_destinations
from hookyard.delivery.worker import DeliveryService
from hookyard.exceptions import StoreError
from hookyard.models import WriteResult
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission
from support.netguard import LOOPBACK
from support.sink import ScriptedServer
from support.tcpproxy import TcpProxy, proxied_url
from support.waiting import eventually_async

pytestmark = pytest.mark.postgres
FAST = {"schedule": ["50ms"], "jitter": False}


@pytest.fixture
async def through_proxy(pg_url: str) -> AsyncIterator[tuple[Store, TcpProxy]]:
    with proxied_url(pg_url) as (url, proxy):
        store = open_store(url)
        await store.start()
        try:
            yield store, proxy
        finally:
            proxy.restore()
            await store.close()


async def submit_until_stored(store: Store, destinations: tuple[str, ...]) -> WriteResult:
    """Ingest's view of a blip: a write fails (503) until the writer has reconnected."""

    async def attempt() -> WriteResult | None:
        try:
            return await store.submit(submission(destinations=destinations))
        except StoreError:
            return None

    return await eventually_async(attempt, timeout=15, message="no write went through")


async def delivered(store: Store, event_id: str) -> bool:
    record = await store.get_event(event_id)
    return record is not None and record.summary.status == "delivered"


async def test_the_claim_loop_survives_refused_connections_and_logs_once(
    through_proxy: tuple[Store, TcpProxy],
    sink: ScriptedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, proxy = through_proxy
    dests = parse_destinations({"app": {"url": sink.url(), "retry": FAST}})
    service = DeliveryService(store, dests, poll_interval=0.05, policy=LOOPBACK)
    await service.start()
    try:
        first = await submit_until_stored(store, ("app",))
        await eventually_async(lambda: delivered(store, first.id), message="first not delivered")

        caplog.set_level(logging.INFO, logger="hookyard")
        proxy.cut()
        claims = service.supervisor.loops["claim-loop"]
        await eventually_async(
            _async(lambda: claims.streak.failures >= 3), message="claims did not fail"
        )
        assert claims.describe()["state"] == "failing"
        assert claims.running
        await asyncio.sleep(0.5)  # more failing passes, still one line

        proxy.restore()
        second = await submit_until_stored(store, ("app",))
        await eventually_async(
            lambda: delivered(store, second.id), message="nothing delivered after the blip"
        )
        assert claims.healthy
        assert len(sink.received) == 2

        def recovery_lines() -> int:
            return [r.getMessage() for r in caplog.records].count("claim-loop recovered")

        # Written once the loop has worked for a moment (supervision.SETTLE_SECONDS).
        await eventually_async(_async(lambda: recovery_lines() == 1), message="no recovery line")
    finally:
        await service.stop(grace=2)

    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("claim-loop failing") == 1, messages
    assert messages.count("claim-loop recovered") == 1, messages


async def test_wake_ups_come_back_after_the_listener_connection_is_lost(
    through_proxy: tuple[Store, TcpProxy], sink: ScriptedServer
) -> None:
    """With polling all but off, only LISTEN/NOTIFY can wake the worker: the listening
    connection must be made again after a cut."""
    store, proxy = through_proxy
    dests = parse_destinations({"app": {"url": sink.url(), "retry": FAST}})
    service = DeliveryService(store, dests, poll_interval=60, policy=LOOPBACK)
    await service.start()
    try:
        listeners = [s for n, s in store.loops.loops.items() if n.startswith("dispatch-listener")]
        [listener] = listeners
        proxy.cut()
        await eventually_async(
            _async(lambda: listener.streak.failures >= 1), message="the listener did not notice"
        )
        proxy.restore()
        await eventually_async(_async(lambda: listener.healthy), message="no new listener")
        # The claim loop's own poll is a minute away; a prompt delivery is a NOTIFY.
        written = await submit_until_stored(store, ("app",))
        await eventually_async(
            lambda: delivered(store, written.id), timeout=10, message="not woken after the blip"
        )
    finally:
        await service.stop(grace=2)


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def run() -> bool:
        return check()

    return run
