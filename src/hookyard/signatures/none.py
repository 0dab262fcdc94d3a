"""``none``: the source is not signed. The event id and type may come from headers or the
JSON body (see ``SenderFields``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hookyard.exceptions import SchemeError
from hookyard.models import Verdict
from hookyard.signatures.base import DEFAULT_TOLERANCE_SECONDS, SenderFields, SignedMessage


class NoSignature(SenderFields):
    name = "none"
    options = frozenset({"id_header", "type_header"}) | SenderFields.FIELD_OPTIONS

    def configure(self, options: dict[str, Any]) -> None:
        for key in ("id_header", "type_header"):
            if not isinstance(options.get(key, ""), str):
                raise SchemeError(f"{key} must be a header name")
        self.configure_fields(options, options.get("id_header"), options.get("type_header"))

    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        return Verdict(status="unsigned", reason="source is not signed")

    def sign(
        self,
        body: bytes,
        secret: str,
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
        url: str | None = None,
    ) -> list[tuple[str, str]]:
        headers = []
        if msg_id is not None and self.id_header:
            headers.append((self.id_header, msg_id))
        return headers
