"""``standard-webhooks``: the Standard Webhooks spec (also what Svix sends).

Signed content is ``{id}.{timestamp}.{body}``. ``webhook-signature`` holds a
space-separated list of ``version,signature`` entries:

- ``v1``: base64 HMAC-SHA256, keyed with a ``whsec_``-prefixed base64 secret;
- ``v1a``: base64 ed25519 signature, checked with a ``whpk_`` base64 public key and made
  with a ``whsk_`` base64 secret key (a 32-byte seed, or seed + public key, 64 bytes).

A source's keys may mix both kinds (a sender moving from v1 to v1a); each key checks
only the entries of its own version. Headers may also come with the ``svix-`` prefix.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookyard.clock import now_us
from hookyard.exceptions import SchemeError
from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SchemeHeaders,
    SignedMessage,
    constant_time_equal,
    describe_signed,
    invalid,
    parse_unix_timestamp,
    window_problem,
)

_PREFIXES = ("webhook-", "svix-")
WHSEC = "whsec_"
WHPK = "whpk_"
WHSK = "whsk_"
#: Each v1a entry costs an ed25519 verification; a sender rotating keys sends two or three.
MAX_V1A_SIGNATURES = 16

#: What a configured key checks: raw HMAC key bytes (v1) or an ed25519 public key (v1a).
VerifierKey = bytes | Ed25519PublicKey


def hmac_key(secret: str) -> bytes:
    """Decode a ``whsec_`` secret (the prefix is optional) to its raw key bytes."""
    raw = secret.removeprefix(WHSEC)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SchemeError(
            "standard-webhooks secret must be base64, optionally prefixed whsec_"
        ) from exc
    if not key:
        raise SchemeError("standard-webhooks secret is empty")
    return key


def _key_bytes(secret: str, prefix: str, what: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(prefix), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SchemeError(f"standard-webhooks {what} ({prefix}…) must be base64") from exc


def public_key(secret: str) -> Ed25519PublicKey:
    """Decode a ``whpk_`` key: base64 of the 32-byte ed25519 public key."""
    raw = _key_bytes(secret, WHPK, "public key")
    if len(raw) != 32:
        raise SchemeError(f"standard-webhooks public key must be 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def signing_key(secret: str) -> Ed25519PrivateKey:
    """Decode a ``whsk_`` key: a 32-byte seed, or the 64-byte seed + public key form."""
    raw = _key_bytes(secret, WHSK, "secret key")
    if len(raw) not in (32, 64):
        raise SchemeError(f"standard-webhooks secret key must be 32 or 64 bytes, got {len(raw)}")
    key = Ed25519PrivateKey.from_private_bytes(raw[:32])
    if len(raw) == 64 and raw[32:] != raw_public(key.public_key()):
        raise SchemeError("standard-webhooks secret key: its public half does not match its seed")
    return key


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@functools.lru_cache(maxsize=256)
def verifier_key(secret: str) -> VerifierKey:
    """The key a configured secret verifies with; cached since decoding costs more than HMAC."""
    if secret.startswith(WHPK):
        return public_key(secret)
    if secret.startswith(WHSK):
        return signing_key(secret).public_key()
    return hmac_key(secret)


def signed_content(msg_id: str, timestamp: str, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def parse_signatures(raw: str) -> tuple[list[str], list[str]]:
    """The v1 and v1a signatures of a ``webhook-signature`` value; other versions ignored."""
    v1: list[str] = []
    v1a: list[str] = []
    for part in raw.split(" "):
        version, _, signature = part.partition(",")
        if version == "v1":
            v1.append(signature)
        elif version == "v1a":
            v1a.append(signature)
    return v1, v1a


def _decode_ed25519(signature: str) -> bytes | None:
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 64 else None


def _ed25519_matches(key: Ed25519PublicKey, signatures: Sequence[bytes], content: bytes) -> bool:
    for signature in signatures:
        try:
            key.verify(signature, content)
        except InvalidSignature:
            continue
        return True
    return False


def _missing_versions(wants_v1: bool, wants_v1a: bool, v1: list[str], v1a: list[str]) -> str | None:
    """Why no entry can match the configured keys, or None when some may."""
    if (wants_v1 and v1) or (wants_v1a and v1a):
        return None
    wanted = " or ".join(v for v, wanted in (("v1", wants_v1), ("v1a", wants_v1a)) if wanted)
    return f"no {wanted} signature in webhook-signature"


@dataclass(frozen=True, slots=True)
class _Candidates:
    v1: list[str]
    v1a: list[bytes]  # decoded; entries that are not 64 bytes of base64 can never match
    shown: str


def _candidates(raw: str, keys: Sequence[VerifierKey]) -> _Candidates | Verdict:
    """The entries the configured keys can check, or the verdict on why there are none."""
    wants_v1a = any(not isinstance(key, bytes) for key in keys)
    wants_v1 = not wants_v1a or any(isinstance(key, bytes) for key in keys)
    v1, v1a = parse_signatures(raw)
    problem = _missing_versions(wants_v1, wants_v1a, v1, v1a)
    if problem:
        return invalid(problem, received=raw[:200])
    if wants_v1a and len(v1a) > MAX_V1A_SIGNATURES:
        return invalid(
            f"too many v1a signatures in webhook-signature: {len(v1a)}, "
            f"at most {MAX_V1A_SIGNATURES}",
            received=raw[:200],
        )
    decoded = [s for s in map(_decode_ed25519, v1a) if s is not None] if wants_v1a else []
    shown = " ".join((v1 if wants_v1 else []) + (v1a if wants_v1a else []))
    return _Candidates(v1, decoded, shown)


def v1_signature(key: bytes, content: bytes) -> str:
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def _check(key: VerifierKey, content: bytes, candidates: _Candidates) -> tuple[bool, str | None]:
    """Whether ``key`` accepts an entry, and the signature it computed (v1 only)."""
    if isinstance(key, bytes):
        computed = v1_signature(key, content)
        return any(constant_time_equal(computed, c) for c in candidates.v1), computed
    return _ed25519_matches(key, candidates.v1a, content), None


class StandardWebhooks(Scheme):
    name = "standard-webhooks"
    scheme_headers = SchemeHeaders(
        signature=("webhook-signature", "svix-signature"),
        signed=("webhook-id", "webhook-timestamp", "svix-id", "svix-timestamp"),
    )
    timestamped = True

    def _headers(self, message: SignedMessage) -> tuple[str | None, str | None, str | None]:
        for prefix in _PREFIXES:
            msg_id = message.header(prefix + "id")
            if msg_id is not None:
                return (
                    msg_id,
                    message.header(prefix + "timestamp"),
                    message.header(prefix + "signature"),
                )
        return None, None, None

    def check_secret(self, secret: str) -> None:
        # A whpk_ key is verify-only, so probing it by signing would reject a valid key.
        verifier_key(secret)

    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        msg_id, raw_ts, raw_sig = self._headers(message)
        if msg_id is None or raw_ts is None or raw_sig is None:
            missing = (
                "webhook-id"
                if msg_id is None
                else ("webhook-timestamp" if raw_ts is None else "webhook-signature")
            )
            return invalid(f"missing header {missing}")
        timestamp = parse_unix_timestamp(raw_ts)
        if timestamp is None:
            return invalid(f"malformed webhook-timestamp {raw_ts[:40]!r}")
        keys = [verifier_key(secret) for secret in secrets]
        candidates = _candidates(raw_sig, keys)
        if isinstance(candidates, Verdict):
            return candidates
        # Header text is latin-1 decoded: encoding it back gives the bytes the sender signed.
        content = b"%s.%s.%s" % (msg_id.encode("latin-1"), raw_ts.strip().encode(), message.body)
        details: dict[str, Any] = {
            "received": candidates.shown,
            "signed_content": describe_signed(content),
            "timestamp": timestamp,
        }
        first_computed: str | None = None
        for index, key in enumerate(keys):
            matched, computed = _check(key, content, candidates)
            first_computed = first_computed or computed
            if not matched:
                continue
            window = window_problem(timestamp, now, tolerance)
            if window:
                return invalid(window, secret_index=index, computed=computed, **details)
            label = "v1" if isinstance(key, bytes) else "v1a"
            return Verdict(
                status="valid",
                reason=f"{label} signature matches",
                secret_index=index,
                computed=computed,
                **details,
            )
        return invalid(
            "signature mismatch" if secrets else "no secret configured",
            computed=first_computed,
            **details,
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
        msg_id = msg_id or f"msg_{now_us()}"
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return [
            ("webhook-id", msg_id),
            ("webhook-timestamp", ts),
            ("webhook-signature", sign_entry(secret, signed_content(msg_id, ts, body))),
        ]

    def event_id(self, message: SignedMessage) -> str | None:
        return self._headers(message)[0]


def sign_entry(secret: str, content: bytes) -> str:
    """One ``version,signature`` entry: v1a for a ``whsk_`` key, v1 for a ``whsec_`` secret."""
    if secret.startswith(WHPK):
        raise SchemeError(
            "standard-webhooks whpk_ keys are public: they verify but cannot sign; "
            "sign with the matching whsk_ secret key"
        )
    if secret.startswith(WHSK):
        signature = signing_key(secret).sign(content)
        return "v1a," + base64.b64encode(signature).decode()
    return "v1," + v1_signature(hmac_key(secret), content)
