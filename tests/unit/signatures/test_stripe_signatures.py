"""stripe: Stripe-Signature t=…,v1=… over {t}.{body}, keyed with the whole whsec_ string.

Stripe's SDK suites compute their signatures at run time rather than publishing fixed
ones, so the fixtures below are theirs and each expected signature is computed here
independently with hashlib, the way their `generate_header` helpers do.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from hookyard.exceptions import SchemeError
from hookyard.signatures.base import SignedMessage
from hookyard.signatures.stripe import Stripe

scheme = Stripe()

# stripe/stripe-python tests/test_webhook.py: DUMMY_WEBHOOK_PAYLOAD, DUMMY_WEBHOOK_SECRET
PAYLOAD = b"""{
  "id": "evt_test_webhook",
  "object": "event",
  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }
}"""
SECRET = "whsec_test_secret"
# stripe/stripe-node test/Webhook.spec.ts: JSON.stringify(EVENT_PAYLOAD, null, 2)
NODE_PAYLOAD = b'{\n  "id": "evt_test_webhook",\n  "object": "event"\n}'
TS = 1700000000


def expected_v1(ts: int, body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


def msg(header: str, body: bytes = PAYLOAD) -> SignedMessage:
    return SignedMessage.from_text_headers([("Stripe-Signature", header)], body)


def header(ts: int = TS, body: bytes = PAYLOAD, scheme_name: str = "v1") -> str:
    return f"t={ts},{scheme_name}={expected_v1(ts, body)}"


# -- the SDK suites' cases ------------------------------------------------------------------


@pytest.mark.parametrize("body", [PAYLOAD, NODE_PAYLOAD], ids=["stripe-python", "stripe-node"])
def test_sign_produces_the_sdk_header(body: bytes) -> None:
    assert scheme.sign(body, SECRET, timestamp=TS) == [("Stripe-Signature", header(body=body))]


def test_valid_header_and_signature() -> None:
    verdict = scheme.verify(msg(header()), [SECRET], now=TS, tolerance=10)
    assert (verdict.status, verdict.reason, verdict.secret_index) == (
        "valid",
        "v1 signature matches",
        0,
    )
    assert verdict.computed == expected_v1(TS, PAYLOAD)
    assert verdict.timestamp == TS


@pytest.mark.parametrize("raw", ["bad_header", "i'm not even a real signature header"])
def test_malformed_header(raw: str) -> None:
    verdict = scheme.verify(msg(raw), [SECRET], now=TS)
    assert verdict.status == "invalid"
    assert verdict.reason.startswith("malformed Stripe-Signature: element")


def test_no_signatures_with_expected_scheme() -> None:
    verdict = scheme.verify(msg(header(scheme_name="v0")), [SECRET], now=TS)
    assert verdict.reason == "no v1 signature in Stripe-Signature"


def test_no_valid_signature_for_payload() -> None:
    verdict = scheme.verify(msg(f"t={TS},v1={'0' * 64}"), [SECRET], now=TS)
    assert verdict.reason == "signature mismatch"
    assert verdict.computed == expected_v1(TS, PAYLOAD)
    assert verdict.received == "0" * 64


def test_a_v1_that_is_not_hex_is_malformed() -> None:
    verdict = scheme.verify(msg(f"t={TS},v1=bad_signature"), [SECRET], now=TS)
    assert verdict.reason == "malformed Stripe-Signature: v1 must be 64 hex characters"


def test_timestamp_outside_tolerance() -> None:
    now = time.time()
    verdict = scheme.verify(msg(header(ts=int(now) - 15)), [SECRET], now=now, tolerance=10)
    assert verdict.reason.startswith("timestamp too old: 15s before now")


def test_header_contains_a_valid_signature_among_others() -> None:
    raw = header() + ",v1=bad_signature,v1=" + "f" * 64
    assert scheme.verify(msg(raw), [SECRET], now=TS).status == "valid"


def test_timestamp_off_but_no_tolerance() -> None:
    assert scheme.verify(msg(header(ts=12345)), [SECRET], now=TS, tolerance=None).status == "valid"


def test_secret_with_whitespace_is_refused() -> None:
    # stripe-node: "The provided signing secret contains whitespace".
    with pytest.raises(SchemeError, match="leading or trailing whitespace"):
        scheme.sign(PAYLOAD, SECRET + " ", timestamp=TS)


# -- hookyard's own rules -------------------------------------------------------------------


def test_future_timestamp() -> None:
    verdict = scheme.verify(msg(header()), [SECRET], now=TS - 400, tolerance=300)
    assert verdict.reason == "timestamp in the future: 400s after now, tolerance 300s"


def test_tampered_body() -> None:
    assert scheme.verify(msg(header(), PAYLOAD + b"\n"), [SECRET], now=TS).reason == (
        "signature mismatch"
    )


def test_wrong_secret() -> None:
    assert scheme.verify(msg(header()), ["whsec_other"], now=TS).reason == "signature mismatch"


def test_signature_replayed_with_another_timestamp() -> None:
    raw = f"t={TS + 1},v1={expected_v1(TS, PAYLOAD)}"
    assert scheme.verify(msg(raw), [SECRET], now=TS).reason == "signature mismatch"


def test_rotation_second_secret_matches() -> None:
    verdict = scheme.verify(msg(header()), ["whsec_new", SECRET], now=TS)
    assert (verdict.status, verdict.secret_index) == ("valid", 1)


def test_stripe_rolling_a_secret_sends_two_v1() -> None:
    raw = f"{header()},v1={expected_v1(TS, PAYLOAD, 'whsec_next')}"
    assert scheme.verify(msg(raw), ["whsec_next"], now=TS).status == "valid"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("v1=" + "0" * 64, "malformed Stripe-Signature: no t= timestamp"),
        (f"t=1,t=2,v1={'0' * 64}", "malformed Stripe-Signature: more than one t= timestamp"),
        (f"t=soon,v1={'0' * 64}", "malformed Stripe-Signature timestamp 'soon'"),
    ],
)
def test_malformed_timestamps(raw: str, reason: str) -> None:
    assert scheme.verify(msg(raw), [SECRET], now=TS).reason == reason


def test_missing_header() -> None:
    message = SignedMessage.from_text_headers([], PAYLOAD)
    assert scheme.verify(message, [SECRET], now=TS).reason == "missing header Stripe-Signature"


def test_event_id_and_type_come_from_the_body() -> None:
    body = b'{"id": "evt_1", "type": "invoice.paid"}'
    message = msg(header(body=body), body)
    assert (scheme.event_id(message), scheme.event_type(message)) == ("evt_1", "invoice.paid")
    assert scheme.event_id(msg("", b"not json")) is None
