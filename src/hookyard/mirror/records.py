"""What the mirror log holds (a leaf module: the store and the lane both read it)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Why a candidate was not sent; the log keeps a row for each, so drops are counted.
NOT_SENT_REASONS = ("sampled_out", "rate_limited", "lagging", "dry_run", "unshapeable")


@dataclass(frozen=True, slots=True, order=True)
class MirrorCursor:
    """Where a lane has read the event log up to: (receipt time, event id), inclusive."""

    received_us: int
    event_id: str


@dataclass(frozen=True, slots=True)
class MirrorCopyRecord:
    """One candidate event of one mirror: sent (``reason`` None) or why not."""

    mirror: str
    event_id: str
    source: str
    event_type: str | None
    received_us: int
    sent_us: int
    reason: str | None = None
    #: SHA-256 of the body bytes sent (or, for ``dry_run``, that would have been sent).
    body_sha256: str | None = None
    status_code: int | None = None
    error_class: str | None = None
    error_message: str | None = None
    latency_ms: float | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    response_excerpt: bytes = b""

    @property
    def outcome(self) -> str:
        """``2xx``..``5xx``, ``error`` (no answer), or the reason it was not sent."""
        if self.reason is not None:
            return self.reason
        if self.status_code is None:
            return "error"
        return f"{self.status_code // 100}xx"


@dataclass(frozen=True, slots=True)
class MirrorLaneState:
    mirror: str
    cursor: MirrorCursor | None
    #: When the lane last recorded progress (its heartbeat).
    updated_us: int
    #: Copies by outcome since the lane first ran (``MirrorCopyRecord.outcome``).
    counts: dict[str, int] = field(default_factory=dict)
    #: How far behind the newest candidate the lane was at its last batch.
    lag_us: int = 0


@dataclass(frozen=True, slots=True)
class MirrorPair:
    """A logged copy beside production's answer to the same event (``compare_with``'s
    original dispatch, as it stands now: a later retry counts)."""

    copy: MirrorCopyRecord
    production_status: str | None = None
    production_code: int | None = None
    production_headers: tuple[tuple[str, str], ...] = ()
    production_excerpt: bytes = b""


@dataclass(frozen=True, slots=True)
class LaneHealth:
    mirror: str
    up: bool
    lag_seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    #: Why the lane counts as stalled (``not running``, ``lagging``), or None.
    stalled: str | None = None
