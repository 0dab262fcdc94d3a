"""The transport seam: what sends one built request and reports what came back.

Modelled on httpx's ``AsyncBaseTransport`` and ``MockTransport``: the worker and
replay hold a ``Transport`` and never know how the bytes travel. ``BulkSender`` (raw
sockets for plain http, httpx for the rest) is the default; ``sender.HttpxTransport``
sends everything through one httpx client; ``MockTransport`` answers from a function,
so delivery decisions can be tested without a network.

A transport never raises for the receiver's or the network's failure: it reports it
in the ``SendResult``, as ``Progress`` builds it.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from hookyard.delivery.exchange import (
    EXCERPT_BYTES,
    KEPT_RESPONSE_HEADERS,
    OutgoingRequest,
    SendResult,
)
from hookyard.delivery.retry import ErrorKind


class Transport(Protocol):
    async def send(self, request: OutgoingRequest, timeout: float) -> SendResult:  # noqa: ASYNC109
        """Send ``request`` once within ``timeout`` seconds; failures come back as results."""
        ...

    async def aclose(self) -> None: ...


MockHandler = Callable[[OutgoingRequest], SendResult | Awaitable[SendResult]]


class MockTransport:
    """A ``Transport`` that answers each request with ``handler(request)`` (plain or
    async); build answers with ``reply`` and ``failure``."""

    def __init__(self, handler: MockHandler) -> None:
        self.handler = handler

    async def send(self, request: OutgoingRequest, timeout: float) -> SendResult:  # noqa: ASYNC109
        answer = self.handler(request)
        if inspect.isawaitable(answer):
            return await answer
        return answer

    async def aclose(self) -> None:
        return None


def reply(
    status_code: int, body: bytes = b"", headers: Iterable[tuple[str, str]] = ()
) -> SendResult:
    """What a real transport reports for this answer: kept headers, a bounded excerpt."""
    kept = tuple(
        (name.lower(), value[:500])
        for name, value in headers
        if name.lower() in KEPT_RESPONSE_HEADERS
    )
    return SendResult(
        started_at=time.time(),
        latency_ms=0.0,
        status_code=status_code,
        response_headers=kept,
        response_excerpt=body[:EXCERPT_BYTES],
    )


def failure(kind: ErrorKind, error_class: str, message: str) -> SendResult:
    """What a real transport reports when no answer came (``"connect"``, ``"timeout"``…)."""
    return SendResult(
        started_at=time.time(),
        latency_ms=0.0,
        error_kind=kind,
        error_class=error_class,
        error_message=message[:500],
    )
