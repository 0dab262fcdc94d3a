"""``twitch``: Twitch EventSub over the webhook transport.

``Twitch-Eventsub-Message-Signature: sha256=<hex>`` is the HMAC-SHA256, keyed with
the subscription's secret, of the message id, the timestamp header exactly as sent
and the raw body, concatenated. The timestamp is RFC 3339 with nanoseconds
(``2023-01-01T12:00:00.123456789Z``). It is parsed here rather than with
``datetime.fromisoformat``, which also takes forms that are not RFC 3339 (basic
``20230101T120000``, times without an offset) that Twitch never sends.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hookyard.exceptions import SchemeError
from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SchemeHeaders,
    SignedMessage,
    invalid,
    json_field,
    require_secret,
)
from hookyard.signatures.generic_hmac import judge_secrets

ID_HEADER = "Twitch-Eventsub-Message-Id"
TIMESTAMP_HEADER = "Twitch-Eventsub-Message-Timestamp"
SIGNATURE_HEADER = "Twitch-Eventsub-Message-Signature"
TYPE_HEADER = "Twitch-Eventsub-Message-Type"
SUBSCRIPTION_TYPE_HEADER = "Twitch-Eventsub-Subscription-Type"

NOTIFICATION = "notification"
VERIFICATION = "webhook_callback_verification"
_PREFIX = "sha256="
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# [0-9], not \d: \d also matches non-ASCII digits, which int() would then accept.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def parse_rfc3339(raw: str) -> int | None:
    """Whole Unix seconds of an RFC 3339 time (fraction dropped); None when malformed."""
    match = _RFC3339.fullmatch(raw.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    zone = match.group(7)
    offset = 0
    if zone not in ("Z", "z"):
        offset = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
        if offset >= 86400 or int(zone[4:6]) > 59:
            return None
        offset = -offset if zone[0] == "-" else offset
    # RFC 3339 allows a leap second; it is one second either way for a window check.
    second = min(second, 59)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp()) - offset


def format_rfc3339(timestamp: int) -> str:
    """Twitch's own shape: UTC with nine fractional digits."""
    try:
        moment = _EPOCH + timedelta(seconds=timestamp)
    except OverflowError:
        raise SchemeError(f"timestamp {timestamp} is out of range") from None
    # Not strftime: its %Y does not pad years before 1000 on every platform.
    date = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return f"{date}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.000000000Z"


def signed_content(msg_id: bytes, raw_timestamp: bytes, body: bytes) -> bytes:
    """Header values as bytes: ``verify`` passes the bytes that arrived, ``sign`` the
    UTF-8 that an HTTP client sends for the text it is given."""
    return msg_id + raw_timestamp + body


def sign_content(secret: str, content: bytes) -> str:
    key = secret.encode("utf-8", "surrogatepass")
    return _PREFIX + hmac.new(key, content, hashlib.sha256).hexdigest()


def compute_signature(secret: str, msg_id: bytes, raw_timestamp: bytes, body: bytes) -> str:
    return sign_content(secret, signed_content(msg_id, raw_timestamp, body))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _received_signature(raw: str) -> str | None:
    """The signature in canonical ``sha256=<lowercase hex>`` form, or None when malformed."""
    algorithm, sep, value = raw.strip().partition("=")
    if not sep or algorithm.lower() != "sha256" or not _HEX64.fullmatch(value):
        return None
    return _PREFIX + value.lower()


class Twitch(Scheme):
    name = "twitch"
    scheme_headers = SchemeHeaders(
        signature=(SIGNATURE_HEADER,),
        signed=(ID_HEADER, TIMESTAMP_HEADER),
        envelope=(TYPE_HEADER, SUBSCRIPTION_TYPE_HEADER),
    )
    timestamped = True

    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        msg_id = message.header(ID_HEADER)
        raw_ts = message.header(TIMESTAMP_HEADER)
        raw_sig = message.header(SIGNATURE_HEADER)
        if msg_id is None:
            return invalid(f"missing header {ID_HEADER}")
        if raw_ts is None:
            return invalid(f"missing header {TIMESTAMP_HEADER}")
        if raw_sig is None:
            return invalid(f"missing header {SIGNATURE_HEADER}")
        timestamp = parse_rfc3339(raw_ts)
        if timestamp is None:
            return invalid(f"malformed {TIMESTAMP_HEADER} {raw_ts[:60]!r}: expected RFC 3339")
        received = _received_signature(raw_sig)
        if received is None:
            return invalid(
                f"malformed {SIGNATURE_HEADER}: expected sha256=<64 hex digits>",
                received=raw_sig[:200],
                timestamp=timestamp,
            )
        # Headers were read as latin-1, so this gives back the bytes that arrived.
        id_bytes, ts_bytes = msg_id.encode("latin-1"), raw_ts.encode("latin-1")
        return judge_secrets(
            signed_content(id_bytes, ts_bytes, message.body),
            [received],
            secrets,
            sign_content,
            label="sha256 signature",
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
        msg_id = msg_id or str(uuid.uuid4())
        raw_ts = format_rfc3339(int(time.time()) if timestamp is None else timestamp)
        headers = [
            (ID_HEADER, msg_id),
            (TIMESTAMP_HEADER, raw_ts),
            (SIGNATURE_HEADER, compute_signature(secret, _utf8(msg_id), _utf8(raw_ts), body)),
            (TYPE_HEADER, NOTIFICATION),
        ]
        subscription_type = json_field(body, "subscription", "type")
        if isinstance(subscription_type, str) and subscription_type.isprintable():
            headers.append((SUBSCRIPTION_TYPE_HEADER, subscription_type))
        return headers

    def event_id(self, message: SignedMessage) -> str | None:
        return message.header(ID_HEADER)

    @staticmethod
    def challenge(message: SignedMessage) -> str | None:
        """The text Twitch expects back for a ``webhook_callback_verification``.

        Twitch enables a subscription only when the callback answers 200 with the body's
        ``challenge`` as plain text. Only answer it for a request that verified.
        """
        message_type = message.header(TYPE_HEADER)
        if message_type is None or message_type.strip() != VERIFICATION:
            return None
        value = json_field(message.body, "challenge")
        return value if isinstance(value, str) else None

    def handshake(self, message: SignedMessage) -> str | None:
        return self.challenge(message)

    def event_type(self, message: SignedMessage) -> str | None:
        """The subscription type for notifications; the message type for the others.

        A ``revocation`` or ``webhook_callback_verification`` is about the subscription,
        not an event of its type, so it must not be routed like one.
        """
        message_type = message.header(TYPE_HEADER)
        if message_type is not None and message_type.strip() != NOTIFICATION:
            return message_type.strip()
        subscription_type = message.header(SUBSCRIPTION_TYPE_HEADER)
        if subscription_type is not None:
            return subscription_type.strip()
        value = json_field(message.body, "subscription", "type")
        return value if isinstance(value, str) else None
