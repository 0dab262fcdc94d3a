"""Delivery: destinations, routing, the retry policy, HTTP sending and Python handlers.

The worker loop claims dispatches and calls into these pieces:

    destinations = parse_destinations(settings.destinations, sources=settings.sources)
    router = make_router(destinations.values())            # ingest: who gets this event
    done = await attempt(destination, event, number, transport)  # build + send, or handler
    #   (inside: request = build_request(destination, event, number); transport.send(...))
    decision = decide(destination.retry, number, done.result.outcome, now, rng)

``attempt`` is ``delivery.attempt.attempt`` (not re-exported here: it would shadow its
module); ``event`` is a ``models.DeliveryEvent``; ``transport`` is any ``Transport``
(the default ``BulkSender``, ``HttpxTransport``, or ``MockTransport`` in tests).
"""

from hookyard.delivery.attempt import Attempted
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
    "Attempted",
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
