"""``standard-webhooks``: the Standard Webhooks spec (also what Svix sends).

Signed content is ``{id}.{timestamp}.{body}``. ``webhook-signature`` holds a
space-separated list of ``version,signature`` entries; v1 is base64 HMAC-SHA256 with
a ``whsec_``-prefixed base64 secret. Headers may also come with the ``svix-`` prefix.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Sequence

from hookyard.exceptions import SchemeError
from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SignedMessage,
    constant_time_equal,
    describe_signed,
    invalid,
    parse_unix_timestamp,
    window_problem,
)

_PREFIXES = ("webhook-", "svix-")


def hmac_key(secret: str) -> bytes:
    """Decode a ``whsec_`` secret (the prefix is optional) to its raw key bytes."""
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SchemeError("standard-webhooks secret must be base64, optionally prefixed whsec_") from exc
    if not key:
        raise SchemeError("standard-webhooks secret is empty")
    return key


def signed_content(msg_id: str, timestamp: str, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


class StandardWebhooks(Scheme):
    name = "standard-webhooks"
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
            missing = "webhook-id" if msg_id is None else (
                "webhook-timestamp" if raw_ts is None else "webhook-signature"
            )
            return invalid(f"missing header {missing}")
        timestamp = parse_unix_timestamp(raw_ts)
        if timestamp is None:
            return invalid(f"malformed webhook-timestamp {raw_ts[:40]!r}")
        received = [
            part.partition(",")[2] for part in raw_sig.split(" ") if part.startswith("v1,")
        ]
        if not received:
            return invalid("no v1 signature in webhook-signature", received=raw_sig[:200])
        content = signed_content(msg_id, raw_ts.strip(), message.body)
        computed = ""
        for index, secret in enumerate(secrets):
            digest = hmac.new(hmac_key(secret), content, hashlib.sha256).digest()
            computed = base64.b64encode(digest).decode()
            if any(constant_time_equal(computed, candidate) for candidate in received):
                problem = window_problem(timestamp, now, tolerance)
                if problem:
                    return invalid(problem, secret_index=index, timestamp=timestamp)
                return Verdict(
                    status="valid",
                    reason="v1 signature matches",
                    secret_index=index,
                    computed=computed,
                    received=" ".join(received),
                    signed_content=describe_signed(content),
                    timestamp=timestamp,
                )
        return invalid(
            "signature mismatch" if secrets else "no secret configured",
            computed=computed or None,
            received=" ".join(received),
            signed_content=describe_signed(content),
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
        msg_id = msg_id or f"msg_{int(time.time() * 1e6)}"
        ts = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(hmac_key(secret), signed_content(msg_id, ts, body), hashlib.sha256)
        return [
            ("webhook-id", msg_id),
            ("webhook-timestamp", ts),
            ("webhook-signature", "v1," + base64.b64encode(digest.digest()).decode()),
        ]

    def event_id(self, message: SignedMessage) -> str | None:
        return self._headers(message)[0]
