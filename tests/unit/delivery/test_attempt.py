"""One delivery attempt: build and send through a transport, call a handler, or preview."""

from __future__ import annotations

from hookyard.delivery.attempt import attempt, attempt_record, preview
from hookyard.delivery.destinations import Destination, parse_destination
from hookyard.delivery.exchange import OutgoingRequest, SendResult
from hookyard.delivery.handlers import Event
from hookyard.delivery.transport import MockTransport, failure, reply
from hookyard.models import DeliveryEvent

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_700_000_000.0
EVENT = DeliveryEvent(
    id="01HZZZZZZZZZZZZZZZZZZZZZZZ",
    source="stripe",
    received_us=1_700_000_000_000_000,
    event_type="invoice.paid",
    provider_event_id="evt_1",
    content_type="application/json",
    headers=((b"Content-Type", b"application/json"), (b"Authorization", b"Bearer provider")),
    body=b'{"id": "evt_1"}',
)
HANDLED: list[Event] = []


def handle(event: Event) -> None:
    HANDLED.append(event)


def destination(**table: object) -> Destination:
    return parse_destination("app", {"url": "http://receiver.invalid/hooks", **table})


def unreachable(request: OutgoingRequest) -> SendResult:
    raise AssertionError(f"nothing should be sent, got {request!r}")


async def test_an_http_attempt_sends_the_built_request_through_the_transport() -> None:
    sent: list[OutgoingRequest] = []

    async def answer(request: OutgoingRequest) -> SendResult:
        sent.append(request)
        return reply(503, b"busy", [("Retry-After", "7"), ("X-Other", "dropped")])

    done = await attempt(
        destination(timeout_seconds=3),
        EVENT,
        4,
        MockTransport(answer),
        replay_of="01HORIGINAL",
        now=NOW,
    )
    [request] = sent
    assert request.body is EVENT.body  # the stored bytes, not a copy
    assert request.header("Idempotency-Key") == "evt_1"
    assert request.header("X-Hookyard-Attempt") == "4"
    assert request.header("X-Hookyard-Replay-Of") == "01HORIGINAL"
    assert (done.kind, done.number) == ("sent", 4)
    assert done.result.status_code == 503 and done.result.response_excerpt == b"busy"
    assert done.result.response_headers == (("retry-after", "7"),)
    assert done.result.outcome.retry_after == "7"


async def test_a_transport_failure_comes_back_as_the_result() -> None:
    down = MockTransport(lambda request: failure("connect", "ConnectError", "refused"))
    done = await attempt(destination(), EVENT, 1, down)
    assert done.kind == "sent"
    assert (done.result.error_kind, done.result.error_class) == ("connect", "ConnectError")


async def test_a_handler_destination_calls_the_handler_and_sends_nothing() -> None:
    HANDLED.clear()
    handler = parse_destination("fn", {"handler": f"{__name__}:handle"})
    done = await attempt(handler, EVENT, 2, MockTransport(unreachable), replay_of="01HORIGINAL")
    assert done.kind == "handled" and done.number == 2
    assert done.result.error_kind is None
    [event] = HANDLED
    assert (event.id, event.source, event.type) == (EVENT.id, "stripe", "invoice.paid")
    assert event.body is EVENT.body and event.headers is EVENT.headers
    assert (event.attempt, event.replay_of) == (2, "01HORIGINAL")
    assert event.idempotency_key == EVENT.idempotency_key == "evt_1"


async def test_a_dry_run_previews_the_request_with_credentials_masked() -> None:
    d = destination(
        dry_run=True,
        headers={"Authorization": "Bearer s3cret", "X-Api-Token": "t0ken"},
        signing={"scheme": "standard-webhooks", "secret": SECRET},
    )
    done = await attempt(d, EVENT, 1, MockTransport(unreachable), now=NOW)
    assert done.kind == "dry_run"
    text = done.result.response_excerpt
    assert text.startswith(b"POST http://receiver.invalid/hooks\n")
    assert b"Authorization: Bearer **** (6 chars)\n" in text
    assert b"X-Api-Token: **** (5 chars)\n" in text
    assert b"s3cret" not in text and b"t0ken" not in text
    # A signature is a MAC of this one body, not a credential: it stays readable, as in
    # ``events show`` (the one masking policy, hookyard.inspect.masking).
    assert b"webhook-signature: v1," in text
    assert b"Idempotency-Key: evt_1\n" in text  # what is not a credential stays readable
    assert b"webhook-id: evt_1\n" in text


async def test_a_dry_run_of_a_handler_names_it_and_calls_nothing() -> None:
    HANDLED.clear()
    handler = parse_destination("fn", {"handler": f"{__name__}:handle", "dry_run": True})
    done = await attempt(handler, EVENT, 1, MockTransport(unreachable))
    assert done.kind == "dry_run"
    assert done.result.response_excerpt == f"call {__name__}:handle\n".encode()
    assert HANDLED == []


def test_the_preview_is_the_request_line_and_every_header() -> None:
    request = OutgoingRequest(
        destination="app",
        url="http://receiver.invalid/",
        headers=((b"X-A", b"1"), (b"x-client-secret", b"no")),
        body=b"",
        idempotency_key="k",
        attempt=1,
    )
    assert preview(request) == (
        b"POST http://receiver.invalid/\nX-A: 1\nx-client-secret: **** (2 chars)\n"
    )


def test_attempt_record_keeps_what_the_result_said_and_the_callers_decision() -> None:
    result = SendResult(
        started_at=NOW,
        latency_ms=12.34567,
        status_code=503,
        response_headers=(("retry-after", "7"),),
        response_excerpt=b"busy",
    )
    record = attempt_record("01HDISPATCH", 3, result, "retry: HTTP 503", next_attempt_us=99)
    assert record.dispatch_id == "01HDISPATCH" and record.number == 3
    assert record.started_us == 1_700_000_000_000_000
    assert record.latency_ms == 12.346
    assert (record.status_code, record.response_excerpt) == (503, b"busy")
    assert record.response_headers == (("retry-after", "7"),)
    assert (record.error_class, record.error_message) == (None, None)
    assert (record.decision, record.next_attempt_us) == ("retry: HTTP 503", 99)


def test_the_event_repr_shows_no_headers_or_body() -> None:
    text = repr(EVENT)
    assert "Bearer" not in text and "evt_1" not in text
    assert text == (
        "DeliveryEvent(id='01HZZZZZZZZZZZZZZZZZZZZZZZ', source='stripe', type='invoice.paid')"
    )
