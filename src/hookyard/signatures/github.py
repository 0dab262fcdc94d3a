"""``github``: ``X-Hub-Signature-256: sha256=HEX``, HMAC-SHA256 of the raw body.

GitHub signs no timestamp, so there is no replay window; dedup on
``X-GitHub-Delivery`` is the protection. The event type is ``X-GitHub-Event`` plus
the payload's ``action`` when it has one (``issues.opened``). Payloads may be JSON or
form-encoded (``payload=<json>``), depending on the webhook's content type.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Sequence
from typing import Any

from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SchemeHeaders,
    SignedMessage,
    invalid,
    json_body,
)
from hookyard.signatures.generic_hmac import (
    clip,
    hmac_digest,
    judge_secrets,
    normalise_signature,
    plain_secret_key,
)

HEADER = "X-Hub-Signature-256"
LEGACY_HEADER = "X-Hub-Signature"  # HMAC-SHA1, sent alongside for old receivers
ID_HEADER = "X-GitHub-Delivery"
EVENT_HEADER = "X-GitHub-Event"
_PREFIX = "sha256="
_FORM_LIMIT = 1 << 20


def payload(body: bytes) -> Any:
    """The webhook payload, from a JSON body or a form body's ``payload`` field."""
    if body.startswith(b"payload=") and len(body) <= _FORM_LIMIT:
        try:
            fields = urllib.parse.parse_qs(body.decode("utf-8"), max_num_fields=100)
            return json.loads(fields["payload"][0])
        except (UnicodeDecodeError, ValueError, KeyError, IndexError, RecursionError):
            return None
    return json_body(body)


class GitHub(Scheme):
    name = "github"
    scheme_headers = SchemeHeaders(signature=(HEADER, LEGACY_HEADER), ids=(ID_HEADER,))

    def _signer(self, secret: str, content: bytes) -> str:
        return _PREFIX + hmac_digest(plain_secret_key(secret, self.name), content).hex()

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
            if message.header(LEGACY_HEADER) is not None:
                return invalid(f"missing header {HEADER} (only the SHA-1 {LEGACY_HEADER} is sent)")
            return invalid(f"missing header {HEADER}")
        raw = raw.strip()
        if not raw.startswith(_PREFIX):
            return invalid(f"malformed {HEADER}: expected sha256=<hex>, got {clip(raw)}")
        digest = normalise_signature(raw[len(_PREFIX) :], "hex", 32)
        if digest is None:
            return invalid(f"malformed {HEADER}: expected sha256= and 64 hex characters")
        return judge_secrets(
            message.body, (_PREFIX + digest,), secrets, self._signer, label="sha256 signature"
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
        key = plain_secret_key(secret, self.name)
        legacy = "sha1=" + hmac_digest(key, body, "sha1").hex()
        return [
            (ID_HEADER, msg_id or str(uuid.uuid4())),
            (LEGACY_HEADER, legacy),
            (HEADER, self._signer(secret, body)),
        ]

    def event_id(self, message: SignedMessage) -> str | None:
        return message.header(ID_HEADER)

    def event_type(self, message: SignedMessage) -> str | None:
        event = message.header(EVENT_HEADER)
        if not event:
            return None
        data = payload(message.body)
        action = data.get("action") if isinstance(data, dict) else None
        return f"{event}.{action}" if isinstance(action, str) and action else event
