"""``BulkSender.send`` reports every exchange exactly as ``sender.send`` does.

Each case runs the same scripted exchange through both against real servers on
127.0.0.1 and compares what they report (timings aside).
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from hookyard.delivery.bulk import BulkSender
from hookyard.delivery.destinations import parse_destination
from hookyard.delivery.exchange import EXCERPT_BYTES, OutgoingRequest, SendResult
from hookyard.delivery.sender import build_request, send
from hookyard.models import DeliveryEvent
from support.netguard import LOOPBACK
from support.sink import Reply, ScriptedServer

BODY = bytes(range(256)) + b'\r\n{"type": "invoice.paid"}\r\n' + b"\xc3\x28" * 1000


@pytest.fixture
async def bulk() -> AsyncIterator[BulkSender]:
    sender = BulkSender(trust_env=False, policy=LOOPBACK)
    yield sender
    await sender.aclose()


def request(url: str, **table: object) -> OutgoingRequest:
    event = DeliveryEvent(
        received_us=1_700_000_000_000_000,
        id="01HZX3Y4Z5A6B7C8D9E0F1G2H3",
        source="stripe",
        event_type="invoice.paid",
        provider_event_id="evt_42",
        content_type="application/octet-stream",
        headers=((b"Content-Type", b"application/octet-stream"),),
        body=BODY,
    )
    return build_request(parse_destination("sink", {"url": url, **table}), event, 1)


def comparable(result: SendResult) -> tuple[object, ...]:
    headers = tuple((n, v) for n, v in result.response_headers if n != "date")
    return (
        result.status_code,
        headers,
        result.response_excerpt,
        result.error_kind,
        result.error_class,
        result.note,
    )


async def both(
    sink: ScriptedServer,
    client: httpx.AsyncClient,
    bulk: BulkSender,
    reply: Reply,
    timeout: float = 5.0,
) -> tuple[SendResult, SendResult]:
    sink.then(reply)
    expected = await send(client, request(sink.url()), timeout)
    sink.then(reply)
    got = await bulk.send(request(sink.url()), timeout)
    return expected, got


async def test_the_same_bytes_and_headers_arrive(
    sink: ScriptedServer, client: httpx.AsyncClient, bulk: BulkSender
) -> None:
    out = request(sink.url("/hooks?x=1"), headers={"Authorization": "Bearer t0ken"})
    via_httpx = await send(client, out, 5.0)
    direct = await bulk.send(out, 5.0)
    assert comparable(direct) == comparable(via_httpx)
    first, second = sink.received
    assert second.path == first.path == "/hooks?x=1"
    assert hashlib.sha256(second.body).digest() == hashlib.sha256(BODY).digest()
    assert second.header("Content-Length") == str(len(BODY))
    assert second.header("Host") == f"127.0.0.1:{sink.port}"
    for name, _ in out.headers:
        assert second.header(name.decode()) == first.header(name.decode())


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, body=b""),
        Reply(202, headers=[("Retry-After", "5"), ("X-Request-Id", "r1")], body=b"queued"),
        Reply(410, body=b"gone"),
        Reply(500, body=b"x" * 1_000_000),
        Reply(301, headers=[("Location", "http://elsewhere/")]),
    ],
    ids=["empty", "kept-headers", "gone", "huge", "redirect"],
)
async def test_responses_are_reported_alike(
    sink: ScriptedServer, client: httpx.AsyncClient, bulk: BulkSender, reply: Reply
) -> None:
    expected, got = await both(sink, client, bulk, reply)
    assert comparable(got) == comparable(expected)
    assert len(got.response_excerpt) <= EXCERPT_BYTES


async def test_keep_alive_connections_are_reused_after_a_full_answer(
    sink: ScriptedServer, bulk: BulkSender
) -> None:
    for _ in range(3):
        assert (await bulk.send(request(sink.url()), 5.0)).status_code == 200
    assert len({r.client_port for r in sink.received}) == 1
    sink.then(Reply(500, body=b"x" * 100_000))  # left unread: that connection is dropped
    await bulk.send(request(sink.url()), 5.0)
    await bulk.send(request(sink.url()), 5.0)
    assert sink.received[-1].client_port != sink.received[0].client_port


async def test_a_slow_answer_times_out_alike(
    sink: ScriptedServer, client: httpx.AsyncClient, bulk: BulkSender
) -> None:
    started = time.perf_counter()
    expected, got = await both(sink, client, bulk, Reply(200, delay=3.0), timeout=0.3)
    assert comparable(got) == comparable(expected)
    assert (got.error_kind, got.error_class) == ("timeout", "ReadTimeout")
    assert time.perf_counter() - started < 4.0


async def test_a_dripping_body_cannot_outlast_the_timeout(
    sink: ScriptedServer, client: httpx.AsyncClient, bulk: BulkSender
) -> None:
    reply = Reply(200, body=b"y" * 100, drip=0.1)
    sink.then(reply)
    started = time.perf_counter()
    got = await bulk.send(request(sink.url()), 0.5)
    assert time.perf_counter() - started < 2.0
    assert got.status_code == 200 and got.error_kind is None
    assert 0 < len(got.response_excerpt) < 100
    assert got.note == "response excerpt incomplete: TimeoutError: no complete response within 0.5s"


async def test_connection_refused_is_reported_alike(
    client: httpx.AsyncClient, bulk: BulkSender
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = request(f"http://127.0.0.1:{port}/hooks")
    expected, got = await send(client, out, 2.0), await bulk.send(out, 2.0)
    assert comparable(got) == comparable(expected)
    assert (got.error_kind, got.error_class) == ("connect", "ConnectError")


async def test_a_hang_up_is_reported_alike_and_the_next_send_succeeds(
    sink: ScriptedServer, client: httpx.AsyncClient, bulk: BulkSender
) -> None:
    expected, got = await both(sink, client, bulk, Reply(hang_up=True))
    assert comparable(got) == comparable(expected)
    assert got.error_class == "RemoteProtocolError" and got.error_kind == "protocol"
    assert (await bulk.send(request(sink.url()), 5.0)).status_code == 200


def closing_server() -> tuple[int, threading.Thread, list[int]]:
    """Answers one request per connection with keep-alive promised, then closes it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    served: list[int] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                while len(rest) < length:
                    rest += conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                served.append(len(rest))
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, served


async def test_a_connection_closed_while_idle_is_replaced_without_a_failure(
    bulk: BulkSender,
) -> None:
    port, thread, served = closing_server()
    out = request(f"http://127.0.0.1:{port}/hooks")
    assert (await bulk.send(out, 5.0)).status_code == 200
    await asyncio.sleep(0.1)  # the server has closed the kept connection by now
    assert (await bulk.send(out, 5.0)).status_code == 200
    thread.join(5)
    assert served == [len(BODY), len(BODY)]


async def test_what_it_cannot_send_directly_goes_through_httpx(
    sink: ScriptedServer, bulk: BulkSender
) -> None:
    unusable = OutgoingRequest("sink", "gopher://127.0.0.1/", (), b"", "k", 1)
    result = await bulk.send(unusable, 1.0)
    assert (result.error_kind, result.error_class) == ("invalid_request", "UnsupportedProtocol")
    bad_header = replace(request(sink.url()), headers=((b"X-Bad", b"a\r\nInjected: 1"),))
    result = await bulk.send(bad_header, 1.0)
    assert result.error_kind == "invalid_request" and sink.received == []
    with_userinfo = request(sink.url().replace("http://", "http://user:pw@"))
    assert (await bulk.send(with_userinfo, 5.0)).status_code == 200
    assert (
        sink.received[-1].header(
            "Authorization",
        )
        is not None
    )
