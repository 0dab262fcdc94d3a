"""``sendgrid``: SendGrid (Twilio SendGrid) signed Event Webhook.

SendGrid signs ``timestamp + payload`` with ECDSA P-256 / SHA-256 and sends the
base64 DER signature in ``X-Twilio-Email-Event-Webhook-Signature`` and the Unix
timestamp in ``X-Twilio-Email-Event-Webhook-Timestamp``.

A source's secrets are *public* keys: the base64 DER (SubjectPublicKeyInfo) string
SendGrid shows under "Signed Event Webhook", or the same key in PEM. Several may be
configured while a key is rotated. ``sign`` needs the private key (PEM, or base64 DER
PKCS#8) and exists for tests and fixtures; given a public key it only checks that the
key is usable and returns no headers, because config loading probes every configured
secret through ``sign`` and a public key must pass that probe.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from hookyard.exceptions import SchemeError
from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SchemeHeaders,
    SignedMessage,
    describe_signed,
    invalid,
    json_body,
    parse_unix_timestamp,
    require_secret,
    window_problem,
)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_ALGORITHM = ec.ECDSA(hashes.SHA256())

Key = ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey


@lru_cache(maxsize=64)
def load_key(secret: str) -> Key:
    """Parse a P-256 key, public or private, PEM or base64 DER; SchemeError when unusable.

    Cached because parsing a key costs far more than checking one signature.
    """
    text = secret.strip()
    try:
        key = _parse_pem(text.encode()) if text.startswith("-----BEGIN") else _parse_der(text)
    except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error):
        raise SchemeError(
            "sendgrid key must be the base64 public key SendGrid shows (or PEM); "
            "signing needs a PEM or base64 PKCS#8 private key"
        ) from None
    if not isinstance(key, Key) or not isinstance(key.curve, ec.SECP256R1):
        raise SchemeError("sendgrid key must be an ECDSA P-256 (secp256r1) key")
    return key


def _parse_pem(data: bytes) -> Any:
    if b"PRIVATE KEY-----" in data:
        return serialization.load_pem_private_key(data, password=None)
    return serialization.load_pem_public_key(data)


def _parse_der(text: str) -> Any:
    der = base64.b64decode("".join(text.split()), validate=True)
    try:
        return serialization.load_der_public_key(der)
    except ValueError:
        return serialization.load_der_private_key(der, password=None)


def public_key_text(key: Key) -> str:
    """A key in the form SendGrid shows it: base64 DER SubjectPublicKeyInfo."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def new_key_pair() -> tuple[str, str]:
    """A fresh (private PEM, public base64 DER) pair, for tests and local fixtures."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii"), public_key_text(private)


def signed_content(raw_timestamp: str, body: bytes) -> bytes:
    # Headers are read as latin-1, so this gives back the timestamp's bytes exactly.
    return raw_timestamp.encode("latin-1", "replace") + body


def _decode_signature(raw: str) -> bytes | None:
    """DER bytes of a base64 ECDSA signature, or None when it is not one."""
    try:
        der = base64.b64decode(raw, validate=True)
        decode_dss_signature(der)
    except (binascii.Error, ValueError):
        return None
    return der


def _verifies(key: Key, signature: bytes, content: bytes) -> bool:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    try:
        public.verify(signature, content, _ALGORITHM)
    except InvalidSignature:
        return False
    return True


class SendGrid(Scheme):
    name = "sendgrid"
    scheme_headers = SchemeHeaders(signature=(SIGNATURE_HEADER,), signed=(TIMESTAMP_HEADER,))
    timestamped = True

    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        raw_sig = message.header(SIGNATURE_HEADER)
        raw_ts = message.header(TIMESTAMP_HEADER)
        if raw_sig is None:
            return invalid(f"missing header {SIGNATURE_HEADER}")
        if raw_ts is None:
            return invalid(f"missing header {TIMESTAMP_HEADER}")
        timestamp = parse_unix_timestamp(raw_ts)
        if timestamp is None:
            return invalid(f"malformed {TIMESTAMP_HEADER} {raw_ts[:40]!r}")
        received = raw_sig.strip()
        signature = _decode_signature(received)
        if signature is None:
            return invalid(
                f"malformed {SIGNATURE_HEADER}: expected a base64 DER ECDSA signature",
                received=received[:200],
                timestamp=timestamp,
            )
        content = signed_content(raw_ts, message.body)
        described = describe_signed(content)
        for index, secret in enumerate(secrets):
            if _verifies(load_key(secret), signature, content):
                # ECDSA signatures are randomised: there is no "computed" value to show.
                verdict = Verdict(
                    status="valid",
                    reason="ECDSA signature verifies",
                    secret_index=index,
                    received=received,
                    signed_content=described,
                    timestamp=timestamp,
                )
                problem = window_problem(timestamp, now, tolerance)
                return replace(verdict, status="invalid", reason=problem) if problem else verdict
        return invalid(
            "signature does not verify with any configured public key"
            if secrets
            else "no public key configured",
            received=received,
            signed_content=described,
            timestamp=timestamp,
        )

    def sign(
        self,
        body: bytes,
        secret: str,
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
        url: str | None = None,
    ) -> list[tuple[str, str]]:
        require_secret(secret, self.name)
        key = load_key(secret)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            return []  # a usable public key: it verifies, it cannot sign
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = key.sign(signed_content(ts, body), _ALGORITHM)
        return [
            (SIGNATURE_HEADER, base64.b64encode(signature).decode("ascii")),
            (TIMESTAMP_HEADER, ts),
        ]

    def event_id(self, message: SignedMessage) -> str | None:
        value = _first_event(message.body).get("sg_event_id")
        return value if isinstance(value, str) else None

    def event_type(self, message: SignedMessage) -> str | None:
        value = _first_event(message.body).get("event")
        return value if isinstance(value, str) else None


def _first_event(body: bytes) -> dict[str, Any]:
    """SendGrid posts a JSON array of events; the batch is named after its first one."""
    parsed = json_body(body)
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    return parsed if isinstance(parsed, dict) else {}
