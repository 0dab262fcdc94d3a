"""github: X-Hub-Signature-256 = sha256=HEX of the raw body; type is event[.action]."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse

import pytest

from hookyard.signatures.base import SignedMessage
from hookyard.signatures.github import GitHub

scheme = GitHub()

# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
# ("Testing the webhook payload validation")
DOC_SECRET = "It's a Secret to Everybody"
DOC_PAYLOAD = b"Hello, World!"
DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def msg(signature: str | None, body: bytes = DOC_PAYLOAD, **extra: str) -> SignedMessage:
    headers = [] if signature is None else [("X-Hub-Signature-256", signature)]
    headers += [(name.replace("_", "-"), value) for name, value in extra.items()]
    return SignedMessage.from_text_headers(headers, body)


def test_docs_vector_verifies() -> None:
    verdict = scheme.verify(msg(DOC_SIGNATURE), [DOC_SECRET], now=0)
    assert (verdict.status, verdict.reason, verdict.secret_index) == (
        "valid",
        "sha256 signature matches",
        0,
    )
    assert verdict.computed == DOC_SIGNATURE


def test_docs_vector_sign() -> None:
    headers = dict(scheme.sign(DOC_PAYLOAD, DOC_SECRET, msg_id="d-1"))
    assert headers["X-Hub-Signature-256"] == DOC_SIGNATURE
    assert headers["X-GitHub-Delivery"] == "d-1"
    # The legacy SHA-1 header GitHub still sends, computed independently.
    legacy = hmac.new(DOC_SECRET.encode(), DOC_PAYLOAD, hashlib.sha1).hexdigest()
    assert headers["X-Hub-Signature"] == "sha1=" + legacy


def test_uppercase_hex_is_accepted() -> None:
    upper = "sha256=" + DOC_SIGNATURE.removeprefix("sha256=").upper()
    assert scheme.verify(msg(upper), [DOC_SECRET], now=0).status == "valid"


def test_tampered_body() -> None:
    verdict = scheme.verify(msg(DOC_SIGNATURE, b"Hello, World?"), [DOC_SECRET], now=0)
    assert verdict.reason == "signature mismatch"
    assert verdict.received == DOC_SIGNATURE


def test_wrong_secret() -> None:
    verdict = scheme.verify(msg(DOC_SIGNATURE), ["It's a secret to everybody"], now=0)
    assert verdict.reason == "signature mismatch"


def test_rotation_second_secret_matches() -> None:
    verdict = scheme.verify(msg(DOC_SIGNATURE), ["old secret", DOC_SECRET], now=0)
    assert (verdict.status, verdict.secret_index) == ("valid", 1)


def test_not_timestamped_so_any_time_is_fine() -> None:
    assert scheme.verify(msg(DOC_SIGNATURE), [DOC_SECRET], now=4e9, tolerance=1).ok


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing header X-Hub-Signature-256"),
        ("757107ea", "malformed X-Hub-Signature-256: expected sha256=<hex>, got '757107ea'"),
        (
            "sha1=757107ea",
            "malformed X-Hub-Signature-256: expected sha256=<hex>, got 'sha1=757107ea'",
        ),
        ("sha256=abc", "malformed X-Hub-Signature-256: expected sha256= and 64 hex characters"),
        (
            "sha256=" + "z" * 64,
            "malformed X-Hub-Signature-256: expected sha256= and 64 hex characters",
        ),
    ],
)
def test_missing_and_malformed_headers(signature: str | None, reason: str) -> None:
    assert scheme.verify(msg(signature), [DOC_SECRET], now=0).reason == reason


def test_only_the_legacy_sha1_header() -> None:
    message = msg(None, X_Hub_Signature="sha1=" + "0" * 40)
    verdict = scheme.verify(message, [DOC_SECRET], now=0)
    assert verdict.reason == (
        "missing header X-Hub-Signature-256 (only the SHA-1 X-Hub-Signature is sent)"
    )


def test_event_type_adds_the_action() -> None:
    body = json.dumps({"action": "opened", "issue": {"number": 1}}).encode()
    message = msg(None, body, X_GitHub_Event="issues", X_GitHub_Delivery="72d3162e")
    assert scheme.event_type(message) == "issues.opened"
    assert scheme.event_id(message) == "72d3162e"


def test_event_type_without_action() -> None:
    message = msg(None, b'{"ref": "refs/heads/main"}', X_GitHub_Event="push")
    assert scheme.event_type(message) == "push"


def test_event_type_from_a_form_encoded_payload() -> None:
    body = urllib.parse.urlencode({"payload": json.dumps({"action": "closed"})}).encode()
    assert (
        scheme.event_type(msg(None, body, X_GitHub_Event="pull_request")) == "pull_request.closed"
    )


def test_no_event_header_means_no_type() -> None:
    assert scheme.event_type(msg(None, b'{"action": "opened"}')) is None
