"""``square``: official vectors, round trips, precise failures, fuzzed headers."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard.config import settings_from_mapping
from hookyard.exceptions import SchemeError
from hookyard.signatures import SignedMessage, create_scheme
from hookyard.signatures.square import LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER, Square

# Official vector: square/square-python-sdk, tests/integration/test_webhooks_helper.py
# (the same values are in tests/utilities/test_webhooks_helper.py of the older SDK).
SDK_BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
    b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f",'
    b'"created_at":"2022-07-13T20:30:59.037339943Z",'
    b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
SDK_SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
SDK_KEY = "Ibxx_5AKakO-3qeNVR61Dw"
SDK_URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"

NOW = 1_700_000_000.0
URL = "https://hooks.example.com/in/square"
KEY = "sq-signature-key"
scheme = Square()


def message(
    signature: str | None, body: bytes = SDK_BODY, url: str | None = SDK_URL
) -> SignedMessage:
    headers = [] if signature is None else [(SIGNATURE_HEADER, signature)]
    return SignedMessage.from_text_headers(headers, body, url)


def test_registry_gives_square_that_needs_the_url() -> None:
    assert isinstance(create_scheme("square"), Square)
    assert Square.needs_url and not Square.timestamped


def test_official_sdk_vector_is_valid() -> None:
    verdict = scheme.verify(message(SDK_SIGNATURE), [SDK_KEY], now=NOW)
    assert verdict.status == "valid"
    assert verdict.secret_index == 0
    assert verdict.computed == verdict.received == SDK_SIGNATURE
    assert verdict.signed_content is not None
    assert verdict.signed_content.startswith(f"{len(SDK_URL) + len(SDK_BODY)} bytes")


def test_official_sdk_vector_with_escaped_characters() -> None:
    # square/square-python-sdk, tests/integration/test_webhooks_helper.py,
    # test_signature_validation_escaped_pass: the raw body is signed, not a re-encoding.
    body = b'{"data":{"type":"webhooks","id":">id<"}}'
    signed = message(
        "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=", body, "https://webhook.site/webhooks"
    )
    assert scheme.verify(signed, ["signature-key"], now=NOW).status == "valid"


@pytest.mark.parametrize(
    ("case", "signature", "key", "url", "body"),
    [
        # Each of these is a negative case of the same SDK test file.
        (
            "url mismatch",
            SDK_SIGNATURE,
            SDK_KEY,
            "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9",
            SDK_BODY,
        ),
        ("wrong key", SDK_SIGNATURE, "MCmhFRxGX82xMwg5FsaoQA", SDK_URL, SDK_BODY),
        (
            "body changed",
            SDK_SIGNATURE,
            SDK_KEY,
            SDK_URL,
            SDK_BODY.replace(b"2022-07-13", b"2022-06-13"),
        ),
        ("body reformatted", SDK_SIGNATURE, SDK_KEY, SDK_URL, SDK_BODY.replace(b",", b", ")),
    ],
)
def test_official_sdk_negative_cases(
    case: str, signature: str, key: str, url: str, body: bytes
) -> None:
    verdict = scheme.verify(message(signature, body, url), [key], now=NOW)
    assert verdict.status == "invalid", case
    assert verdict.reason == f"signature mismatch for notification URL {url!r} + body"
    assert verdict.received == signature
    assert verdict.computed != signature


def test_sdk_invalid_signature_header_is_reported_as_malformed() -> None:
    # The SDK's "invalid signature header" case is a 20-byte value: not a SHA-256 HMAC at all.
    verdict = scheme.verify(message("1z2n3DEJJiUPKcPzQo1ftvbxGdw="), [SDK_KEY], now=NOW)
    assert verdict.status == "invalid"
    assert verdict.reason == f"malformed {SIGNATURE_HEADER}: expected base64 of a 32-byte HMAC"


def test_signature_matches_an_independent_hmac() -> None:
    body = b'{"type":"payment.updated","event_id":"e-1"}'
    expected = base64.b64encode(
        hmac.new(KEY.encode(), URL.encode() + body, hashlib.sha256).digest()
    ).decode()
    assert scheme.sign(body, KEY, url=URL) == [(SIGNATURE_HEADER, expected)]


def test_round_trip_and_event_fields() -> None:
    body = b'{"type":"payment.updated","event_id":"e-1","data":{}}'
    headers = scheme.sign(body, KEY, url=URL)
    signed = SignedMessage.from_text_headers(headers, body, URL)
    verdict = scheme.verify(signed, [KEY], now=NOW)
    assert verdict.status == "valid"
    assert verdict.timestamp is None
    assert scheme.event_id(signed) == "e-1"
    assert scheme.event_type(signed) == "payment.updated"


def test_rotation_reports_the_matching_secret() -> None:
    headers = scheme.sign(SDK_BODY, KEY, url=URL)
    signed = SignedMessage.from_text_headers(headers, SDK_BODY, URL)
    verdict = scheme.verify(signed, ["old-key", "other", KEY], now=NOW)
    assert verdict.status == "valid"
    assert verdict.secret_index == 2


def test_tampered_body_and_wrong_secret_are_mismatches() -> None:
    headers = scheme.sign(SDK_BODY, KEY, url=URL)
    tampered = SignedMessage.from_text_headers(headers, SDK_BODY + b" ", URL)
    assert scheme.verify(tampered, [KEY], now=NOW).reason.startswith("signature mismatch")
    signed = SignedMessage.from_text_headers(headers, SDK_BODY, URL)
    assert scheme.verify(signed, ["wrong"], now=NOW).reason.startswith("signature mismatch")


def test_trailing_slash_on_the_url_is_a_mismatch_that_names_the_url() -> None:
    headers = scheme.sign(SDK_BODY, KEY, url=URL)
    signed = SignedMessage.from_text_headers(headers, SDK_BODY, URL + "/")
    verdict = scheme.verify(signed, [KEY], now=NOW)
    assert verdict.reason == f"signature mismatch for notification URL {URL + '/'!r} + body"


def test_missing_header() -> None:
    verdict = scheme.verify(message(None), [SDK_KEY], now=NOW)
    assert (verdict.status, verdict.reason) == ("invalid", f"missing header {SIGNATURE_HEADER}")


@pytest.mark.parametrize(
    "value", ["", "not base64!", "GF4Ykr", "AAAA", base64.b64encode(b"x" * 20).decode()]
)
def test_malformed_header(value: str) -> None:
    verdict = scheme.verify(message(value), [SDK_KEY], now=NOW)
    assert verdict.reason == f"malformed {SIGNATURE_HEADER}: expected base64 of a 32-byte HMAC"


def test_without_a_url_the_reason_says_to_set_public_url() -> None:
    verdict = scheme.verify(message(SDK_SIGNATURE, url=None), [SDK_KEY], now=NOW)
    assert verdict.status == "invalid"
    assert "set public_url" in verdict.reason


def test_no_secret_configured() -> None:
    verdict = scheme.verify(message(SDK_SIGNATURE), [], now=NOW)
    assert verdict.reason == "no secret configured"


def test_legacy_sha1_header_is_accepted_alone() -> None:
    # Square's v1 webhook docs: x-square-signature is HMAC-SHA1 over the same content.
    legacy = base64.b64encode(
        hmac.new(KEY.encode(), URL.encode() + SDK_BODY, "sha1").digest()
    ).decode()
    signed = SignedMessage.from_text_headers([(LEGACY_SIGNATURE_HEADER, legacy)], SDK_BODY, URL)
    verdict = scheme.verify(signed, [KEY], now=NOW)
    assert (verdict.status, verdict.reason) == ("valid", f"{LEGACY_SIGNATURE_HEADER} matches")


def test_sha256_header_wins_over_the_legacy_one() -> None:
    # A valid legacy header must not rescue a bad SHA-256 one (no downgrade).
    legacy = base64.b64encode(
        hmac.new(KEY.encode(), URL.encode() + SDK_BODY, "sha1").digest()
    ).decode()
    bad = base64.b64encode(b"\0" * 32).decode()
    signed = SignedMessage.from_text_headers(
        [(LEGACY_SIGNATURE_HEADER, legacy), (SIGNATURE_HEADER, bad)], SDK_BODY, URL
    )
    assert scheme.verify(signed, [KEY], now=NOW).status == "invalid"


def test_sign_misuse_raises_scheme_error() -> None:
    with pytest.raises(SchemeError):
        scheme.sign(b"{}", "", url=URL)
    with pytest.raises(SchemeError, match="URL"):
        scheme.sign(b"{}", KEY)


def test_config_probe_and_source_load() -> None:
    assert scheme.sign(b"", KEY, msg_id="probe", timestamp=0, url="https://probe.invalid/")
    settings = settings_from_mapping(
        {"sources": {"sq": {"scheme": "square", "secrets": [KEY], "public_url": URL}}}
    )
    assert settings.sources["sq"].scheme_name == "square"


def test_verdict_never_contains_the_secret() -> None:
    for secrets in ([KEY], ["wrong-" + KEY]):
        verdict = scheme.verify(message(SDK_SIGNATURE), secrets, now=NOW)
        assert KEY not in repr(verdict.as_dict())


header_text = st.text(alphabet=st.characters(max_codepoint=255), max_size=80)


@given(
    sha256=st.none() | header_text,
    sha1=st.none() | header_text,
    body=st.binary(max_size=200),
    url=st.none() | st.text(max_size=80),
)
def test_fuzzed_requests_give_clean_verdicts(
    sha256: str | None, sha1: str | None, body: bytes, url: str | None
) -> None:
    headers = [
        (name, value)
        for name, value in ((SIGNATURE_HEADER, sha256), (LEGACY_SIGNATURE_HEADER, sha1))
        if value is not None
    ]
    signed = SignedMessage.from_text_headers(headers, body, url)
    verdict = scheme.verify(signed, [KEY, "second"], now=NOW)
    assert verdict.status == "invalid"
    assert verdict.reason
    scheme.event_id(signed)
    scheme.event_type(signed)


@given(body=st.binary(max_size=200), url=st.text(min_size=1, max_size=80))
def test_fuzzed_round_trips(body: bytes, url: str) -> None:
    signed = SignedMessage.from_text_headers(scheme.sign(body, KEY, url=url), body, url)
    assert scheme.verify(signed, [KEY], now=NOW).status == "valid"
