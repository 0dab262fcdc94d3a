"""The SSRF guard at connect time, with real sockets: every transport resolves once,
checks each address and connects to the checked one; a refused address is a failed,
non-retried attempt naming the rule. The API refuses a replay URL it would refuse."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.delivery.alerts import parse_alerts
from hookyard.delivery.bulk import BulkSender
from hookyard.delivery.destinations import parse_destination, parse_destinations
from hookyard.delivery.exchange import OutgoingRequest, SendResult
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.delivery.sender import HttpxTransport, build_request
from hookyard.delivery.transport import Transport
from hookyard.delivery.worker import DeliveryService
from hookyard.models import DeliveryEvent
from hookyard.replay.batches import ReplayManager
from hookyard.store.base import Store
from support.factories import submission
from support.netguard import LOOPBACK
from support.sink import ScriptedServer
from support.waiting import eventually_async

GUARDED = NetPolicy()


def request(url: str) -> OutgoingRequest:
    event = DeliveryEvent(
        received_us=1_700_000_000_000_000,
        id="01HZX3Y4Z5A6B7C8D9E0F1G2H3",
        source="shop",
        event_type="order.paid",
        provider_event_id="evt_1",
        content_type="application/json",
        headers=(),
        body=b"{}",
    )
    return build_request(parse_destination("sink", {"url": url}), event, 1)


def port_of(sink: ScriptedServer) -> int:
    port = urlsplit(sink.url()).port
    assert port is not None
    return port


def transports(policy: NetPolicy) -> list[Transport]:
    # BulkSender sends plain http itself; HttpxTransport goes through the guarded pool.
    return [BulkSender(trust_env=False, policy=policy), HttpxTransport(policy=policy)]


async def send_each(policy: NetPolicy, url: str) -> list[SendResult]:
    results = []
    for transport in transports(policy):
        try:
            results.append(await transport.send(request(url), 5.0))
        finally:
            await transport.aclose()
    return results


def assert_blocked(result: SendResult, shown: str) -> None:
    assert result.status_code is None
    assert (result.error_kind, result.error_class) == ("invalid_request", "BlockedAddress")
    assert result.error_message is not None and shown in result.error_message


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "refused by the SSRF guard: 127.0.0.1 is loopback"),
        # A name is resolved when connecting, and judged by what it resolved to then.
        ("localhost", "localhost: 127.0.0.1 is loopback"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1 is loopback (IPv4-mapped 127.0.0.1)"),
    ],
)
async def test_loopback_is_refused_on_connect_by_both_transports(
    sink: ScriptedServer, host: str, shown: str
) -> None:
    for result in await send_each(GUARDED, f"http://{host}:{port_of(sink)}/hooks"):
        assert_blocked(result, shown)
    assert sink.received == []  # not one byte reached the receiver


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_allowed_loopback_is_delivered_by_both_transports(
    sink: ScriptedServer, host: str
) -> None:
    results = await send_each(LOOPBACK, f"http://{host}:{port_of(sink)}/hooks")
    assert [r.status_code for r in results] == [200, 200]
    assert len(sink.received) == 2


async def test_https_through_the_bulk_senders_own_client_is_guarded_too(
    sink: ScriptedServer,
) -> None:
    sender = BulkSender(trust_env=False)
    try:
        result = await sender.send(request(f"https://127.0.0.1:{port_of(sink)}/"), 5.0)
    finally:
        await sender.aclose()
    assert_blocked(result, "127.0.0.1 is loopback")


async def test_a_name_that_does_not_resolve_is_a_connect_error_not_a_block() -> None:
    for result in await send_each(GUARDED, "http://no-such-host.invalid/hooks"):
        assert (result.error_kind, result.error_class) == ("connect", "ConnectError")


async def test_a_refused_delivery_is_dead_lettered_at_once_with_the_rule(
    store: Store, sink: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = parse_alerts({"url": sink.url("/alert")})
    dests = parse_destinations({"app": {"url": sink.url(), "retry": {"schedule": ["50ms"]}}})
    service = DeliveryService(store, dests, alerts=alerts, poll_interval=0.05)
    caplog.set_level(logging.ERROR, "hookyard.alerts")
    await service.start()
    try:
        written = await store.submit(submission(b"{}", destinations=("app",)))

        async def dead() -> bool:
            record = await store.get_event(written.id)
            return record is not None and record.summary.status == "dead"

        await eventually_async(dead, timeout=10, message="the refused dispatch went dead")
        record = await store.get_event(written.id)
        assert record is not None
        [attempt] = record.dispatches[0].attempt_log  # one attempt: not retried
        assert attempt.error_class == "BlockedAddress"
        assert "127.0.0.1 is loopback" in attempt.decision and "not retryable" in attempt.decision

        async def alert_refused() -> bool:
            return "alert webhook failed: refused by the SSRF guard" in caplog.text

        await eventually_async(alert_refused, timeout=5, message="the alert was refused too")
    finally:
        await service.stop(grace=2)
    assert sink.received == []  # neither the delivery nor the alert got through


@pytest.fixture
async def admin(store: Store) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The admin API with the server's default policy, and with loopback allowed."""
    managers = [ReplayManager(store, {}), ReplayManager(store, {}, LOOPBACK)]
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_admin_app(store, admin_token=None, replays=m)),
            base_url="http://127.0.0.1",
        )
        for m in managers
    ]
    yield clients[0], clients[1]
    for client, manager in zip(clients, managers, strict=True):
        await client.aclose()
        await manager.stop()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:9/hooks", "url: refused by the SSRF guard: 127.0.0.1 is loopback"),
        ("http://localhost:9/", "localhost: 127.0.0.1 is loopback"),
        ("http://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1 is private (IPv4-mapped 10.0.0.1)"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is cloud metadata"),
    ],
)
async def test_an_api_replay_to_a_refused_url_is_a_400_naming_the_rule(
    store: Store,
    admin: tuple[httpx.AsyncClient, httpx.AsyncClient],
    url: str,
    shown: str,
) -> None:
    guarded, _ = admin
    written = await store.submit(submission(b"{}"))
    for dry_run in (False, True):
        body = {"ids": [written.id], "url": url, "dry_run": dry_run}
        response = await guarded.post("/api/replays", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "bad_request" and shown in response.json()["detail"]


async def test_an_api_replay_to_an_allowed_url_runs(
    store: Store, sink: ScriptedServer, admin: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    _, allowing = admin
    written = await store.submit(submission(b"{}"))
    response = await allowing.post("/api/replays", json={"ids": [written.id], "url": sink.url()})
    assert response.status_code == 202, response.text

    async def delivered() -> bool:
        return len(sink.received) == 1

    await eventually_async(delivered, timeout=10, message="the allowed replay was delivered")
