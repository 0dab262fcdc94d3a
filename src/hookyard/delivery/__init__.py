"""Delivery: destinations, routing, the retry policy, HTTP sending and Python handlers.

The worker loop claims dispatches and calls into these pieces:

    destinations = parse_destinations(settings.destinations, sources=settings.sources)
    router = make_router(destinations.values())            # ingest: who gets this event
    request = build_request(destination, event, attempt)   # exact bytes and headers
    result = await transport.send(request, destination.timeout_seconds)
    # or, for a handler: result = await call_handler(func, Event.from_event(event))
    decision = decide(destination.retry, attempt, result.outcome, now, rng)

``event`` is a ``models.DeliveryEvent``; ``transport`` is any ``Transport`` (the default
``BulkSender``, ``HttpxTransport``, or ``MockTransport`` in tests).
"""

from hookyard.delivery.destinations import Destination, Signing, parse_destinations
from hookyard.delivery.exchange import OutgoingRequest, SendResult
from hookyard.delivery.handlers import Event, Reject, RetryLater, call_handler, load_handler
from hookyard.delivery.retry import (
    BreakerConfig,
    CircuitBreaker,
    Decision,
    Outcome,
    RetryPolicy,
    decide,
    parse_retry_after,
)
from hookyard.delivery.routing import Router, make_router
from hookyard.delivery.sender import HttpxTransport, build_request, make_client, send
from hookyard.delivery.transport import MockTransport, Transport

__all__ = [
    "BreakerConfig",
    "CircuitBreaker",
    "Decision",
    "Destination",
    "Event",
    "HttpxTransport",
    "MockTransport",
    "Outcome",
    "OutgoingRequest",
    "Reject",
    "RetryLater",
    "RetryPolicy",
    "Router",
    "SendResult",
    "Signing",
    "Transport",
    "build_request",
    "call_handler",
    "decide",
    "load_handler",
    "make_client",
    "make_router",
    "parse_destinations",
    "parse_retry_after",
    "send",
]
