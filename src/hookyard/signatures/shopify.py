"""``shopify``: ``X-Shopify-Hmac-Sha256``, base64 HMAC-SHA256 of the raw body.

The key is the app's client secret (or the webhook signing secret shown in the admin)
as-is. No timestamp is signed; dedup on ``X-Shopify-Webhook-Id`` guards against replays.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SchemeHeaders,
    SignedMessage,
    invalid,
)
from hookyard.signatures.generic_hmac import (
    encode_digest,
    hmac_digest,
    judge_secrets,
    normalise_signature,
    plain_secret_key,
)

HEADER = "X-Shopify-Hmac-Sha256"
ID_HEADER = "X-Shopify-Webhook-Id"
EVENT_ID_HEADER = "X-Shopify-Event-Id"  # same event across subscriptions; a fallback id
TOPIC_HEADER = "X-Shopify-Topic"


class Shopify(Scheme):
    name = "shopify"
    scheme_headers = SchemeHeaders(signature=(HEADER,), ids=(ID_HEADER, EVENT_ID_HEADER))

    def _signer(self, secret: str, content: bytes) -> str:
        return encode_digest(hmac_digest(plain_secret_key(secret, self.name), content), "base64")

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
        received = normalise_signature(raw, "base64", 32)
        if received is None:
            return invalid(f"malformed {HEADER}: expected base64 of 32 bytes", received=raw[:200])
        return judge_secrets(
            message.body, (received,), secrets, self._signer, label="HMAC-SHA256 signature"
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
        return [
            (ID_HEADER, msg_id or str(uuid.uuid4())),
            (HEADER, self._signer(secret, body)),
        ]

    def event_id(self, message: SignedMessage) -> str | None:
        return message.header(ID_HEADER) or message.header(EVENT_ID_HEADER)

    def event_type(self, message: SignedMessage) -> str | None:
        return message.header(TOPIC_HEADER)
