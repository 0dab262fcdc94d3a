"""``none``: the source is not signed. Optionally reads the event id and type from headers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hookyard.exceptions import SchemeError
from hookyard.models import Verdict
from hookyard.signatures.base import DEFAULT_TOLERANCE_SECONDS, Scheme, SignedMessage


class NoSignature(Scheme):
    name = "none"
    options = frozenset({"id_header", "type_header"})

    def configure(self, options: dict[str, Any]) -> None:
        for key in ("id_header", "type_header"):
            if not isinstance(options.get(key, ""), str):
                raise SchemeError(f"{key} must be a header name")
        self.id_header: str | None = options.get("id_header")
        self.type_header: str | None = options.get("type_header")

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

    def event_id(self, message: SignedMessage) -> str | None:
        return message.header(self.id_header) if self.id_header else None

    def event_type(self, message: SignedMessage) -> str | None:
        if self.type_header:
            return message.header(self.type_header)
        return super().event_type(message)
