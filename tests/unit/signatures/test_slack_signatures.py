"""slack: X-Slack-Signature v0=HEX over v0:{timestamp}:{body}, with a replay window."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from hookyard.signatures.base import SignedMessage
from hookyard.signatures.slack import Slack

scheme = Slack()

# https://api.slack.com/authentication/verifying-requests-from-slack (worked example),
# also slackapi/python-slack-sdk tests/signature/test_signature_verifier.py
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TS = 1531420618
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def msg(
    signature: str | None = SIGNATURE, ts: str | None = str(TS), body: bytes = BODY
) -> SignedMessage:
    headers = []
    if ts is not None:
        headers.append(("X-Slack-Request-Timestamp", ts))
    if signature is not None:
        headers.append(("X-Slack-Signature", signature))
    return SignedMessage.from_text_headers(headers, body)


def test_docs_vector_generate_signature() -> None:
    assert scheme.sign(BODY, SECRET, timestamp=TS) == [
        ("X-Slack-Request-Timestamp", str(TS)),
        ("X-Slack-Signature", SIGNATURE),
    ]


def test_docs_vector_is_valid_request() -> None:
    verdict = scheme.verify(msg(), [SECRET], now=TS)
    assert (verdict.status, verdict.reason, verdict.secret_index) == (
        "valid",
        "v0 signature matches",
        0,
    )
    assert verdict.computed == SIGNATURE


def test_docs_vector_invalid_body() -> None:
    verdict = scheme.verify(msg(body=BODY + b"------"), [SECRET], now=TS)
    assert verdict.reason == "signature mismatch"


def test_docs_vector_expired_at_the_real_clock() -> None:
    verdict = scheme.verify(msg(), [SECRET], now=time.time())
    assert verdict.reason.startswith("timestamp too old")


def test_future_timestamp() -> None:
    verdict = scheme.verify(msg(), [SECRET], now=TS - 301, tolerance=300)
    assert verdict.reason == "timestamp in the future: 301s after now, tolerance 300s"


def test_signature_moved_to_another_timestamp() -> None:
    assert scheme.verify(msg(ts=str(TS + 1)), [SECRET], now=TS).reason == "signature mismatch"


def test_wrong_secret_and_rotation() -> None:
    assert scheme.verify(msg(), ["0" * 32], now=TS).reason == "signature mismatch"
    assert scheme.verify(msg(), ["0" * 32, SECRET], now=TS).secret_index == 1


@pytest.mark.parametrize(
    ("signature", "ts", "reason"),
    [
        (None, str(TS), "missing header X-Slack-Signature"),
        (SIGNATURE, None, "missing header X-Slack-Request-Timestamp"),
        (SIGNATURE, "yesterday", "malformed X-Slack-Request-Timestamp 'yesterday'"),
        ("v1=" + "0" * 64, str(TS), "no v0 signature in X-Slack-Signature"),
        ("a2114d57", str(TS), "no v0 signature in X-Slack-Signature"),
        ("v0=a2114d57", str(TS), "malformed X-Slack-Signature: expected v0= and 64 hex characters"),
    ],
)
def test_missing_and_malformed(signature: str | None, ts: str | None, reason: str) -> None:
    assert scheme.verify(msg(signature, ts), [SECRET], now=TS).reason == reason


def test_events_api_type_and_id() -> None:
    body = json.dumps(
        {"type": "event_callback", "event_id": "Ev123", "event": {"type": "app_mention"}}
    ).encode()
    message = msg(body=body)
    assert (scheme.event_type(message), scheme.event_id(message)) == ("app_mention", "Ev123")


def test_url_verification_type() -> None:
    message = msg(body=b'{"type": "url_verification", "challenge": "x"}')
    assert (scheme.event_type(message), scheme.event_id(message)) == ("url_verification", None)


def test_interactive_payload_type() -> None:
    body = urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
    assert scheme.event_type(msg(body=body)) == "block_actions"


def test_slash_command_has_no_type() -> None:
    assert scheme.event_type(msg()) is None
