"""``build_request``: the exact bytes and headers of an outgoing delivery, no I/O."""

from __future__ import annotations

import pytest

from hookyard.delivery.destinations import Destination, parse_destination
from hookyard.delivery.exchange import OutgoingRequest, SendResult
from hookyard.delivery.retry import Outcome
from hookyard.delivery.sender import USER_AGENT, build_request
from hookyard.models import DeliveryEvent
from hookyard.signatures.base import SignedMessage
from hookyard.signatures.standard_webhooks import StandardWebhooks

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_700_000_000.0
BODY = b'{"type":"invoice.paid",  "id":"evt_1"}\r\n\xff\x00'
PROVIDER_HEADERS = (
    (b"Host", b"hooks.example"),
    (b"Content-Type", b"application/json; charset=utf-8"),
    (b"Stripe-Signature", b"t=1,v1=abc"),
    (b"X-GitHub-Event", b"push"),
    (b"webhook-id", b"msg_1"),
    (b"Webhook-Timestamp", b"1699999999"),
    (b"webhook-signature", b"v1,Zm9v"),
    (b"Cookie", b"session=private"),
    (b"X-Custom-Sig", b"\xe9t\xe9"),  # not ASCII: forwarded byte for byte
)


def event(
    provider_id: str | None = "evt_1", content_type: str = "application/json"
) -> DeliveryEvent:
    return DeliveryEvent(
        received_us=1_700_000_000_000_000,
        id="01HZZZZZZZZZZZZZZZZZZZZZZZ",
        source="stripe",
        event_type="invoice.paid",
        provider_event_id=provider_id,
        content_type=content_type,
        headers=PROVIDER_HEADERS,
        body=BODY,
    )


def destination(**table: object) -> Destination:
    return parse_destination("orders", {"url": "https://receiver.example/hooks", **table})


def names(request: OutgoingRequest) -> list[str]:
    return [name.decode().lower() for name, _ in request.headers]


def test_body_and_content_type_are_the_stored_ones() -> None:
    request = build_request(destination(), event(), 1, now=NOW)
    assert request.body is BODY
    assert request.method == "POST"
    assert request.url == "https://receiver.example/hooks"
    # The header bytes as received win over the decoded field.
    assert request.header("content-type") == "application/json; charset=utf-8"
    assert names(request).count("content-type") == 1
    assert request.destination == "orders"


def test_content_type_field_is_the_fallback() -> None:
    bare = DeliveryEvent("01H", "s", 0, None, None, "text/plain", (), b"hi")
    request = build_request(destination(), bare, 1, now=NOW)
    assert request.header("content-type") == "text/plain"


def test_no_content_type_when_none_arrived() -> None:
    bare = DeliveryEvent("01H", "s", 0, None, None, "", ((b"X-A", b"1"),), b"hi")
    request = build_request(destination(), bare, 1, now=NOW)
    assert "content-type" not in names(request)


def test_hookyard_headers_and_idempotency_key() -> None:
    request = build_request(destination(), event(), 3, now=NOW)
    assert request.header("X-Hookyard-Id") == "01HZZZZZZZZZZZZZZZZZZZZZZZ"
    assert request.header("X-Hookyard-Attempt") == "3"
    assert request.header("X-Hookyard-Source") == "stripe"
    assert request.header("X-Hookyard-Event-Type") == "invoice.paid"
    assert request.header("Idempotency-Key") == "evt_1"
    assert request.idempotency_key == "evt_1"
    assert request.attempt == 3
    assert request.header("X-Hookyard-Replay-Of") is None
    assert request.header("User-Agent") == USER_AGENT


def test_idempotency_key_falls_back_to_the_hookyard_id() -> None:
    request = build_request(destination(), event(provider_id=None), 1, now=NOW)
    assert request.header("Idempotency-Key") == "01HZZZZZZZZZZZZZZZZZZZZZZZ"


def test_idempotency_key_is_stable_across_retries_and_replays() -> None:
    d = destination(signing={"scheme": "standard-webhooks", "secret": SECRET})
    first = build_request(d, event(), 1, now=NOW)
    retry = build_request(d, event(), 2, now=NOW + 300)
    replay = build_request(d, event(), 1, replay_of="01HREPLAYREPLAYREPLAYREPLA", now=NOW + 9000)
    keys = {r.header("Idempotency-Key") for r in (first, retry, replay)}
    assert keys == {"evt_1"}
    assert {r.header("webhook-id") for r in (first, retry, replay)} == {"evt_1"}
    assert replay.header("X-Hookyard-Replay-Of") == "01HREPLAYREPLAYREPLAYREPLA"


def test_standard_webhooks_resigned_with_a_fresh_timestamp() -> None:
    d = destination(signing={"scheme": "standard-webhooks", "secret": SECRET})
    request = build_request(d, event(), 2, now=NOW)
    assert request.header("webhook-timestamp") == str(int(NOW))
    assert request.header("webhook-id") == "evt_1"
    # The provider's own signature headers are not sent when re-signing.
    assert "stripe-signature" not in names(request)
    assert names(request).count("webhook-signature") == 1
    message = SignedMessage(headers=request.headers, body=request.body)
    verdict = StandardWebhooks().verify(message, [SECRET], now=NOW)
    assert verdict.status == "valid", verdict.reason
    later = build_request(d, event(), 3, now=NOW + 600)
    assert later.header("webhook-timestamp") == str(int(NOW + 600))
    assert later.header("webhook-signature") != request.header("webhook-signature")


def test_passthrough_forwards_provider_signature_headers_unchanged() -> None:
    request = build_request(destination(signing="passthrough"), event(), 1, now=NOW)
    forwarded = [p for p in request.headers if p in PROVIDER_HEADERS and p[0] != b"Content-Type"]
    assert forwarded == [
        (b"Stripe-Signature", b"t=1,v1=abc"),
        (b"webhook-id", b"msg_1"),
        (b"Webhook-Timestamp", b"1699999999"),
        (b"webhook-signature", b"v1,Zm9v"),
    ]
    # Never forwarded: transport headers and anything not a signature.
    assert "cookie" not in names(request)
    assert "host" not in names(request)
    assert "x-github-event" not in names(request)


def test_passthrough_extra_names_and_forward_headers() -> None:
    d = destination(
        signing={"scheme": "passthrough", "headers": ["x-custom-*"]},
        forward_headers=["X-GitHub-Event", "stripe-signature"],
    )
    request = build_request(d, event(), 1, now=NOW)
    assert (b"X-Custom-Sig", b"\xe9t\xe9") in request.headers
    assert (b"X-GitHub-Event", b"push") in request.headers
    assert names(request).count("stripe-signature") == 1  # listed twice, sent once


def test_no_signing_sends_no_signature_headers() -> None:
    request = build_request(destination(), event(), 1, now=NOW)
    for name in ("stripe-signature", "webhook-signature", "webhook-id", "x-custom-sig"):
        assert name not in names(request)


def test_extra_headers_come_last_and_may_set_user_agent() -> None:
    d = destination(headers={"Authorization": "Bearer abc", "User-Agent": "acme-relay"})
    request = build_request(d, event(), 1, now=NOW)
    assert request.headers[-2:] == (
        (b"Authorization", b"Bearer abc"),
        (b"User-Agent", b"acme-relay"),
    )
    assert names(request).count("user-agent") == 1


def test_provider_controlled_text_cannot_inject_headers() -> None:
    evil = DeliveryEvent(
        received_us=1_700_000_000_000_000,
        id="01H",
        source="open",
        event_type="a\r\nX-Injected: 1",
        provider_event_id="id\nX-Other: 2",
        content_type="text/plain",
        headers=(),
        body=b"",
    )
    d = destination(signing={"scheme": "standard-webhooks", "secret": SECRET})
    request = build_request(d, evil, 1, now=NOW)
    for _, value in request.headers:
        assert b"\r" not in value and b"\n" not in value
    assert request.header("X-Hookyard-Event-Type") == "a%0D%0AX-Injected: 1"
    assert request.idempotency_key == "id%0AX-Other: 2"
    assert request.header("Idempotency-Key") == request.idempotency_key
    assert request.header("webhook-id") == request.idempotency_key


def test_non_ascii_ids_are_percent_encoded_consistently() -> None:
    odd = DeliveryEvent(
        received_us=1_700_000_000_000_000,
        id="01H",
        source="s",
        event_type="café.créé",
        provider_event_id="évt_1",
        content_type="",
        headers=(),
        body=b"{}",
    )
    request = build_request(destination(), odd, 1, now=NOW)
    assert request.idempotency_key == "%C3%A9vt_1"
    assert request.header("X-Hookyard-Event-Type") == "caf%C3%A9.cr%C3%A9%C3%A9"


def test_handler_destinations_have_no_request() -> None:
    d = Destination(name="h", handler="json:loads")
    with pytest.raises(ValueError, match="is a handler"):
        build_request(d, event(), 1, now=NOW)


def test_repr_hides_headers() -> None:
    d = destination(headers={"Authorization": "Bearer sekrit"})
    request = build_request(d, event(), 1, now=NOW)
    assert "sekrit" not in repr(request)
    assert "private" not in repr(event())


def test_send_result_outcome_reads_retry_after() -> None:
    result = SendResult(
        started_at=NOW,
        latency_ms=12.5,
        status_code=429,
        response_headers=(("content-type", "text/plain"), ("retry-after", "30")),
    )
    assert result.outcome == Outcome(status_code=429, retry_after="30")
    assert result.started_us == int(NOW * 1_000_000)
    failure = SendResult(
        started_at=NOW, latency_ms=1, error_kind="connect", error_message="refused"
    )
    assert failure.outcome == Outcome(error_kind="connect", error_message="refused")
