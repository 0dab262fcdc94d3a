"""Frozen value types shared by ingest, the store, the API and the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

HeaderList = tuple[tuple[bytes, bytes], ...]
"""Request headers exactly as received: ordered, original case, repeats kept."""

VerdictStatus = Literal["valid", "invalid", "unsigned"]
EventStatus = Literal[
    "pending",
    "delivered",
    "retrying",
    "dead",
    "disabled",
    "paused",
    "dry_run",
    "rejected",
    "stored",
]


def encode_headers(headers: HeaderList) -> bytes:
    """Lossless text form of a header list (latin-1 maps every byte to one code point)."""
    return orjson.dumps([[n.decode("latin-1"), v.decode("latin-1")] for n, v in headers])


def decode_headers(blob: bytes) -> HeaderList:
    return tuple((n.encode("latin-1"), v.encode("latin-1")) for n, v in json.loads(blob))


def header_value(headers: HeaderList, name: str) -> bytes | None:
    """First value of a header, matched case-insensitively."""
    wanted = name.lower().encode("latin-1")
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking a request's signature.

    ``computed`` and ``received`` are signatures (never secrets); ``signed_content``
    describes what was signed (its length and SHA-256), so a failure can be explained
    without echoing the payload.
    """

    status: VerdictStatus
    reason: str = ""
    secret_index: int | None = None
    computed: str | None = None
    received: str | None = None
    signed_content: str | None = None
    timestamp: int | None = None

    @property
    def ok(self) -> bool:
        return self.status != "invalid"

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "reason": self.reason,
            "secret_index": self.secret_index,
            "computed": self.computed,
            "received": self.received,
            "signed_content": self.signed_content,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class CapturedRequest:
    """One request as it arrived. Nothing here is ever re-serialised."""

    id: str
    source: str
    received_us: int
    remote_addr: str
    method: str
    path: str
    query_string: bytes
    headers: HeaderList
    body: bytes
    body_sha256: str
    content_type: str

    @property
    def body_size(self) -> int:
        return len(self.body)


@dataclass(frozen=True, slots=True)
class StoredPayload:
    """A request's header list and body as the store writes them: in clear
    (``key_id`` None) or sealed under the key ``key_id`` (``hookyard.store.payloads``)."""

    key_id: str | None
    headers: bytes
    body: bytes

    def __repr__(self) -> str:  # the clear form holds provider credentials
        return f"StoredPayload(key_id={self.key_id!r})"


@dataclass(frozen=True, slots=True)
class Submission:
    """What ingest hands to the store: the capture plus everything decided about it."""

    request: CapturedRequest
    verdict: Verdict
    provider_event_id: str | None
    event_type: str | None
    dedup_window_us: int
    destinations: tuple[str, ...] = ()
    #: Set by the store as it takes the submission, when it seals payloads at rest.
    stored: StoredPayload | None = None

    @property
    def dedup_key(self) -> str | None:
        """Only accepted requests with a provider id take part in dedup."""
        if self.verdict.status == "invalid" or not self.provider_event_id:
            return None
        return self.provider_event_id


@dataclass(frozen=True, slots=True)
class WriteResult:
    id: str
    duplicate_of: str | None = None

    @property
    def duplicate(self) -> bool:
        return self.duplicate_of is not None


@dataclass(frozen=True, slots=True)
class EventSummary:
    id: str
    source: str
    received_us: int
    method: str
    path: str
    body_size: int
    body_sha256: str
    content_type: str
    verdict: VerdictStatus
    verdict_reason: str
    provider_event_id: str | None
    event_type: str | None
    status: str
    duplicate_count: int


@dataclass(frozen=True, slots=True)
class EventRecord:
    summary: EventSummary
    remote_addr: str
    query_string: bytes
    headers: HeaderList
    secret_index: int | None
    last_duplicate_us: int | None
    verdict_detail: dict[str, Any] = field(default_factory=dict)
    dispatches: tuple[DispatchRecord, ...] = field(default=())
    #: Set when fields of the stored body were replaced (``redact_fields``).
    redaction: Redaction | None = None


@dataclass(frozen=True, slots=True)
class DispatchRecord:
    id: str
    event_id: str
    destination: str
    status: str
    attempts: int
    next_attempt_us: int | None
    created_us: int
    updated_us: int
    replay_of: str | None
    batch_id: str | None
    attempt_log: tuple[AttemptRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    dispatch_id: str
    number: int
    started_us: int
    latency_ms: float
    status_code: int | None
    response_headers: tuple[tuple[str, str], ...]
    response_excerpt: bytes
    error_class: str | None
    error_message: str | None
    decision: str
    next_attempt_us: int | None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which stored events to list. Every field given must match (AND).

    ``response_status`` and ``destination`` look at the event's dispatches: an event
    matches when one dispatch satisfies both (its destination, and the HTTP status of
    its last attempt: ``"5xx"`` for a class, ``"404"`` for one code).
    ``hookyard.inspect.query.parse_filter`` builds one from text, as the API and the
    CLI receive it.
    """

    source: str | None = None
    event_type: str | None = None  # glob: order.* matches order.created
    verdict: str | None = None
    status: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    limit: int = 50
    cursor: str | None = None  # id of the last row of the previous page
    response_status: str | None = None  # last response of a dispatch: "5xx", "404"
    destination: str | None = None  # has a dispatch to this destination


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    """A stored event as every delivery reads it (worker, replay, handlers): the exact
    bytes plus what signing and routing need. ``body`` is the stored bytes, untouched."""

    id: str
    source: str
    received_us: int
    event_type: str | None
    provider_event_id: str | None
    content_type: str
    headers: HeaderList
    body: bytes

    @property
    def idempotency_key(self) -> str:
        """The same on every retry and replay: the provider's id, else hookyard's."""
        return idempotency_key(self.id, self.provider_event_id)

    def __repr__(self) -> str:  # headers may carry provider credentials
        return f"DeliveryEvent(id={self.id!r}, source={self.source!r}, type={self.event_type!r})"


def idempotency_key(event_id: str, provider_event_id: str | None) -> str:
    """The one definition of an event's idempotency key, for ``DeliveryEvent`` and for the
    handler ``Event`` a user may build by hand (so the two can never disagree)."""
    return provider_event_id or event_id


@dataclass(frozen=True, slots=True)
class ClaimedDispatch:
    """A dispatch a worker holds a lease on, with the stored event it must deliver."""

    dispatch_id: str
    destination: str
    attempts: int
    replay_of: str | None
    batch_id: str | None
    event: DeliveryEvent
    #: Why the stored payload could not be decrypted (``event`` then has no body or
    #: headers): the worker dead-letters it, saying so, rather than send other bytes.
    unreadable: str | None = None

    @property
    def event_id(self) -> str:
        return self.event.id


DispatchStatus = Literal[
    "pending", "in_flight", "delivered", "retrying", "dead", "disabled", "paused", "dry_run"
]


# -- replay ----------------------------------------------------------------------------------

ReplayBatchStatus = Literal["running", "done", "cancelled", "failed"]
ReplayDispatchStatus = Literal["delivered", "failed", "skipped", "dry_run"]
"""A replayed dispatch is attempted once; workers never claim these statuses."""


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """One replayed event: its dispatch row (linked to the original) and its one attempt."""

    dispatch_id: str
    event_id: str
    destination: str
    status: ReplayDispatchStatus
    attempt: AttemptRecord
    #: (destination, idempotency key, event id) when a Python handler ran successfully.
    processed_key: tuple[str, str, str] | None = None


@dataclass(frozen=True, slots=True)
class ReplayBatch:
    """One replay run: what was selected, where it went, and how it is going."""

    id: str
    created_us: int
    #: What selected the events, as given: ``{"ids": [...]}`` or the filter's fields.
    selection: dict[str, Any]
    target: str
    total: int
    status: ReplayBatchStatus
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    updated_us: int | None = None
    finished_us: int | None = None
    #: How it was run: rate, concurrency, force, signing scheme (never a secret).
    options: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def done(self) -> int:
        return self.delivered + self.failed + self.skipped


# -- retention -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurgeSelector:
    """Which stored events one pass of a purge may delete (``hookyard.retention``).

    Events received before ``cutoff_us`` of ``sources`` (every source when None) minus
    ``excluded``; never one with a dispatch still to deliver (pending, retrying, in
    flight, held by a disabled destination). ``dead`` picks the dead letters (an event
    with a dead dispatch) instead of the rest: they have a retention of their own.
    """

    cutoff_us: int
    sources: tuple[str, ...] | None = None
    excluded: tuple[str, ...] = ()
    dead: bool = False


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    """Rows one purge step deleted (or, in a dry run, would delete)."""

    events: int = 0
    dispatches: int = 0
    attempts: int = 0
    dedup_keys: int = 0
    processed_keys: int = 0
    replay_batches: int = 0

    def __add__(self, other: PurgeCounts) -> PurgeCounts:
        return PurgeCounts(
            *(a + b for a, b in zip(_purge_fields(self), _purge_fields(other), strict=True))
        )

    def as_dict(self) -> dict[str, int]:
        return dict(zip(PURGE_COUNT_NAMES, _purge_fields(self), strict=True))


PURGE_COUNT_NAMES = (
    "events",
    "dispatches",
    "attempts",
    "dedup_keys",
    "processed_keys",
    "replay_batches",
)


def _purge_fields(counts: PurgeCounts) -> tuple[int, ...]:
    return tuple(getattr(counts, name) for name in PURGE_COUNT_NAMES)


@dataclass(frozen=True, slots=True)
class PurgeStep:
    """One batch of a purge: what it deleted and how far it looked (the next batch's
    ``after``); ``last_id`` is None when nothing older was left to look at."""

    counts: PurgeCounts
    last_id: str | None
    examined: int


# -- redaction -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Redaction:
    """An event whose stored body had fields replaced (``redact_fields``). The event's
    ``body_sha256`` and ``body_size`` stay those of the bytes that arrived; these are of
    the bytes stored now."""

    redacted_us: int
    fields: tuple[str, ...]
    replaced: int
    body_sha256: str
    body_size: int

    def as_dict(self) -> dict[str, object]:
        return {
            "redacted_us": self.redacted_us,
            "fields": list(self.fields),
            "replaced": self.replaced,
            "body_sha256": self.body_sha256,
            "body_size": self.body_size,
        }


@dataclass(frozen=True, slots=True)
class RedactionCandidate:
    """An event old enough to redact, with its stored body; ``busy`` when a dispatch is
    still to deliver (its body is left alone until the delivery is over)."""

    id: str
    body: bytes
    content_type: str
    busy: bool


@dataclass(frozen=True, slots=True)
class BodyRedaction:
    """A redacted body to store in place of an event's, and its record."""

    event_id: str
    body: bytes
    redaction: Redaction


# -- operator controls -----------------------------------------------------------------------

DestinationMode = Literal["active", "paused", "disabled"]
"""Whether a destination is delivered to: ``paused`` by an operator, ``disabled`` by a
``disable_on`` answer (410 Gone). Shared by every process through the store."""
CircuitState = Literal["closed", "open", "half_open"]
#: Dispatch statuses that still owe a delivery (a destination's backlog).
BACKLOG_STATUSES = ("pending", "retrying", "in_flight", "paused", "disabled")


@dataclass(frozen=True, slots=True)
class DestinationState:
    """What the store knows of one destination. The circuit and the last outcomes are
    what the workers last reported (each process has its own breaker; the latest wins)."""

    name: str
    state: DestinationMode = "active"
    reason: str = ""
    updated_us: int | None = None
    circuit: CircuitState = "closed"
    circuit_until_us: int | None = None
    last_success_us: int | None = None
    last_error_us: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class DestinationActivity:
    """A worker's report on one destination since its last: the newest success, the
    newest error, and the circuit (None when unchanged)."""

    name: str
    last_success_us: int | None = None
    last_error_us: int | None = None
    last_error: str | None = None
    circuit: CircuitState | None = None
    circuit_until_us: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One state-changing operator action: who, when, what, on what, how many."""

    id: str
    at_us: int
    actor: str
    action: str
    target: str
    count: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
