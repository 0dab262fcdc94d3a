"""standard-webhooks: v1 (HMAC, whsec_) and v1a (ed25519, whpk_ / whsk_)."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookyard.config import settings_from_mapping
from hookyard.exceptions import ConfigError, SchemeError
from hookyard.signatures.base import SignedMessage
from hookyard.signatures.standard_webhooks import StandardWebhooks, parse_signatures

scheme = StandardWebhooks()

# Official vectors, standard-webhooks/standard-webhooks:
#   libraries/python/tests/test_webhooks.py (v1: DEFAULT_* constants, test_sign_function)
#   libraries/go/webhook_asymmetric_test.go (v1a: TestAsymmetricWebhookSign)
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
PAYLOAD = b'{"test": 2432232314}'
TS = 1614265330
V1_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
V1_EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
V1_INVALID = (
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="  # test_invalid_signature_raises_error
)
V1A_SEED = "VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
V1A_EXPECTED = (
    "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="
)
JUNK = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="  # the libraries' multi-sig filler


def public_of(seed_b64: str) -> str:
    """whpk_ key for a seed, derived here with `cryptography` rather than by the scheme."""
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed_b64))
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "whpk_" + base64.b64encode(raw).decode()


WHSK = "whsk_" + V1A_SEED
WHPK = public_of(V1A_SEED)


def msg(
    signature: str,
    *,
    msg_id: str = MSG_ID,
    ts: int = TS,
    body: bytes = PAYLOAD,
    prefix: str = "webhook-",
) -> SignedMessage:
    return SignedMessage.from_text_headers(
        [
            (prefix + "id", msg_id),
            (prefix + "timestamp", str(ts)),
            (prefix + "signature", signature),
        ],
        body,
    )


# -- official vectors ----------------------------------------------------------------------


def test_v1_sign_matches_the_official_vector() -> None:
    headers = scheme.sign(PAYLOAD, V1_SECRET, msg_id=MSG_ID, timestamp=TS)
    assert headers == [
        ("webhook-id", MSG_ID),
        ("webhook-timestamp", str(TS)),
        ("webhook-signature", V1_EXPECTED),
    ]


@pytest.mark.parametrize("secret", [V1_SECRET, V1_SECRET.removeprefix("whsec_")])
def test_v1_official_vector_verifies_with_and_without_prefix(secret: str) -> None:
    verdict = scheme.verify(msg(V1_EXPECTED), [secret], now=TS)
    assert (verdict.status, verdict.reason, verdict.secret_index) == (
        "valid",
        "v1 signature matches",
        0,
    )
    assert verdict.computed == V1_EXPECTED.removeprefix("v1,")


def test_v1_official_invalid_signature_is_a_mismatch() -> None:
    verdict = scheme.verify(msg(V1_INVALID), [V1_SECRET], now=TS)
    assert verdict.reason == "signature mismatch"
    assert verdict.computed == V1_EXPECTED.removeprefix("v1,")
    assert verdict.received == V1_INVALID.removeprefix("v1,")


def test_v1_official_multi_signature_header_is_valid() -> None:
    header = " ".join([f"v1,{JUNK}", f"v2,{JUNK}", V1_EXPECTED, f"v1,{JUNK}"])
    assert scheme.verify(msg(header), [V1_SECRET], now=TS).status == "valid"


def test_v1a_sign_matches_the_official_vector() -> None:
    headers = scheme.sign(PAYLOAD, WHSK, msg_id=MSG_ID, timestamp=TS)
    assert headers[2] == ("webhook-signature", V1A_EXPECTED)


@pytest.mark.parametrize("key", [WHPK, WHSK], ids=["public-key", "secret-key"])
def test_v1a_official_vector_verifies(key: str) -> None:
    verdict = scheme.verify(msg(V1A_EXPECTED), [key], now=TS)
    assert (verdict.status, verdict.reason, verdict.secret_index) == (
        "valid",
        "v1a signature matches",
        0,
    )
    assert verdict.computed is None  # an ed25519 check computes nothing to show
    assert verdict.received == V1A_EXPECTED.removeprefix("v1a,")


@pytest.mark.parametrize(
    "header",
    [f"v1a,{JUNK}", "v1a,"],
    ids=["wrong-signature", "partial-signature"],  # the Go suite's two invalid v1a cases
)
def test_v1a_official_invalid_signatures_are_mismatches(header: str) -> None:
    assert scheme.verify(msg(header), [WHPK], now=TS).reason == "signature mismatch"


def test_v1a_official_multi_signature_header_is_valid() -> None:
    header = " ".join([f"v1,{JUNK}", f"v2,{JUNK}", V1A_EXPECTED, f"v1,{JUNK}"])
    assert scheme.verify(msg(header), [WHPK], now=TS).status == "valid"


def test_spec_example_header_lists_both_versions() -> None:
    # spec/standard-webhooks.md, "Webhook headers": one v1 and one v1a entry.
    v1, v1a = parse_signatures(
        "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= "
        "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
    )
    assert v1 == ["K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="]
    assert len(v1a) == 1 and v1a[0].startswith("hnO3f9T8")


# -- mixed keys and rotation ---------------------------------------------------------------


def test_mixed_keys_report_the_index_of_the_key_that_matched() -> None:
    other_secret = "whsec_" + base64.b64encode(b"another secret of 24 bytes").decode()
    assert scheme.verify(msg(V1A_EXPECTED), [other_secret, WHPK], now=TS).secret_index == 1
    assert scheme.verify(msg(V1_EXPECTED), [WHPK, V1_SECRET], now=TS).secret_index == 1


def test_v1_rotation_second_secret_matches() -> None:
    old = "whsec_" + base64.b64encode(b"the previous secret, rotated").decode()
    verdict = scheme.verify(msg(V1_EXPECTED), [old, V1_SECRET], now=TS)
    assert (verdict.status, verdict.secret_index) == ("valid", 1)


def test_sender_signing_with_two_keys_during_rotation() -> None:
    new_seed = base64.b64encode(b"N" * 32).decode()
    new_sig = scheme.sign(PAYLOAD, "whsk_" + new_seed, msg_id=MSG_ID, timestamp=TS)[2][1]
    header = f"{V1A_EXPECTED} {new_sig}"
    assert scheme.verify(msg(header), [public_of(new_seed)], now=TS).status == "valid"


def test_only_public_keys_and_only_v1_entries() -> None:
    verdict = scheme.verify(msg(V1_EXPECTED), [WHPK], now=TS)
    assert verdict.reason == "no v1a signature in webhook-signature"


def test_only_hmac_secrets_and_only_v1a_entries() -> None:
    verdict = scheme.verify(msg(V1A_EXPECTED), [V1_SECRET], now=TS)
    assert verdict.reason == "no v1 signature in webhook-signature"


def test_mixed_keys_and_no_known_entry() -> None:
    verdict = scheme.verify(msg(f"v2,{JUNK}"), [V1_SECRET, WHPK], now=TS)
    assert verdict.reason == "no v1 or v1a signature in webhook-signature"


def test_too_many_v1a_entries_are_refused_before_any_verification() -> None:
    header = " ".join([f"v1a,{JUNK}"] * 17)
    assert scheme.verify(msg(header), [WHPK], now=TS).reason.startswith("too many v1a signatures")


# -- rejections with precise reasons -------------------------------------------------------


@pytest.mark.parametrize("key", [V1_SECRET, WHSK], ids=["v1", "v1a"])
class TestRejections:
    def signed(self, key: str, *, body: bytes = PAYLOAD, ts: int = TS) -> str:
        return scheme.sign(body, key, msg_id=MSG_ID, timestamp=ts)[2][1]

    def test_tampered_body(self, key: str) -> None:
        verdict = scheme.verify(msg(self.signed(key), body=PAYLOAD + b" "), [key], now=TS)
        assert verdict.reason == "signature mismatch"

    def test_signature_for_another_id(self, key: str) -> None:
        verdict = scheme.verify(msg(self.signed(key), msg_id="msg_other"), [key], now=TS)
        assert verdict.reason == "signature mismatch"

    def test_wrong_key(self, key: str) -> None:
        wrong = (
            "whsk_" + base64.b64encode(b"W" * 32).decode()
            if key == WHSK
            else ("whsec_" + base64.b64encode(b"wrong secret wrong secret").decode())
        )
        assert scheme.verify(msg(self.signed(key)), [wrong], now=TS).reason == "signature mismatch"

    def test_stale_timestamp(self, key: str) -> None:
        verdict = scheme.verify(msg(self.signed(key)), [key], now=TS + 301, tolerance=300)
        assert verdict.reason == "timestamp too old: 301s before now, tolerance 300s"
        assert verdict.secret_index == 0

    def test_future_timestamp(self, key: str) -> None:
        verdict = scheme.verify(msg(self.signed(key)), [key], now=TS - 301, tolerance=300)
        assert verdict.reason == "timestamp in the future: 301s after now, tolerance 300s"

    def test_no_tolerance_skips_the_window(self, key: str) -> None:
        assert scheme.verify(msg(self.signed(key)), [key], now=0, tolerance=None).ok


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers(missing: str) -> None:
    full = msg(V1_EXPECTED)
    headers = [(n.decode(), v.decode()) for n, v in full.headers if n.decode() != missing]
    verdict = scheme.verify(SignedMessage.from_text_headers(headers, PAYLOAD), [V1_SECRET], now=TS)
    assert verdict.reason == f"missing header {missing}"


def test_malformed_timestamp() -> None:
    # "hello" is the official suite's test_invalid_timestamp_raises_error value.
    message = SignedMessage.from_text_headers(
        [
            ("webhook-id", MSG_ID),
            ("webhook-timestamp", "hello"),
            ("webhook-signature", V1_EXPECTED),
        ],
        PAYLOAD,
    )
    assert (
        scheme.verify(message, [V1_SECRET], now=TS).reason == "malformed webhook-timestamp 'hello'"
    )


def test_svix_prefixed_headers() -> None:
    assert scheme.verify(msg(V1A_EXPECTED, prefix="svix-"), [WHPK], now=TS).status == "valid"
    assert scheme.event_id(msg(V1A_EXPECTED, prefix="svix-")) == MSG_ID


# -- keys: formats and operator errors ------------------------------------------------------


def test_whsk_in_the_64_byte_seed_and_public_key_form() -> None:
    seed = base64.b64decode(V1A_SEED)
    full = "whsk_" + base64.b64encode(seed + base64.b64decode(WHPK[5:])).decode()
    assert scheme.sign(PAYLOAD, full, msg_id=MSG_ID, timestamp=TS)[2][1] == V1A_EXPECTED


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("whpk_not*base64", "public key (whpk_…) must be base64"),
        ("whpk_" + base64.b64encode(b"x" * 31).decode(), "public key must be 32 bytes, got 31"),
        (
            "whsk_" + base64.b64encode(b"x" * 40).decode(),
            "secret key must be 32 or 64 bytes, got 40",
        ),
        ("whsk_" + base64.b64encode(b"x" * 64).decode(), "public half does not match its seed"),
        ("whsec_!!", "secret must be base64"),
    ],
)
def test_unusable_keys_are_scheme_errors(key: str, message: str) -> None:
    with pytest.raises(SchemeError, match=re.escape(message)):
        scheme.check_secret(key)


def test_a_public_key_cannot_sign_but_passes_the_config_check() -> None:
    scheme.check_secret(WHPK)
    with pytest.raises(SchemeError, match="whpk_ keys are public"):
        scheme.sign(PAYLOAD, WHPK)


def test_config_accepts_a_source_mixing_whsec_and_whpk() -> None:
    settings = settings_from_mapping(
        {"sources": {"mixed": {"scheme": "standard-webhooks", "secrets": [V1_SECRET, WHPK]}}}
    )
    source = settings.sources["mixed"]
    assert source.scheme.verify(msg(V1A_EXPECTED), source.secrets, now=TS).secret_index == 1


def test_config_rejects_a_bad_public_key_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"sources\.bad: standard-webhooks public key"):
        settings_from_mapping(
            {"sources": {"bad": {"scheme": "standard-webhooks", "secrets": ["whpk_AAAA"]}}}
        )
