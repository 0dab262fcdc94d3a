"""``MockTransport``: a transport that answers from a function, as httpx's does."""

from __future__ import annotations

from hookyard.delivery.exchange import EXCERPT_BYTES, OutgoingRequest, SendResult
from hookyard.delivery.transport import MockTransport, Transport, failure, reply

REQUEST = OutgoingRequest(
    destination="app",
    url="http://receiver.invalid/",
    headers=((b"Idempotency-Key", b"evt_1"),),
    body=b"{}",
    idempotency_key="evt_1",
    attempt=1,
)


async def test_a_plain_or_async_function_answers() -> None:
    seen: list[OutgoingRequest] = []

    def plain(request: OutgoingRequest) -> SendResult:
        seen.append(request)
        return reply(204)

    async def later(request: OutgoingRequest) -> SendResult:
        seen.append(request)
        return reply(429, headers=[("Retry-After", "3")])

    transports: list[Transport] = [MockTransport(plain), MockTransport(later)]
    results = [await t.send(REQUEST, 1.0) for t in transports]
    assert [r.status_code for r in results] == [204, 429]
    assert results[1].outcome.retry_after == "3"
    assert seen == [REQUEST, REQUEST]
    for transport in transports:
        await transport.aclose()


def test_a_reply_is_what_a_real_transport_keeps() -> None:
    answer = reply(
        200, b"x" * (EXCERPT_BYTES + 10), [("Content-Type", "text/plain"), ("Set-Cookie", "s=1")]
    )
    assert answer.response_headers == (("content-type", "text/plain"),)
    assert len(answer.response_excerpt) == EXCERPT_BYTES
    assert answer.error_kind is None


def test_a_failure_carries_no_status() -> None:
    down = failure("timeout", "ReadTimeout", "timed out")
    assert down.status_code is None
    assert (down.error_kind, down.error_class, down.error_message) == (
        "timeout",
        "ReadTimeout",
        "timed out",
    )
    assert down.outcome.error_kind == "timeout"
