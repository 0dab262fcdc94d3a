"""``stripe``: ``Stripe-Signature: t=TIMESTAMP,v1=HEX[,v1=HEX…][,v0=HEX]``.

Each ``v1`` is hex HMAC-SHA256 of ``{t}.{body}`` keyed with the whole endpoint secret
string (``whsec_…`` included, unlike Standard Webhooks). Several ``v1`` entries appear
while Stripe rolls a secret; ``v0`` is a test-mode scheme that is never trusted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SchemeHeaders,
    SignedMessage,
    invalid,
    json_field,
    parse_unix_timestamp,
)
from hookyard.signatures.generic_hmac import (
    clip,
    hmac_digest,
    judge_secrets,
    normalise_signature,
    plain_secret_key,
)

HEADER = "Stripe-Signature"
_SIZE = 32  # SHA-256
#: A real header carries one t and a few v1 (two during a roll); more is not Stripe.
_MAX_ELEMENTS = 32


@dataclass(frozen=True, slots=True)
class _Parsed:
    timestamp: str
    signatures: tuple[str, ...]


def parse_header(raw: str) -> _Parsed | str:
    """The timestamp and v1 signatures, or the reason the header cannot be used."""
    elements = raw.split(",")
    if len(elements) > _MAX_ELEMENTS:
        return f"malformed {HEADER}: {len(elements)} elements, at most {_MAX_ELEMENTS}"
    timestamps: list[str] = []
    signatures: list[str] = []
    for element in elements:
        key, sep, value = element.strip().partition("=")
        if not sep:
            return f"malformed {HEADER}: element {clip(element.strip())} is not key=value"
        if key == "t":
            timestamps.append(value.strip())
        elif key == "v1":
            signatures.append(value.strip())
    if len(timestamps) != 1:
        problem = "no t= timestamp" if not timestamps else "more than one t= timestamp"
        return f"malformed {HEADER}: {problem}"
    return _Parsed(timestamps[0], tuple(signatures))


def signed_payload(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode("ascii", "replace") + b"." + body


class Stripe(Scheme):
    name = "stripe"
    scheme_headers = SchemeHeaders(signature=(HEADER,))
    timestamped = True

    def _signer(self, secret: str, content: bytes) -> str:
        return hmac_digest(plain_secret_key(secret, self.name), content).hex()

    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        raw = message.header(HEADER)
        if raw is None:
            return invalid(f"missing header {HEADER}")
        parsed = parse_header(raw)
        if isinstance(parsed, str):
            return invalid(parsed, received=raw[:200])
        timestamp = parse_unix_timestamp(parsed.timestamp)
        if timestamp is None:
            return invalid(f"malformed {HEADER} timestamp {clip(parsed.timestamp)}")
        if not parsed.signatures:
            return invalid(f"no v1 signature in {HEADER}", received=raw[:200], timestamp=timestamp)
        # A malformed v1 can never match; keep the well-formed ones as candidates.
        received = [
            sig
            for sig in (normalise_signature(s, "hex", _SIZE) for s in parsed.signatures)
            if sig is not None
        ]
        if not received:
            return invalid(
                f"malformed {HEADER}: v1 must be 64 hex characters",
                received=" ".join(parsed.signatures)[:200],
                timestamp=timestamp,
            )
        return judge_secrets(
            signed_payload(parsed.timestamp, message.body),
            received,
            secrets,
            self._signer,
            label="v1 signature",
            timestamp=timestamp,
            now=now,
            tolerance=tolerance,
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
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._signer(secret, signed_payload(ts, body))
        return [(HEADER, f"t={ts},v1={signature}")]

    def event_id(self, message: SignedMessage) -> str | None:
        value = json_field(message.body, "id")
        return value if isinstance(value, str) else None
