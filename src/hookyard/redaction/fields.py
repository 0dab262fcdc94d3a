"""Fields of a stored JSON body replaced once an event is old enough: pure decisions.

``redact_fields`` names member keys (``"email"``: that key at any depth, any case) or
RFC 6901 pointers (``"/card/number"``); ``redact_after`` is the age from which an
event's body is redacted. The redacted body is the document written again with every
key, order, duplicate and number literal kept (``inspect.exact_json``) and each value
replaced by ``"[redacted]"``; only spacing may change, so the signature of the bytes
that arrived no longer verifies (``explain`` says so). A body that is not JSON, or in
which nothing matches, stays as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from hookyard.exceptions import UsageError
from hookyard.inspect.sanitize import parse_pointer, sanitize_body
from hookyard.models import BodyRedaction, Redaction, RedactionCandidate
from hookyard.redaction.headers import MARKER


@dataclass(frozen=True)
class FieldRedaction:
    """One source's ``redact_fields`` and ``redact_after`` (seconds)."""

    source: str
    fields: tuple[str, ...]
    after_seconds: float

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if not f.startswith("/"))

    @property
    def pointers(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f.startswith("/"))

    def cutoff_us(self, now_us: int) -> int:
        return now_us - int(self.after_seconds * 1_000_000)


def check_fields(fields: Sequence[str]) -> str | None:
    """Why ``fields`` cannot be used (a malformed pointer), or None."""
    for name in fields:
        if name.startswith("/"):
            try:
                parse_pointer(name)
            except UsageError as exc:
                return str(exc)
    return None


def redact_body(
    plan: FieldRedaction, candidate: RedactionCandidate, *, now_us: int
) -> BodyRedaction | None:
    """The body to store instead of ``candidate``'s, or None when nothing is replaced."""
    result = sanitize_body(
        candidate.body,
        candidate.content_type,
        mask_keys=plan.keys,
        mask_pointers=plan.pointers,
        replacement=MARKER,
    )
    if not result.changed:
        return None
    record = Redaction(
        redacted_us=now_us,
        fields=plan.fields,
        replaced=result.masked_count,
        body_sha256=hashlib.sha256(result.body).hexdigest(),
        body_size=len(result.body),
    )
    return BodyRedaction(candidate.id, result.body, record)
