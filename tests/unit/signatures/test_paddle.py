"""``paddle``: official vector, round trips, window, precise failures, fuzzed headers."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard.exceptions import SchemeError
from hookyard.signatures import SignedMessage, create_scheme
from hookyard.signatures.paddle import HEADER, Paddle, parse_header

# Official vector: PaddleHQ/paddle-python-sdk, tests/Unit/Notification/test_Verifier.py
# (test_validate_paddle_signature_header_integrity): two secrets that fail, then the one
# that matches the second h1; the first h1 is the SDK's own "dummy".
SDK_HEADER = (
    "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"
)
SDK_BODY = b"hello-world"
SDK_SECRETS = [
    "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_TjIG2BXbm83HPXqNfziwe506sBEdqL/4",
    "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_vB/yIOnTOCWIvpBadM5jzBZPHc7OmdSo",
    "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh",
]
SDK_TS = 1696195954

SECRET = "pdl_ntf_01test_secretsecretsecret"
BODY = b'{"event_id":"evt_01h","event_type":"transaction.completed","data":{}}'
NOW = 1_700_000_000
scheme = Paddle()


def message(header: str | None, body: bytes = SDK_BODY) -> SignedMessage:
    headers = [] if header is None else [(HEADER, header)]
    return SignedMessage.from_text_headers(headers, body)


def signed(body: bytes = BODY, secret: str = SECRET, ts: int = NOW) -> SignedMessage:
    return SignedMessage.from_text_headers(scheme.sign(body, secret, timestamp=ts), body)


def test_registry_gives_paddle() -> None:
    assert isinstance(create_scheme("paddle"), Paddle)
    assert Paddle.timestamped and not Paddle.needs_url


def test_official_sdk_vector_matches_the_third_secret() -> None:
    verdict = scheme.verify(message(SDK_HEADER), SDK_SECRETS, now=SDK_TS)
    assert verdict.status == "valid"
    assert verdict.secret_index == 2
    assert verdict.computed == "d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"
    assert verdict.timestamp == SDK_TS


def test_official_sdk_vector_fails_with_the_other_secrets() -> None:
    verdict = scheme.verify(message(SDK_HEADER), SDK_SECRETS[:2], now=SDK_TS)
    assert (verdict.status, verdict.reason) == ("invalid", "signature mismatch")


def test_official_sdk_vector_is_stale_today_unless_the_window_is_skipped() -> None:
    verdict = scheme.verify(message(SDK_HEADER), SDK_SECRETS, now=NOW, tolerance=300)
    assert verdict.status == "invalid"
    assert verdict.reason == f"timestamp too old: {NOW - SDK_TS}s before now, tolerance 300s"
    assert verdict.secret_index == 2
    assert scheme.verify(message(SDK_HEADER), SDK_SECRETS, now=NOW, tolerance=None).ok


def test_signature_matches_an_independent_hmac() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}:".encode() + BODY, hashlib.sha256).hexdigest()
    assert scheme.sign(BODY, SECRET, timestamp=NOW) == [(HEADER, f"ts={NOW};h1={expected}")]


def test_round_trip_and_event_fields() -> None:
    request = signed()
    verdict = scheme.verify(request, [SECRET], now=NOW)
    assert verdict.status == "valid"
    assert verdict.timestamp == NOW
    assert scheme.event_id(request) == "evt_01h"
    assert scheme.event_type(request) == "transaction.completed"


def test_rotation_reports_the_matching_secret() -> None:
    verdict = scheme.verify(signed(), ["pdl_ntf_old", SECRET], now=NOW)
    assert (verdict.status, verdict.secret_index) == ("valid", 1)


def test_several_h1_values_any_may_match() -> None:
    good = scheme.sign(BODY, SECRET, timestamp=NOW)[0][1].split(";")[1]
    header = f"ts={NOW};h1={'0' * 64};{good}"
    assert scheme.verify(message(header, BODY), [SECRET], now=NOW).status == "valid"


def test_tampered_body_wrong_secret_and_other_timestamp() -> None:
    header = scheme.sign(BODY, SECRET, timestamp=NOW)[0][1]
    assert (
        scheme.verify(message(header, BODY + b" "), [SECRET], now=NOW).reason
        == "signature mismatch"
    )
    assert (
        scheme.verify(message(header, BODY), ["pdl_ntf_wrong"], now=NOW).reason
        == "signature mismatch"
    )
    moved = header.replace(f"ts={NOW}", f"ts={NOW + 1}")
    assert scheme.verify(message(moved, BODY), [SECRET], now=NOW).reason == "signature mismatch"


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-301, "timestamp too old: 301s before now, tolerance 300s"),
        (301, "timestamp in the future: 301s after now, tolerance 300s"),
    ],
)
def test_window_in_both_directions(offset: int, reason: str) -> None:
    verdict = scheme.verify(signed(ts=NOW + offset), [SECRET], now=NOW, tolerance=300)
    assert (verdict.status, verdict.reason) == ("invalid", reason)
    assert scheme.verify(signed(ts=NOW + offset), [SECRET], now=NOW, tolerance=None).ok
    assert scheme.verify(signed(ts=NOW + offset), [SECRET], now=NOW, tolerance=301).ok


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, f"missing header {HEADER}"),
        ("", f"malformed {HEADER}: no ts="),
        (f"h1={'a' * 64}", f"malformed {HEADER}: no ts="),
        (f"ts=1;ts=2;h1={'a' * 64}", f"malformed {HEADER}: more than one ts="),
        (f"ts={NOW}", f"no h1 signature in {HEADER}"),
        (f"ts={NOW};h2={'a' * 64}", f"no h1 signature in {HEADER}"),
        (f"ts=yesterday;h1={'a' * 64}", f"malformed {HEADER} timestamp 'yesterday'"),
        (f"ts=-5;h1={'a' * 64}", f"malformed {HEADER} timestamp '-5'"),
        (f"ts={NOW};h1=zz", f"malformed {HEADER}: h1 is not a hex SHA-256 HMAC"),
    ],
)
def test_missing_and_malformed_headers(header: str | None, reason: str) -> None:
    verdict = scheme.verify(message(header, BODY), [SECRET], now=NOW)
    assert (verdict.status, verdict.reason) == ("invalid", reason)


def test_parser_tolerates_spaces_and_unknown_keys() -> None:
    parsed = parse_header(f" ts = {NOW} ; v2=abc ; h1 = {'b' * 64} ;junk")
    assert parsed.problem is None
    assert parsed.ts == str(NOW)
    assert parsed.h1 == ("b" * 64,)


def test_no_secret_configured() -> None:
    assert scheme.verify(signed(), [], now=NOW).reason == "no secret configured"


def test_sign_misuse_and_config_probe() -> None:
    with pytest.raises(SchemeError):
        scheme.sign(BODY, "")
    assert scheme.sign(b"", SECRET, msg_id="probe", timestamp=0, url="https://probe.invalid/")


def test_event_fields_are_none_for_bodies_without_them() -> None:
    request = message(None, b"\xff\xfe not json")
    assert scheme.event_id(request) is None
    assert scheme.event_type(request) is None


header_text = st.text(alphabet=st.characters(max_codepoint=255), max_size=120)


@given(header_text)
def test_fuzzed_parser_never_raises(raw: str) -> None:
    parsed = parse_header(raw)
    assert parsed.problem is not None or (parsed.ts is not None and parsed.h1)


@given(
    header=st.none()
    | header_text
    | st.builds(lambda ts, h: f"ts={ts};h1={h}", st.integers(), header_text),
    body=st.binary(max_size=200),
)
def test_fuzzed_requests_give_clean_verdicts(header: str | None, body: bytes) -> None:
    request = message(header, body)
    verdict = scheme.verify(request, [SECRET], now=NOW)
    assert verdict.status == "invalid"
    assert verdict.reason
    scheme.event_id(request)
    scheme.event_type(request)


@given(body=st.binary(max_size=200), ts=st.integers(min_value=0, max_value=10**11))
def test_fuzzed_round_trips(body: bytes, ts: int) -> None:
    verdict = scheme.verify(signed(body, ts=ts), [SECRET], now=ts)
    assert verdict.status == "valid"
