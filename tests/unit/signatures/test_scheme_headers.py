"""Each scheme declares its headers; passthrough, diff and the signing helpers derive them."""

from __future__ import annotations

import pytest

from hookyard.delivery.sender import PASSTHROUGH_SIGNATURE_HEADERS
from hookyard.inspect.diff import is_volatile_header
from hookyard.signatures.base import Scheme
from hookyard.signatures.registry import (
    create_scheme,
    delivery_id_header_names,
    scheme_class,
    scheme_names,
    signature_header_names,
)
from support.conformance_keys import HMAC_OPTIONS, KEYS

BODY = b'[{"id": "evt_1", "event_id": "evt_1", "sg_event_id": "sg_1", "type": "a.b"}]'
CONFIGURED = {
    "hmac default": ("hmac", {}),
    "hmac signing id and timestamp": ("hmac", HMAC_OPTIONS),
    "hmac with an unsigned id": ("hmac", {"id_header": "X-Delivery"}),
    "none with an id header": ("none", {"id_header": "X-Event-Id"}),
    "none": ("none", {}),
}


def schemes() -> list[tuple[str, Scheme]]:
    plain = [(name, create_scheme(name)) for name in scheme_names() if name not in ("hmac", "none")]
    configured = [(label, create_scheme(n, o)) for label, (n, o) in CONFIGURED.items()]
    return plain + configured


def sent_names(scheme: Scheme) -> list[str]:
    secret = KEYS[scheme.name].signing if scheme.name in KEYS else ""
    headers = scheme.sign(BODY, secret, msg_id="m-1", timestamp=1_700_000_000, url="https://x/")
    return [name.lower() for name, _ in headers]


@pytest.mark.parametrize(("label", "scheme"), schemes(), ids=[label for label, _ in schemes()])
def test_sign_sends_only_headers_the_scheme_declares(label: str, scheme: Scheme) -> None:
    declared = {name.lower() for name in scheme.scheme_headers.names}
    sent = sent_names(scheme)
    assert set(sent) <= declared, f"{label} sends undeclared headers {set(sent) - declared}"
    signature = [name.lower() for name in scheme.scheme_headers.signature]
    if scheme.name != "none":
        assert signature[0] in sent, "sign fills the first signature header"


def test_the_names_are_one_header_each_in_the_providers_spelling() -> None:
    for name in scheme_names():
        names = [n.lower() for n in scheme_class(name).scheme_headers.names]
        assert len(names) == len(set(names)), name


def test_passthrough_forwards_every_provider_signature_and_what_it_covers() -> None:
    assert signature_header_names() == PASSTHROUGH_SIGNATURE_HEADERS
    # Pinned: what passthrough forwards is a contract, so a change here is deliberate.
    assert set(signature_header_names()) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "stripe-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-slack-signature",
        "x-slack-request-timestamp",
        "x-shopify-hmac-sha256",
        "x-square-hmacsha256-signature",
        "x-square-signature",
        "paddle-signature",
        "twitch-eventsub-message-id",
        "twitch-eventsub-message-timestamp",
        "twitch-eventsub-message-signature",
        "x-twilio-signature",
        "x-twilio-email-event-webhook-signature",
        "x-twilio-email-event-webhook-timestamp",
    }
    # Unsigned ids are not forwarded as signatures; configurable schemes claim nothing.
    assert "x-github-delivery" not in signature_header_names()
    assert "x-signature" not in signature_header_names()


def test_a_diff_calls_every_signature_and_delivery_id_header_volatile() -> None:
    for name in (*signature_header_names(), *delivery_id_header_names()):
        assert is_volatile_header(name), name
        assert is_volatile_header(name.title()), name
    assert set(delivery_id_header_names()) == {
        "x-github-delivery",
        "x-shopify-webhook-id",
        "x-shopify-event-id",
        "i-twilio-idempotency-token",
    }
    # The event type and topic stay the same between deliveries of one kind of event.
    for name in ("x-github-event", "x-shopify-topic", "twitch-eventsub-message-type"):
        assert not is_volatile_header(name), name
