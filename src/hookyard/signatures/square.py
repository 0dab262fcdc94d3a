"""``square``: Square webhook subscriptions.

``x-square-hmacsha256-signature`` is the base64 HMAC-SHA256, keyed with the
subscription's signature key, of the notification URL followed by the raw body.
The URL is part of the signed content, so ingest passes the URL the provider posted
to (the source's ``public_url``, or one rebuilt from the Host header).

Square's older documentation (v1 webhooks) describes ``x-square-signature``, the same
construction with HMAC-SHA1. It is accepted only when the SHA-256 header is absent,
so that a sender cannot downgrade a request that carries both.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

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
    json_field,
    require_secret,
)

SIGNATURE_HEADER = "x-square-hmacsha256-signature"
LEGACY_SIGNATURE_HEADER = "x-square-signature"


@dataclass(frozen=True, slots=True)
class _Variant:
    header: str
    digest: str
    size: int


_SHA256 = _Variant(SIGNATURE_HEADER, "sha256", 32)
_SHA1 = _Variant(LEGACY_SIGNATURE_HEADER, "sha1", 20)


def signed_content(url: str, body: bytes) -> bytes:
    # surrogatepass: a URL rebuilt from request bytes must never make encoding raise.
    return url.encode("utf-8", "surrogatepass") + body


def compute_signature(key: str, url: str, body: bytes, digest: str = "sha256") -> str:
    mac = hmac.new(key.encode("utf-8", "surrogatepass"), signed_content(url, body), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def _is_base64_of(raw: str, size: int) -> bool:
    try:
        return len(base64.b64decode(raw, validate=True)) == size
    except (binascii.Error, ValueError):
        return False


class Square(Scheme):
    name = "square"
    scheme_headers = SchemeHeaders(signature=(SIGNATURE_HEADER, LEGACY_SIGNATURE_HEADER))
    needs_url = True

    def _received(self, message: SignedMessage) -> tuple[_Variant, str] | None:
        for variant in (_SHA256, _SHA1):
            raw = message.header(variant.header)
            if raw is not None:
                return variant, raw.strip()
        return None

    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        found = self._received(message)
        if found is None:
            return invalid(f"missing header {SIGNATURE_HEADER}")
        variant, received = found
        if not _is_base64_of(received, variant.size):
            return invalid(
                f"malformed {variant.header}: expected base64 of a {variant.size}-byte HMAC",
                received=received[:200],
            )
        if not message.url:
            return invalid(
                "no notification URL to check the signature against; "
                "set public_url on the source to the URL registered with Square"
            )
        content = signed_content(message.url, message.body)
        described = describe_signed(content)
        computed = ""
        for index, secret in enumerate(secrets):
            computed = compute_signature(secret, message.url, message.body, variant.digest)
            if constant_time_equal(computed, received):
                return Verdict(
                    status="valid",
                    reason=f"{variant.header} matches",
                    secret_index=index,
                    computed=computed,
                    received=received,
                    signed_content=described,
                )
        if not secrets:
            return invalid("no secret configured", received=received, signed_content=described)
        # The URL is the usual culprit (a proxy, http vs https, a trailing slash), so say
        # which one was signed; it is configuration, not a secret.
        return invalid(
            f"signature mismatch for notification URL {message.url[:300]!r} + body",
            computed=computed,
            received=received,
            signed_content=described,
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
        if not url:
            raise SchemeError("square signs the notification URL: give the URL")
        return [(SIGNATURE_HEADER, compute_signature(secret, url, body))]

    def event_id(self, message: SignedMessage) -> str | None:
        value = json_field(message.body, "event_id")
        return value if isinstance(value, str) else None
