"""``send`` against real HTTP servers on 127.0.0.1, scripted reply by reply."""

from __future__ import annotations

import hashlib
import random
import socket
import time

import httpx
import pytest

from hookyard.delivery.destinations import Destination, parse_destination
from hookyard.delivery.exchange import EXCERPT_BYTES, OutgoingRequest, SendResult
from hookyard.delivery.retry import RetryPolicy, decide
from hookyard.delivery.sender import HttpxTransport, build_request, send
from hookyard.models import DeliveryEvent
from hookyard.signatures.base import SignedMessage
from hookyard.signatures.standard_webhooks import StandardWebhooks
from support.sink import Reply, ScriptedServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#: Every byte value, CRLFs and invalid UTF-8: anything but these exact bytes is a bug.
BODY = bytes(range(256)) + b'\r\n{"type": "invoice.paid"}\r\n' + b"\xc3\x28" * 1000


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event(provider_id: str | None = "evt_42") -> DeliveryEvent:
    return DeliveryEvent(
        received_us=1_700_000_000_000_000,
        id="01HZX3Y4Z5A6B7C8D9E0F1G2H3",
        source="stripe",
        event_type="invoice.paid",
        provider_event_id=provider_id,
        content_type="application/octet-stream; profile=raw",
        headers=(
            (b"Content-Type", b"application/octet-stream; profile=raw"),
            (b"Stripe-Signature", b"t=1,v1=abc"),
        ),
        body=BODY,
    )


def destination(url: str, **table: object) -> Destination:
    return parse_destination("sink", {"url": url, **table})


def decision_for(result: SendResult, attempt: int = 1) -> str:
    return decide(RetryPolicy(), attempt, result.outcome, time.time(), random.Random(0)).kind


# -- success path ----------------------------------------------------------------------------


async def test_the_httpx_transport_sends_through_its_client_and_closes_only_its_own(
    sink: ScriptedServer, client: httpx.AsyncClient
) -> None:
    request = build_request(destination(sink.url()), event(), 1)
    lent = HttpxTransport(client)
    assert (await lent.send(request, 5.0)).status_code == 200
    await lent.aclose()
    assert not client.is_closed  # the caller's client outlives the transport
    assert [r.header("Idempotency-Key") for r in sink.received] == ["evt_42"]
    own = HttpxTransport()  # makes its client, so closes it
    await own.aclose()
    assert own.client.is_closed


async def test_body_bytes_and_headers_arrive_exactly(
    sink: ScriptedServer, client: httpx.AsyncClient
) -> None:
    d = destination(
        sink.url(),
        signing={"scheme": "standard-webhooks", "secret": SECRET},
        headers={"Authorization": "Bearer t0ken"},
    )
    request = build_request(d, event(), 1)
    result = await send(client, request, 5.0)

    assert result.status_code == 200
    assert result.error_kind is None
    assert result.response_excerpt == b"ok"
    assert result.latency_ms > 0
    assert decision_for(result) == "delivered"

    [got] = sink.received
    assert got.method == "POST" and got.path == "/hooks"
    assert hashlib.sha256(got.body).hexdigest() == hashlib.sha256(BODY).hexdigest()
    assert got.header("Content-Type") == "application/octet-stream; profile=raw"
    assert got.header("Content-Length") == str(len(BODY))
    assert got.header("X-Hookyard-Id") == "01HZX3Y4Z5A6B7C8D9E0F1G2H3"
    assert got.header("X-Hookyard-Attempt") == "1"
    assert got.header("Idempotency-Key") == "evt_42"
    assert got.header("Authorization") == "Bearer t0ken"
    assert (got.header("User-Agent") or "").startswith("hookyard/")
    assert got.header("Stripe-Signature") is None  # re-signed, not passed through
    # The receiver can verify what arrived with the destination secret.
    message = SignedMessage.from_text_headers(got.headers, got.body)
    verdict = StandardWebhooks().verify(message, [SECRET], now=time.time())
    assert verdict.status == "valid", verdict.reason


async def test_passthrough_and_replay_headers_arrive(
    sink: ScriptedServer, client: httpx.AsyncClient
) -> None:
    d = destination(sink.url(), signing="passthrough")
    request = build_request(d, event(provider_id=None), 2, replay_of="01HREPLAY")
    result = await send(client, request, 5.0)
    assert result.status_code == 200
    [got] = sink.received
    assert got.header("Stripe-Signature") == "t=1,v1=abc"
    assert got.header("X-Hookyard-Replay-Of") == "01HREPLAY"
    assert got.header("X-Hookyard-Attempt") == "2"
    assert got.header("Idempotency-Key") == "01HZX3Y4Z5A6B7C8D9E0F1G2H3"


async def test_scripted_sequence_until_delivered(
    sink: ScriptedServer, client: httpx.AsyncClient
) -> None:
    sink.then(Reply(503), Reply(500), Reply(429), Reply(202))
    d = destination(sink.url())
    seen = []
    for attempt in range(1, 5):
        result = await send(client, build_request(d, event(), attempt), 5.0)
        seen.append((result.status_code, decision_for(result, attempt)))
    assert seen == [(503, "retry"), (500, "retry"), (429, "retry"), (202, "delivered")]
    assert [r.header("X-Hookyard-Attempt") for r in sink.received] == ["1", "2", "3", "4"]
    assert {r.header("Idempotency-Key") for r in sink.received} == {"evt_42"}
    # One pooled keep-alive connection carried every attempt.
    assert len({r.client_port for r in sink.received}) == 1


async def test_retry_after_is_captured_and_honoured(
    sink: ScriptedServer, client: httpx.AsyncClient
) -> None:
    sink.then(Reply(429, headers=[("Retry-After", "120"), ("X-Noise", "1")], body=b"slow down"))
    result = await send(client, build_request(destination(sink.url()), event(), 1), 5.0)
    assert result.status_code == 429
    assert result.response_header("retry-after") == "120"
    assert result.response_header("x-noise") is None  # only selected headers are kept
    assert result.response_excerpt == b"slow down"
    now = time.time()
    decision = decide(RetryPolicy(jitter=0), 1, result.outcome, now, random.Random(0))
    assert decision.kind == "retry"
    assert decision.next_attempt_at == pytest.approx(now + 120)


async def test_redirects_are_not_followed(sink: ScriptedServer, client: httpx.AsyncClient) -> None:
    sink.then(Reply(302, headers=[("Location", sink.url("/elsewhere"))], body=b""))
    result = await send(client, build_request(destination(sink.url()), event(), 1), 5.0)
    assert result.status_code == 302
    assert result.response_header("location") == sink.url("/elsewhere")
    assert [r.path for r in sink.received] == ["/hooks"]
    decision = decide(RetryPolicy(), 1, result.outcome, time.time(), random.Random(0))
    assert decision.kind == "dead"
    assert "redirects are not followed" in decision.reason


async def test_gone_disables(sink: ScriptedServer, client: httpx.AsyncClient) -> None:
    sink.then(Reply(410, body=b"endpoint removed"))
    result = await send(client, build_request(destination(sink.url()), event(), 1), 5.0)
    assert result.status_code == 410
    assert decision_for(result) == "disable"


async def test_client_error_is_dead_with_the_response_kept(
    sink: ScriptedServer, client: httpx.AsyncClient
) -> None:
    sink.then(Reply(422, headers=[("Content-Type", "application/json")], body=b'{"e":"bad"}'))
    result = await send(client, build_request(destination(sink.url()), event(), 1), 5.0)
    assert result.response_header("content-type") == "application/json"
    assert result.response_excerpt == b'{"e":"bad"}'
    assert decision_for(result) == "dead"


async def test_only_the_first_4kb_of_a_large_response_are_kept(
    sink: ScriptedServer, client: httpx.AsyncClient
) -> None:
    sink.then(Reply(500, body=b"x" * 1_000_000))
    result = await send(client, build_request(destination(sink.url()), event(), 1), 5.0)
    assert result.status_code == 500
    assert result.response_excerpt == b"x" * EXCERPT_BYTES


# -- failures --------------------------------------------------------------------------------


async def test_slow_response_times_out(sink: ScriptedServer, client: httpx.AsyncClient) -> None:
    sink.then(Reply(200, delay=3.0))
    started = time.perf_counter()
    result = await send(client, build_request(destination(sink.url()), event(), 1), 0.3)
    elapsed = time.perf_counter() - started
    assert result.status_code is None
    assert result.error_kind == "timeout"
    assert result.error_class == "ReadTimeout"
    assert result.error_message
    assert 0.25 < elapsed < 2.0
    assert 250 < result.latency_ms < 2000
    assert decision_for(result) == "retry"


async def test_a_dripping_body_cannot_outlast_the_timeout(
    sink: ScriptedServer, client: httpx.AsyncClient
) -> None:
    # Each byte arrives well inside the read timeout; only the overall bound stops it.
    sink.then(Reply(200, body=b"y" * 100, drip=0.1))
    started = time.perf_counter()
    result = await send(client, build_request(destination(sink.url()), event(), 1), 0.5)
    assert time.perf_counter() - started < 2.0
    # The receiver had already said 200: the verdict stands, the excerpt is partial.
    assert result.status_code == 200
    assert result.error_kind is None
    assert 0 < len(result.response_excerpt) < 100
    assert (
        result.note == "response excerpt incomplete: TimeoutError: no complete response within 0.5s"
    )
    assert decision_for(result) == "delivered"


async def test_connection_refused(client: httpx.AsyncClient) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hooks"
    result = await send(client, build_request(destination(url), event(), 1), 2.0)
    assert result.status_code is None
    assert result.error_kind == "connect"
    assert result.error_class == "ConnectError"
    assert result.error_message
    assert decision_for(result) == "retry"


async def test_server_hangs_up_without_answering(
    sink: ScriptedServer, client: httpx.AsyncClient
) -> None:
    sink.then(Reply(hang_up=True))
    result = await send(client, build_request(destination(sink.url()), event(), 1), 5.0)
    assert result.status_code is None
    assert result.error_kind in {"protocol", "network"}
    assert result.error_class == "RemoteProtocolError"
    assert decision_for(result) == "retry"
    # The next attempt opens a fresh connection and succeeds.
    result = await send(client, build_request(destination(sink.url()), event(), 2), 5.0)
    assert result.status_code == 200


async def test_an_unusable_request_is_reported_not_raised(client: httpx.AsyncClient) -> None:
    request = OutgoingRequest(
        destination="sink",
        url="gopher://127.0.0.1/",
        headers=(),
        body=b"",
        idempotency_key="k",
        attempt=1,
    )
    result = await send(client, request, 1.0)
    assert result.error_kind == "invalid_request"
    assert result.error_class == "UnsupportedProtocol"
    assert decision_for(result) == "dead"
