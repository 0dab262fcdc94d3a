"""Why a stored request's signature passed or failed: re-verify it with today's secrets.

The stored bytes and headers are verified again, with the source's *current* scheme and
secrets, as of the moment the request arrived (so the timestamp window is judged as it
was at receipt, not against today's clock). The result puts side by side what ingest
decided then and what the current configuration decides now, the signature received
and the one each configured secret computes, which secret matched, and how far the
signed timestamp was from the receipt time.

Secrets never appear in the result: keys are named by their position in the source's
``secrets`` list. Signatures do appear; they are MACs of one body, not credentials.
Pure: an ``EventRecord``, its body and a ``SourceConfig`` in, an :class:`Explanation` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookyard.models import EventRecord, Verdict, header_value
from hookyard.redaction.headers import redacted_names
from hookyard.signatures.base import SignedMessage
from hookyard.timeparse import iso_from_us

if TYPE_CHECKING:
    from hookyard.config import SourceConfig


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """One configured secret (by position) tried on its own, ignoring the time window."""

    index: int
    matched: bool
    computed: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "matched": self.matched,
            "computed": self.computed,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """What ingest decided (``stored``) next to what the current config decides (``current``).

    ``current`` is None when the event's source is no longer configured.
    ``skew_seconds`` is receipt time minus the signed timestamp: positive when the
    request was signed before it arrived (the usual case), negative for a sender
    whose clock runs ahead.
    """

    event_id: str
    source: str
    scheme: str | None
    received_us: int
    stored: Verdict
    current: Verdict | None
    keys: tuple[KeyCheck, ...]
    url: str | None
    signed_timestamp: int | None
    skew_seconds: float | None
    tolerance_seconds: int | None
    notes: tuple[str, ...]

    @property
    def configured(self) -> bool:
        return self.current is not None

    @property
    def ok(self) -> bool:
        """Whether the stored request passes with the current configuration."""
        return self.current is not None and self.current.ok

    @property
    def changed(self) -> bool:
        """Whether the current configuration decides differently from ingest at receipt."""
        if self.current is None:
            return True
        return (self.current.status, self.current.secret_index) != (
            self.stored.status,
            self.stored.secret_index,
        )

    @property
    def within_tolerance(self) -> bool | None:
        if self.skew_seconds is None or self.tolerance_seconds is None:
            return None
        return abs(self.skew_seconds) <= self.tolerance_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "source": self.source,
            "scheme": self.scheme,
            "configured": self.configured,
            "received_at": iso_from_us(self.received_us),
            "ok": self.ok,
            "changed": self.changed,
            "stored": self.stored.as_dict(),
            "current": None if self.current is None else self.current.as_dict(),
            "keys": [key.as_dict() for key in self.keys],
            "url": self.url,
            "timestamp": {
                "signed": self.signed_timestamp,
                "signed_at": None
                if self.signed_timestamp is None
                else iso_from_us(self.signed_timestamp * 1_000_000),
                "skew_seconds": self.skew_seconds,
                "tolerance_seconds": self.tolerance_seconds,
                "within_tolerance": self.within_tolerance,
            },
            "notes": list(self.notes),
        }


def stored_verdict(record: EventRecord) -> Verdict:
    """The verdict ingest recorded, rebuilt from the stored row."""
    detail = record.verdict_detail

    def text(key: str) -> str | None:
        value = detail.get(key)
        return value if isinstance(value, str) else None

    timestamp = detail.get("timestamp")
    return Verdict(
        status=record.summary.verdict,
        reason=record.summary.verdict_reason,
        secret_index=record.secret_index,
        computed=text("computed"),
        received=text("received"),
        signed_content=text("signed_content"),
        timestamp=timestamp if isinstance(timestamp, int) else None,
    )


def rebuilt_url(record: EventRecord, source: SourceConfig) -> tuple[str, str | None]:
    """The URL the provider signed, as ingest would see it, and a note when it is a guess."""
    if source.public_url:
        return source.public_url, None
    host = header_value(record.headers, "host")
    shown_host = "" if host is None else host.decode("latin-1")
    url = f"http://{shown_host}{record.summary.path}"
    if record.query_string:
        url = f"{url}?{record.query_string.decode('latin-1')}"
    return url, (
        "the signed URL was rebuilt from the stored Host header and path as http://; "
        "set public_url on the source if the provider posts to another URL"
    )


def _verify(
    source: SourceConfig,
    message: SignedMessage,
    secrets: Sequence[str],
    now: float,
    tolerance: int | None,
) -> Verdict:
    try:
        return source.scheme.verify(message, secrets, now=now, tolerance=tolerance)
    except Exception as exc:  # a scheme bug must not break the explanation
        return Verdict(status="invalid", reason=f"verifier error: {type(exc).__name__}")


def explain_event(record: EventRecord, body: bytes, source: SourceConfig | None) -> Explanation:
    """Re-verify ``body`` and the stored headers with ``source``'s current secrets."""
    summary = record.summary
    stored = stored_verdict(record)
    received_s = summary.received_us / 1e6
    notes: list[str] = []
    if source is None:
        notes.append(
            f"source {summary.source!r} is not in the current configuration; "
            "only the verdict recorded at receipt is shown"
        )
        notes.extend(redaction_notes(record))
        return Explanation(
            event_id=summary.id,
            source=summary.source,
            scheme=None,
            received_us=summary.received_us,
            stored=stored,
            current=None,
            keys=(),
            url=None,
            signed_timestamp=stored.timestamp,
            skew_seconds=_skew(received_s, stored.timestamp),
            tolerance_seconds=None,
            notes=tuple(notes),
        )

    url: str | None = None
    if source.scheme.needs_url:
        url, note = rebuilt_url(record, source)
        if note:
            notes.append(note)
    message = SignedMessage(headers=record.headers, body=body, url=url)
    current = _verify(source, message, source.secrets, received_s, source.tolerance_seconds)
    keys = tuple(
        _key_check(index, _verify(source, message, [secret], received_s, None))
        for index, secret in enumerate(source.secrets)
    )
    timestamp = current.timestamp if current.timestamp is not None else stored.timestamp
    if current.status != stored.status:
        notes.append(
            f"at receipt the request was {stored.status}; "
            f"with the current secrets it is {current.status}"
        )
    elif (
        current.secret_index is not None
        and stored.secret_index is not None
        and current.secret_index != stored.secret_index
    ):
        notes.append(
            f"matched secret #{stored.secret_index} at receipt and #{current.secret_index} "
            "now (the secrets list changed order)"
        )
    if current.status == "invalid" and any(key.matched for key in keys):
        notes.append("a secret matches the signature; it failed on the timestamp window")
    notes.extend(redaction_notes(record))
    return Explanation(
        event_id=summary.id,
        source=summary.source,
        scheme=source.scheme_name,
        received_us=summary.received_us,
        stored=stored,
        current=current,
        keys=keys,
        url=url,
        signed_timestamp=timestamp,
        skew_seconds=_skew(received_s, timestamp),
        tolerance_seconds=source.tolerance_seconds if source.scheme.timestamped else None,
        notes=tuple(notes),
    )


def redaction_notes(record: EventRecord) -> list[str]:
    """Why a redacted event may no longer verify: what was changed after the check."""
    notes = []
    if (r := record.redaction) is not None:
        notes.append(
            f"the stored body was redacted at {iso_from_us(r.redacted_us)} "
            f"({r.replaced} values of {', '.join(r.fields)} replaced): the signature covered "
            f"the bytes that arrived (sha256 {record.summary.body_sha256}), not those stored "
            "now, so it no longer verifies; the verdict at receipt stands"
        )
    if names := redacted_names(record.headers):
        notes.append(
            f"stored as a marker after verification (redact_headers): {', '.join(names)}; "
            "a scheme that reads them cannot verify the stored request again"
        )
    return notes


def _key_check(index: int, verdict: Verdict) -> KeyCheck:
    return KeyCheck(
        index=index,
        matched=verdict.status == "valid",
        computed=verdict.computed,
        reason=verdict.reason,
    )


def _skew(received_s: float, timestamp: int | None) -> float | None:
    if timestamp is None:
        return None
    return round(received_s - timestamp, 3)
