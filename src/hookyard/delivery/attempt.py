"""One delivery attempt, written once for every caller (worker, replay, and what follows).

``attempt`` does the mechanics: build the exact request and send it through the
transport, or call the Python handler, or, for a dry-run destination, build the
request and keep a preview of it. It decides nothing: what the result means (retry,
dead-letter, disable, failed, skipped) is the caller's policy, and so is whether to
attempt at all (an already-processed handler key, an open circuit breaker).
``attempt_record`` turns a result and the caller's decision into the stored row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from hookyard.delivery.destinations import Destination
from hookyard.delivery.exchange import OutgoingRequest, SendResult
from hookyard.delivery.handlers import Event, call_handler
from hookyard.delivery.sender import build_request
from hookyard.delivery.transport import Transport
from hookyard.inspect.masking import mask_header
from hookyard.models import AttemptRecord, DeliveryEvent

AttemptKind = Literal["sent", "handled", "dry_run"]


@dataclass(frozen=True, slots=True)
class Attempted:
    """What one attempt produced: ``sent`` over HTTP, ``handled`` by a Python handler, or
    a ``dry_run`` preview (``result.response_excerpt``) that went nowhere."""

    kind: AttemptKind
    number: int
    result: SendResult


async def attempt(
    destination: Destination,
    event: DeliveryEvent,
    number: int,
    transport: Transport,
    *,
    replay_of: str | None = None,
    now: float | None = None,
) -> Attempted:
    """Attempt ``number`` of ``event`` to ``destination``; never raises for the
    receiver's, the network's or the handler's failure (they are in the result).

    ``now`` is the signing time (Unix seconds), the clock when not given.
    """
    if destination.dry_run:
        return Attempted("dry_run", number, _dry_run(destination, event, number, replay_of, now))
    if destination.kind == "handler":
        assert destination.handler_func is not None
        handled = await call_handler(
            destination.handler_func,
            Event.from_event(event, number, replay_of=replay_of),
            timeout=destination.timeout_seconds,
        )
        return Attempted("handled", number, handled)
    request = build_request(destination, event, number, replay_of=replay_of, now=now)
    sent = await transport.send(request, destination.timeout_seconds)
    return Attempted("sent", number, sent)


def attempt_record(
    dispatch_id: str,
    number: int,
    result: SendResult,
    decision: str,
    *,
    next_attempt_us: int | None = None,
) -> AttemptRecord:
    """The stored row of one attempt: what ``result`` says plus the caller's decision."""
    return AttemptRecord(
        dispatch_id=dispatch_id,
        number=number,
        started_us=result.started_us,
        latency_ms=round(result.latency_ms, 3),
        status_code=result.status_code,
        response_headers=result.response_headers,
        response_excerpt=result.response_excerpt,
        error_class=result.error_class,
        error_message=result.error_message,
        decision=decision,
        next_attempt_us=next_attempt_us,
    )


def not_attempted(
    *, error_class: str | None = None, error_message: str | None = None
) -> SendResult:
    """The result of an attempt that sent nothing (already processed, unroutable)."""
    return SendResult(
        started_at=time.time(),
        latency_ms=0.0,
        error_class=error_class,
        error_message=error_message,
    )


def _dry_run(
    destination: Destination,
    event: DeliveryEvent,
    number: int,
    replay_of: str | None,
    now: float | None,
) -> SendResult:
    if destination.kind == "http":
        request = build_request(destination, event, number, replay_of=replay_of, now=now)
        text = preview(request)
    else:
        text = f"call {destination.handler}\n".encode()
    return SendResult(started_at=time.time(), latency_ms=0.0, response_excerpt=text)


def preview(request: OutgoingRequest) -> bytes:
    """The request line and headers as a dry run records them, credentials masked by the
    one masking policy (the same as ``events show`` and export)."""
    return f"{request.method} {request.url}\n".encode() + b"".join(
        name + b": " + mask_header(name, value) + b"\n" for name, value in request.headers
    )
