"""shopify: X-Shopify-Hmac-Sha256, base64 HMAC-SHA256 of the raw body."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from hookyard.signatures.base import SignedMessage
from hookyard.signatures.shopify import Shopify

scheme = Shopify()

# Shopify/shopify-api-js packages/shopify-api/lib/webhooks/__tests__/validate.test.ts
# ("returns true for valid request"): rawBody, the expected hmac and the default headers
# of __tests__/utils.ts; apiSecretKey from lib/__tests__/test-config.ts.
SECRET = "test_secret_key"
BODY = b'{"foo": "bar"}'
HMAC = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
WEBHOOK_ID = "123456789"
TOPIC = "products/create"


def msg(signature: str | None = HMAC, body: bytes = BODY, **extra: str) -> SignedMessage:
    headers = [
        ("X-Shopify-Topic", TOPIC),
        ("X-Shopify-Shop-Domain", "shop1.myshopify.io"),
        ("X-Shopify-API-Version", "2023-01"),
    ]
    headers += [(name.replace("_", "-"), value) for name, value in extra.items()]
    if signature is not None:
        headers.append(("X-Shopify-Hmac-Sha256", signature))
    return SignedMessage.from_text_headers(headers, body)


def test_sdk_vector_verifies() -> None:
    verdict = scheme.verify(msg(X_Shopify_Webhook_Id=WEBHOOK_ID), [SECRET], now=0)
    assert (verdict.status, verdict.secret_index, verdict.computed) == ("valid", 0, HMAC)


def test_sdk_vector_sign() -> None:
    assert scheme.sign(BODY, SECRET, msg_id=WEBHOOK_ID) == [
        ("X-Shopify-Webhook-Id", WEBHOOK_ID),
        ("X-Shopify-Hmac-Sha256", HMAC),
    ]


def test_sdk_invalid_hmac() -> None:
    # validate.test.ts "returns false on invalid HMAC" sends the literal "fake".
    verdict = scheme.verify(msg("fake"), [SECRET], now=0)
    assert verdict.reason == "malformed X-Shopify-Hmac-Sha256: expected base64 of 32 bytes"


def test_independent_hmac_of_another_body() -> None:
    body = b'{"id": 820982911946154508, "email": "jon@example.com"}'
    expected = base64.b64encode(hmac.new(b"shpss_abc", body, hashlib.sha256).digest()).decode()
    assert scheme.verify(msg(expected, body), ["shpss_abc"], now=0).status == "valid"


def test_tampered_body_and_wrong_secret() -> None:
    assert (
        scheme.verify(msg(body=b'{"foo": "baz"}'), [SECRET], now=0).reason == "signature mismatch"
    )
    assert scheme.verify(msg(), ["other"], now=0).reason == "signature mismatch"


def test_rotation_second_secret_matches() -> None:
    assert scheme.verify(msg(), ["old", SECRET], now=0).secret_index == 1


@pytest.mark.parametrize("signature", ["", "!!!!", base64.b64encode(b"short").decode()])
def test_malformed(signature: str) -> None:
    assert scheme.verify(msg(signature), [SECRET], now=0).reason.startswith(
        "malformed X-Shopify-Hmac-Sha256"
    )


def test_missing_header() -> None:
    verdict = scheme.verify(msg(None), [SECRET], now=0)
    assert verdict.reason == "missing header X-Shopify-Hmac-Sha256"


def test_id_and_topic() -> None:
    message = msg(X_Shopify_Webhook_Id=WEBHOOK_ID, X_Shopify_Event_Id="evt-9")
    assert (scheme.event_id(message), scheme.event_type(message)) == (WEBHOOK_ID, TOPIC)


def test_event_id_header_is_the_fallback_id() -> None:
    assert scheme.event_id(msg(X_Shopify_Event_Id="evt-9")) == "evt-9"
    assert scheme.event_id(msg()) is None
