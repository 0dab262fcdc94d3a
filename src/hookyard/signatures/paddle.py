"""``paddle``: Paddle Billing notifications.

``Paddle-Signature: ts=1671552777;h1=<hex>`` where each ``h1`` is the hex
HMAC-SHA256, keyed with the notification destination's secret key (the whole
``pdl_ntf_…`` string), of ``{ts}:{raw body}``. Paddle may send several ``h1`` values
while it rotates a secret; any one may match. Unknown keys are ignored so that a
future signature version does not break verification of ``h1``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SchemeHeaders,
    SignedMessage,
    invalid,
    json_field,
    parse_unix_timestamp,
    require_secret,
)
from hookyard.signatures.generic_hmac import judge_secrets

HEADER = "Paddle-Signature"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class ParsedHeader:
    """``Paddle-Signature`` split into its parts; ``problem`` says why it is unusable."""

    ts: str | None = None
    h1: tuple[str, ...] = field(default_factory=tuple)
    problem: str | None = None


def parse_header(raw: str) -> ParsedHeader:
    """Split ``ts=…;h1=…[;h1=…]``; never raises."""
    stamps: list[str] = []
    h1: list[str] = []
    for part in raw.split(";"):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            continue
        if key == "ts":
            stamps.append(value)
        elif key == "h1":
            h1.append(value)
    if not stamps:
        return ParsedHeader(problem=f"malformed {HEADER}: no ts=")
    if len(set(stamps)) > 1:
        # Two different timestamps: we could not tell which one the signature covers.
        return ParsedHeader(problem=f"malformed {HEADER}: more than one ts=")
    if not h1:
        return ParsedHeader(ts=stamps[0], problem=f"no h1 signature in {HEADER}")
    return ParsedHeader(ts=stamps[0], h1=tuple(h1))


def signed_content(ts: str, body: bytes) -> bytes:
    return f"{ts}:".encode() + body


def sign_content(secret: str, content: bytes) -> str:
    key = secret.encode("utf-8", "surrogatepass")
    return hmac.new(key, content, hashlib.sha256).hexdigest()


def compute_signature(secret: str, ts: str, body: bytes) -> str:
    return sign_content(secret, signed_content(ts, body))


class Paddle(Scheme):
    name = "paddle"
    scheme_headers = SchemeHeaders(signature=(HEADER,))
    timestamped = True

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
        if parsed.problem or parsed.ts is None:
            return invalid(parsed.problem or f"malformed {HEADER}", received=raw[:200])
        timestamp = parse_unix_timestamp(parsed.ts)
        if timestamp is None:
            return invalid(f"malformed {HEADER} timestamp {parsed.ts[:40]!r}", received=raw[:200])
        received = [value.lower() for value in parsed.h1 if _HEX64.fullmatch(value)]
        shown = ",".join(parsed.h1)[:200]
        if not received:
            return invalid(f"malformed {HEADER}: h1 is not a hex SHA-256 HMAC", received=shown)
        return judge_secrets(
            signed_content(parsed.ts, message.body),
            received,
            secrets,
            sign_content,
            label="h1 signature",
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
        require_secret(secret, self.name)
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return [(HEADER, f"ts={ts};h1={compute_signature(secret, ts, body)}")]

    def event_id(self, message: SignedMessage) -> str | None:
        value = json_field(message.body, "event_id")
        return value if isinstance(value, str) else None

    def event_type(self, message: SignedMessage) -> str | None:
        value = json_field(message.body, "event_type")
        return value if isinstance(value, str) else None
