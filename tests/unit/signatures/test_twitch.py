"""``twitch``: independently computed vectors, round trips, window, failures, fuzzing.

Twitch publishes no test vector (a secret, headers and body with the resulting
signature): its guide (dev.twitch.tv/docs/eventsub/handling-webhook-events, "Verifying
the event message") gives only the construction and sample code, and twitchdev/twitch-cli
tests sign with random ids. So the expected values here are computed with ``hmac``
directly, following that construction, rather than with the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard.exceptions import SchemeError
from hookyard.signatures import SignedMessage, create_scheme
from hookyard.signatures.twitch import (
    ID_HEADER,
    SIGNATURE_HEADER,
    SUBSCRIPTION_TYPE_HEADER,
    TIMESTAMP_HEADER,
    TYPE_HEADER,
    Twitch,
    format_rfc3339,
    parse_rfc3339,
)

SECRET = "s3cRe7-abcdefghij"
MSG_ID = "e76c6bd4-55c9-4987-8304-da1588d8988b"
# The guide's sample notification timestamp shape: RFC 3339 with nanoseconds.
RAW_TS = "2019-11-16T10:11:12.634234626Z"
TS = 1573899072
BODY = (
    b'{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow",'
    b'"version":"2","status":"enabled"},"event":{"user_id":"1337","user_login":"awesome_user"}}'
)
scheme = Twitch()


def independent_signature(secret: str, msg_id: str, raw_ts: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), msg_id.encode() + raw_ts.encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def request(
    signature: str | None = None,
    *,
    msg_id: str | None = MSG_ID,
    raw_ts: str | None = RAW_TS,
    body: bytes = BODY,
    extra: tuple[tuple[str, str], ...] = (),
) -> SignedMessage:
    if signature is None and msg_id is not None and raw_ts is not None:
        signature = independent_signature(SECRET, msg_id, raw_ts, body)
    pairs = [(ID_HEADER, msg_id), (TIMESTAMP_HEADER, raw_ts), (SIGNATURE_HEADER, signature)]
    headers = [(name, value) for name, value in pairs if value is not None]
    return SignedMessage.from_text_headers([*headers, *extra], body)


def test_registry_gives_twitch() -> None:
    assert isinstance(create_scheme("twitch"), Twitch)
    assert Twitch.timestamped and not Twitch.needs_url


def test_independently_computed_signature_is_valid() -> None:
    verdict = scheme.verify(request(), [SECRET], now=TS)
    assert verdict.status == "valid"
    assert verdict.secret_index == 0
    assert verdict.timestamp == TS
    assert verdict.computed == independent_signature(SECRET, MSG_ID, RAW_TS, BODY)
    assert verdict.signed_content is not None
    assert verdict.signed_content.startswith(f"{len(MSG_ID) + len(RAW_TS) + len(BODY)} bytes")


def test_fixed_vector_pins_the_construction() -> None:
    # Independently computed (Python's hmac, the construction from Twitch's guide) once
    # and pinned, so a change in how the content is assembled cannot go unnoticed.
    expected = (
        "sha256="
        + hmac.new(
            b"s3cRe7-abcdefghij",
            b"e76c6bd4-55c9-4987-8304-da1588d8988b2019-11-16T10:11:12.634234626Z" + BODY,
            hashlib.sha256,
        ).hexdigest()
    )
    assert scheme.verify(request(expected), [SECRET], now=TS).status == "valid"


def test_uppercase_hex_is_accepted() -> None:
    signature = independent_signature(SECRET, MSG_ID, RAW_TS, BODY)
    assert scheme.verify(request("sha256=" + signature[7:].upper()), [SECRET], now=TS).ok


def test_round_trip_and_event_fields() -> None:
    headers = scheme.sign(BODY, SECRET, msg_id="m-1", timestamp=TS)
    names = [name for name, _ in headers]
    assert names == [
        ID_HEADER,
        TIMESTAMP_HEADER,
        SIGNATURE_HEADER,
        TYPE_HEADER,
        SUBSCRIPTION_TYPE_HEADER,
    ]
    assert dict(headers)[TIMESTAMP_HEADER] == "2019-11-16T10:11:12.000000000Z"
    signed = SignedMessage.from_text_headers(headers, BODY)
    verdict = scheme.verify(signed, [SECRET], now=TS)
    assert verdict.status == "valid"
    assert scheme.event_id(signed) == "m-1"
    assert scheme.event_type(signed) == "channel.follow"


def test_event_type_of_non_notification_messages_is_the_message_type() -> None:
    for kind in ("webhook_callback_verification", "revocation"):
        signed = request(extra=((TYPE_HEADER, kind), (SUBSCRIPTION_TYPE_HEADER, "channel.follow")))
        assert scheme.event_type(signed) == kind
    notification = request(
        extra=((TYPE_HEADER, "notification"), (SUBSCRIPTION_TYPE_HEADER, "stream.online"))
    )
    assert scheme.event_type(notification) == "stream.online"
    # Without the header, the body's subscription type still names the event.
    assert scheme.event_type(request()) == "channel.follow"


def test_challenge_of_a_callback_verification() -> None:
    body = (
        b'{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"type":"channel.follow"}}'
    )
    verification = request(body=body, extra=((TYPE_HEADER, "webhook_callback_verification"),))
    assert scheme.verify(verification, [SECRET], now=TS).ok
    assert Twitch.challenge(verification) == "pogchamp-kappa-360noscope-vohiyo"
    notification = request(body=body, extra=((TYPE_HEADER, "notification"),))
    assert Twitch.challenge(notification) is None


def test_rotation_reports_the_matching_secret() -> None:
    verdict = scheme.verify(request(), ["old-secret-1234", SECRET], now=TS)
    assert (verdict.status, verdict.secret_index) == ("valid", 1)


def test_tampered_body_wrong_secret_and_another_message_id() -> None:
    good = independent_signature(SECRET, MSG_ID, RAW_TS, BODY)
    assert (
        scheme.verify(request(good, body=BODY + b" "), [SECRET], now=TS).reason
        == "signature mismatch"
    )
    assert scheme.verify(request(good), ["wrong-secret-123"], now=TS).reason == "signature mismatch"
    # The signature of one message replayed under another id must not verify.
    replayed = request(good, msg_id="another-id")
    assert scheme.verify(replayed, [SECRET], now=TS).reason == "signature mismatch"
    # Nor under the same instant written differently: the header text is what is signed.
    reformatted = request(good, raw_ts="2019-11-16T10:11:12.634234626+00:00")
    assert scheme.verify(reformatted, [SECRET], now=TS).reason == "signature mismatch"


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-601, "timestamp too old: 601s before now, tolerance 600s"),
        (601, "timestamp in the future: 601s after now, tolerance 600s"),
    ],
)
def test_window_in_both_directions(offset: int, reason: str) -> None:
    signed = SignedMessage.from_text_headers(scheme.sign(BODY, SECRET, timestamp=TS + offset), BODY)
    verdict = scheme.verify(signed, [SECRET], now=TS, tolerance=600)
    assert (verdict.status, verdict.reason, verdict.secret_index) == ("invalid", reason, 0)
    assert scheme.verify(signed, [SECRET], now=TS, tolerance=None).ok


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"msg_id": None, "signature": "sha256=" + "a" * 64}, f"missing header {ID_HEADER}"),
        ({"raw_ts": None, "signature": "sha256=" + "a" * 64}, f"missing header {TIMESTAMP_HEADER}"),
        ({"raw_ts": "1573899072"}, f"malformed {TIMESTAMP_HEADER} '1573899072': expected RFC 3339"),
        (
            {"raw_ts": "2019-13-16T10:11:12Z"},
            f"malformed {TIMESTAMP_HEADER} '2019-13-16T10:11:12Z': expected RFC 3339",
        ),
        (
            {"raw_ts": "2019-11-16T10:11:12"},
            f"malformed {TIMESTAMP_HEADER} '2019-11-16T10:11:12': expected RFC 3339",
        ),
        ({"signature": "a" * 64}, f"malformed {SIGNATURE_HEADER}: expected sha256=<64 hex digits>"),
        (
            {"signature": "sha1=" + "a" * 40},
            f"malformed {SIGNATURE_HEADER}: expected sha256=<64 hex digits>",
        ),
        (
            {"signature": "sha256=xyz"},
            f"malformed {SIGNATURE_HEADER}: expected sha256=<64 hex digits>",
        ),
    ],
)
def test_missing_and_malformed_headers(kwargs: dict[str, str | None], reason: str) -> None:
    headers = {"msg_id": MSG_ID, "raw_ts": RAW_TS, "signature": None} | kwargs
    signed = request(headers["signature"], msg_id=headers["msg_id"], raw_ts=headers["raw_ts"])
    verdict = scheme.verify(signed, [SECRET], now=TS)
    assert (verdict.status, verdict.reason) == ("invalid", reason)


def test_missing_signature_header() -> None:
    signed = SignedMessage.from_text_headers(
        [(ID_HEADER, MSG_ID), (TIMESTAMP_HEADER, RAW_TS)], BODY
    )
    assert scheme.verify(signed, [SECRET], now=TS).reason == f"missing header {SIGNATURE_HEADER}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-11-16T10:11:12.634234626Z", TS),
        ("2019-11-16T10:11:12Z", TS),
        ("2019-11-16t10:11:12.5z", TS),
        ("2019-11-16T11:11:12.1+01:00", TS),
        ("2019-11-16T09:41:12-00:30", TS),
        ("2016-12-31T23:59:60Z", 1483228799),
        ("1969-12-31T23:59:59Z", -1),
        ("2019-11-16T10:11:12.Z", None),
        ("2019-02-30T10:11:12Z", None),
        ("2019-11-16T10:11:12+24:00", None),
        ("0000-01-01T00:00:00Z", None),
        # Full-width digits: \d would match them and int() would accept them.
        ("\uff12\uff1019-11-16T10:11:12Z", None),
    ],
)
def test_rfc3339_parser(raw: str, expected: int | None) -> None:
    assert parse_rfc3339(raw) == expected


def test_no_secret_configured_and_sign_misuse() -> None:
    assert scheme.verify(request(), [], now=TS).reason == "no secret configured"
    with pytest.raises(SchemeError):
        scheme.sign(BODY, "")
    with pytest.raises(SchemeError, match="out of range"):
        scheme.sign(BODY, SECRET, timestamp=10**20)
    assert scheme.sign(b"", SECRET, msg_id="probe", timestamp=0, url="https://probe.invalid/")


header_text = st.text(alphabet=st.characters(max_codepoint=255), max_size=80)


@given(header_text)
def test_fuzzed_timestamp_parser_never_raises(raw: str) -> None:
    result = parse_rfc3339(raw)
    assert result is None or isinstance(result, int)


@given(st.datetimes(timezones=st.just(UTC)))
def test_formatted_times_parse_back(moment: datetime) -> None:
    seconds = int(moment.timestamp())
    if moment.year > 1:  # one second before year 1 cannot be written
        assert parse_rfc3339(format_rfc3339(seconds)) == seconds


@given(
    msg_id=st.none() | header_text,
    raw_ts=st.none() | header_text | st.just(RAW_TS),
    signature=st.none() | header_text,
    kind=st.none() | header_text,
    body=st.binary(max_size=200),
)
def test_fuzzed_requests_give_clean_verdicts(
    msg_id: str | None, raw_ts: str | None, signature: str | None, kind: str | None, body: bytes
) -> None:
    pairs = [
        (ID_HEADER, msg_id),
        (TIMESTAMP_HEADER, raw_ts),
        (SIGNATURE_HEADER, signature),
        (TYPE_HEADER, kind),
    ]
    signed = SignedMessage.from_text_headers([(n, v) for n, v in pairs if v is not None], body)
    verdict = scheme.verify(signed, [SECRET], now=TS)
    assert verdict.status == "invalid"
    assert verdict.reason
    scheme.event_id(signed)
    scheme.event_type(signed)


@given(
    body=st.binary(max_size=200), msg_id=st.text(min_size=1, max_size=40), ts=st.integers(0, 2**33)
)
def test_fuzzed_round_trips(body: bytes, msg_id: str, ts: int) -> None:
    headers = scheme.sign(body, SECRET, msg_id=msg_id, timestamp=ts)
    # An HTTP client sends a non-latin-1 header value as UTF-8 bytes; ingest reads them as latin-1.
    wire = [(name, value.encode("utf-8").decode("latin-1")) for name, value in headers]
    assert scheme.verify(SignedMessage.from_text_headers(wire, body), [SECRET], now=ts).ok
