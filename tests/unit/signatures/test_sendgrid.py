"""``sendgrid``: official vectors, key handling, window, precise failures, fuzzing."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from hookyard.config import settings_from_mapping
from hookyard.exceptions import ConfigError, SchemeError
from hookyard.signatures import SignedMessage, create_scheme
from hookyard.signatures.sendgrid import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SendGrid,
    load_key,
    new_key_pair,
    public_key_text,
)

# Official vector 1: sendgrid/sendgrid-python, test/unit/test_eventwebhook.py.
PY_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3G"
    "Rqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
PY_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15Tlu"
    "LtEZtM="
)
PY_TIMESTAMP = "1600112502"
# The SDK builds it with json.dumps(sort_keys=True, separators=(",", ":")) + "\r\n".
PY_PAYLOAD = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": (
                    "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"
                ),
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()
# The key both SDKs use for their "invalid key" case.
OTHER_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8RE"
    "ntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
)

# Official vector 2: sendgrid/sendgrid-nodejs, packages/eventwebhook/src/eventwebhook.spec.js.
NODE_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7"
    "yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
)
NODE_SIGNATURE = (
    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDW"
    "YNH2j/0="
)
# The nodejs spec's "bad signature": one character changed ("2j" became "3j").
NODE_BAD_SIGNATURE = NODE_SIGNATURE.replace("YNH2j", "YNH3j")
NODE_TIMESTAMP = "1588788367"
NODE_PAYLOAD = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'

PRIVATE_PEM, PUBLIC = new_key_pair()
NOW = 1_700_000_000
BODY = b'[{"email":"a@example.com","event":"delivered","sg_event_id":"ev-1"},{"event":"open"}]'
scheme = SendGrid()


def spki_text(key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def request(signature: str | None, timestamp: str | None, body: bytes) -> SignedMessage:
    pairs = [(SIGNATURE_HEADER, signature), (TIMESTAMP_HEADER, timestamp)]
    return SignedMessage.from_text_headers([(n, v) for n, v in pairs if v is not None], body)


def signed(body: bytes = BODY, ts: int = NOW, key: str = PRIVATE_PEM) -> SignedMessage:
    return SignedMessage.from_text_headers(scheme.sign(body, key, timestamp=ts), body)


def test_registry_gives_sendgrid() -> None:
    assert isinstance(create_scheme("sendgrid"), SendGrid)
    assert SendGrid.timestamped and not SendGrid.needs_url


@pytest.mark.parametrize(
    ("public_key", "signature", "timestamp", "payload", "event_type"),
    [
        (PY_PUBLIC_KEY, PY_SIGNATURE, PY_TIMESTAMP, PY_PAYLOAD, "dropped"),
        (NODE_PUBLIC_KEY, NODE_SIGNATURE, NODE_TIMESTAMP, NODE_PAYLOAD, "test_event"),
    ],
)
def test_official_vectors(
    public_key: str, signature: str, timestamp: str, payload: bytes, event_type: str
) -> None:
    message = request(signature, timestamp, payload)
    verdict = scheme.verify(message, [public_key], now=int(timestamp))
    assert verdict.status == "valid"
    assert verdict.secret_index == 0
    assert verdict.received == signature
    assert verdict.timestamp == int(timestamp)
    assert verdict.signed_content is not None
    assert verdict.signed_content.startswith(f"{len(timestamp) + len(payload)} bytes")
    assert scheme.event_type(message) == event_type


def test_official_python_vector_event_id_is_the_first_sg_event_id() -> None:
    message = request(PY_SIGNATURE, PY_TIMESTAMP, PY_PAYLOAD)
    assert scheme.event_id(message) == "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA"


def test_official_negative_cases() -> None:
    ts = int(PY_TIMESTAMP)
    wrong_key = scheme.verify(
        request(PY_SIGNATURE, PY_TIMESTAMP, PY_PAYLOAD), [OTHER_PUBLIC_KEY], now=ts
    )
    assert wrong_key.reason == "signature does not verify with any configured public key"
    bad_payload = scheme.verify(
        request(PY_SIGNATURE, PY_TIMESTAMP, b"payload"), [PY_PUBLIC_KEY], now=ts
    )
    assert bad_payload.reason == "signature does not verify with any configured public key"
    bad_ts = scheme.verify(request(PY_SIGNATURE, "timestamp", PY_PAYLOAD), [PY_PUBLIC_KEY], now=ts)
    assert bad_ts.reason == f"malformed {TIMESTAMP_HEADER} 'timestamp'"
    bad_sig = request(NODE_BAD_SIGNATURE, NODE_TIMESTAMP, NODE_PAYLOAD)
    verdict = scheme.verify(bad_sig, [NODE_PUBLIC_KEY], now=int(NODE_TIMESTAMP))
    assert verdict.status == "invalid"


def test_official_vector_is_stale_today_unless_the_window_is_skipped() -> None:
    message = request(PY_SIGNATURE, PY_TIMESTAMP, PY_PAYLOAD)
    verdict = scheme.verify(message, [PY_PUBLIC_KEY], now=NOW, tolerance=300)
    assert (
        verdict.reason
        == f"timestamp too old: {NOW - int(PY_TIMESTAMP)}s before now, tolerance 300s"
    )
    assert verdict.secret_index == 0
    assert scheme.verify(message, [PY_PUBLIC_KEY], now=NOW, tolerance=None).ok


def test_rotation_reports_the_matching_key() -> None:
    message = request(PY_SIGNATURE, PY_TIMESTAMP, PY_PAYLOAD)
    verdict = scheme.verify(
        message, [OTHER_PUBLIC_KEY, NODE_PUBLIC_KEY, PY_PUBLIC_KEY], now=int(PY_TIMESTAMP)
    )
    assert (verdict.status, verdict.secret_index) == ("valid", 2)


def test_round_trip_with_the_key_as_sendgrid_shows_it() -> None:
    message = signed()
    verdict = scheme.verify(message, [PUBLIC], now=NOW)
    assert verdict.status == "valid"
    assert verdict.computed is None  # ECDSA is randomised: nothing to recompute
    assert scheme.event_id(message) == "ev-1"
    assert scheme.event_type(message) == "delivered"


def test_signature_checks_with_cryptography_directly() -> None:
    headers = dict(scheme.sign(BODY, PRIVATE_PEM, timestamp=NOW))
    public = serialization.load_der_public_key(base64.b64decode(PUBLIC))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        base64.b64decode(headers[SIGNATURE_HEADER]),
        str(NOW).encode() + BODY,
        ec.ECDSA(hashes.SHA256()),
    )
    assert headers[TIMESTAMP_HEADER] == str(NOW)


def test_private_key_as_base64_der_pkcs8_and_pem_public_key() -> None:
    private = serialization.load_pem_private_key(PRIVATE_PEM.encode(), password=None)
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem_public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    message = signed(key=base64.b64encode(der).decode())
    assert scheme.verify(message, [pem_public.decode()], now=NOW).ok
    assert public_key_text(load_key(PRIVATE_PEM)) == PUBLIC


def test_tampered_body_and_changed_timestamp() -> None:
    headers = scheme.sign(BODY, PRIVATE_PEM, timestamp=NOW)
    tampered = SignedMessage.from_text_headers(headers, BODY + b" ")
    reason = "signature does not verify with any configured public key"
    assert scheme.verify(tampered, [PUBLIC], now=NOW).reason == reason
    moved = [(n, str(NOW + 1) if n == TIMESTAMP_HEADER else v) for n, v in headers]
    assert (
        scheme.verify(SignedMessage.from_text_headers(moved, BODY), [PUBLIC], now=NOW).reason
        == reason
    )


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-301, "timestamp too old: 301s before now, tolerance 300s"),
        (301, "timestamp in the future: 301s after now, tolerance 300s"),
    ],
)
def test_window_in_both_directions(offset: int, reason: str) -> None:
    verdict = scheme.verify(signed(ts=NOW + offset), [PUBLIC], now=NOW, tolerance=300)
    assert (verdict.status, verdict.reason) == ("invalid", reason)
    assert scheme.verify(signed(ts=NOW + offset), [PUBLIC], now=NOW, tolerance=None).ok


@pytest.mark.parametrize(
    ("signature", "timestamp", "reason"),
    [
        (None, str(NOW), f"missing header {SIGNATURE_HEADER}"),
        (PY_SIGNATURE, None, f"missing header {TIMESTAMP_HEADER}"),
        (PY_SIGNATURE, "", f"malformed {TIMESTAMP_HEADER} ''"),
        (PY_SIGNATURE, "1.5", f"malformed {TIMESTAMP_HEADER} '1.5'"),
        (
            "not base64!",
            str(NOW),
            f"malformed {SIGNATURE_HEADER}: expected a base64 DER ECDSA signature",
        ),
        ("AAAA", str(NOW), f"malformed {SIGNATURE_HEADER}: expected a base64 DER ECDSA signature"),
        ("", str(NOW), f"malformed {SIGNATURE_HEADER}: expected a base64 DER ECDSA signature"),
    ],
)
def test_missing_and_malformed_headers(
    signature: str | None, timestamp: str | None, reason: str
) -> None:
    verdict = scheme.verify(request(signature, timestamp, BODY), [PUBLIC], now=NOW)
    assert (verdict.status, verdict.reason) == ("invalid", reason)


def test_no_public_key_configured() -> None:
    assert scheme.verify(signed(), [], now=NOW).reason == "no public key configured"


def test_config_probe_passes_for_a_public_key_and_sign_gives_no_headers() -> None:
    # Config loading probes each configured secret with sign(); the secret is a public key.
    assert (
        scheme.sign(b"", PY_PUBLIC_KEY, msg_id="probe", timestamp=0, url="https://probe.invalid/")
        == []
    )
    settings = settings_from_mapping(
        {"sources": {"mail": {"scheme": "sendgrid", "secrets": [PY_PUBLIC_KEY, PUBLIC]}}}
    )
    assert settings.sources["mail"].scheme_name == "sendgrid"


@pytest.mark.parametrize(
    "key",
    [
        "not a key",
        "c2VjcmV0",  # base64, not a key
        # Real keys of the wrong kind: Ed25519 and P-384.
        spki_text(ed25519.Ed25519PrivateKey.generate().public_key()),
        spki_text(ec.generate_private_key(ec.SECP384R1()).public_key()),
    ],
)
def test_unusable_keys_are_operator_errors(key: str) -> None:
    with pytest.raises(SchemeError, match="sendgrid key"):
        scheme.sign(b"", key, msg_id="probe", timestamp=0, url="https://probe.invalid/")
    with pytest.raises(ConfigError, match="sendgrid key"):
        settings_from_mapping({"sources": {"mail": {"scheme": "sendgrid", "secrets": [key]}}})


def test_event_fields_of_other_bodies() -> None:
    assert scheme.event_id(request(None, None, b"[]")) is None
    assert scheme.event_type(request(None, None, b'[1, {"event": "x"}]')) is None
    assert scheme.event_type(request(None, None, b"\x00\xff")) is None


def test_verdict_never_contains_the_private_key() -> None:
    verdict = scheme.verify(signed(), [PUBLIC], now=NOW)
    assert "PRIVATE" not in repr(verdict.as_dict())


header_text = st.text(alphabet=st.characters(max_codepoint=255), max_size=120)


@settings(max_examples=200)
@given(
    signature=st.none() | header_text | st.just(PY_SIGNATURE),
    timestamp=st.none() | header_text | st.just(PY_TIMESTAMP),
    body=st.binary(max_size=200),
)
def test_fuzzed_requests_give_clean_verdicts(
    signature: str | None, timestamp: str | None, body: bytes
) -> None:
    message = request(signature, timestamp, body)
    verdict = scheme.verify(message, [PY_PUBLIC_KEY, PUBLIC], now=NOW)
    assert verdict.status == "invalid"
    assert verdict.reason
    scheme.event_id(message)
    scheme.event_type(message)


@given(der=st.binary(max_size=80))
def test_fuzzed_der_signatures_are_clean_failures(der: bytes) -> None:
    message = request(base64.b64encode(der).decode(), str(NOW), BODY)
    assert scheme.verify(message, [PUBLIC], now=NOW).status == "invalid"


@settings(max_examples=30)
@given(body=st.binary(max_size=200))
def test_fuzzed_round_trips(body: bytes) -> None:
    assert scheme.verify(signed(body), [PUBLIC], now=NOW).ok
