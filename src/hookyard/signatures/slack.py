"""``slack``: ``X-Slack-Signature: v0=HEX`` over ``v0:{X-Slack-Request-Timestamp}:{body}``.

The key is the app's signing secret as-is. The timestamp is signed, so requests outside
the window are rejected as replays. Event API bodies are JSON (``event.type``,
``event_id``); interactive payloads arrive form-encoded as ``payload=<json>``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SchemeHeaders,
    SignedMessage,
    invalid,
    parse_unix_timestamp,
)
from hookyard.signatures.generic_hmac import (
    clip,
    hmac_digest,
    judge_secrets,
    normalise_signature,
    plain_secret_key,
)
from hookyard.signatures.github import payload

HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
_VERSION = "v0"


def base_string(timestamp: str, body: bytes) -> bytes:
    return f"{_VERSION}:{timestamp}:".encode("ascii", "replace") + body


class Slack(Scheme):
    name = "slack"
    scheme_headers = SchemeHeaders(signature=(HEADER,), signed=(TIMESTAMP_HEADER,))
    timestamped = True

    def _signer(self, secret: str, content: bytes) -> str:
        return f"{_VERSION}=" + hmac_digest(plain_secret_key(secret, self.name), content).hex()

    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        raw = message.header(HEADER)
        raw_ts = message.header(TIMESTAMP_HEADER)
        if raw is None or raw_ts is None:
            return invalid(f"missing header {HEADER if raw is None else TIMESTAMP_HEADER}")
        timestamp = parse_unix_timestamp(raw_ts)
        if timestamp is None:
            return invalid(f"malformed {TIMESTAMP_HEADER} {clip(raw_ts)}")
        version, sep, signature = raw.strip().partition("=")
        if not sep or version != _VERSION:
            return invalid(f"no v0 signature in {HEADER}", received=raw[:200], timestamp=timestamp)
        digest = normalise_signature(signature, "hex", 32)
        if digest is None:
            return invalid(
                f"malformed {HEADER}: expected v0= and 64 hex characters",
                received=raw[:200],
                timestamp=timestamp,
            )
        return judge_secrets(
            base_string(raw_ts.strip(), message.body),
            (f"{_VERSION}={digest}",),
            secrets,
            self._signer,
            label="v0 signature",
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
        return [
            (TIMESTAMP_HEADER, ts),
            (HEADER, self._signer(secret, base_string(ts, body))),
        ]

    def event_id(self, message: SignedMessage) -> str | None:
        data = payload(message.body)
        value = data.get("event_id") if isinstance(data, dict) else None
        return value if isinstance(value, str) and value else None

    def event_type(self, message: SignedMessage) -> str | None:
        data = payload(message.body)
        if not isinstance(data, dict):
            return None
        event = data.get("event")
        inner = event.get("type") if isinstance(event, dict) else None
        outer = data.get("type")
        if isinstance(inner, str) and inner:
            return inner
        return outer if isinstance(outer, str) and outer else None

    def handshake(self, message: SignedMessage) -> str | None:
        """Slack's Events API checks a new request URL with ``url_verification``."""
        data = payload(message.body)
        if not isinstance(data, dict) or data.get("type") != "url_verification":
            return None
        challenge = data.get("challenge")
        return challenge if isinstance(challenge, str) else None
