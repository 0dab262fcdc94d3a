"""The store boundary, shaped by its users: one protocol for what each needs.

``Ingest`` is what the ingest app needs, ``EventReader`` what the API, the CLI and
inspect read, ``DispatchQueue`` what delivery workers need (wake-ups included),
``ReplayLog`` what replay records, ``Lifecycle`` what whoever opens a store needs,
and ``ReplayStore`` what a replay run needs of them (its log, the readers' event
lookups and the handler keys of the queue). ``Store`` is their union, which each
backend implements (subclassing it, so a missing method is an error when the backend
is instantiated). Type a user against the narrowest protocol it needs.

Writes of ingested requests go through ``submit``, which group-commits: one writer
takes every submission waiting, writes them in one transaction, and only then
resolves their futures. ``submit`` raises ``StoreSaturated`` when more than
``queue_size`` submissions are waiting, so ingest can answer 503 instead of queueing
without bound.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState, MirrorPair
from hookyard.models import (
    AttemptRecord,
    ClaimedDispatch,
    DeliveryEvent,
    DispatchRecord,
    EventFilter,
    EventRecord,
    EventSummary,
    ReplayBatch,
    ReplayResult,
    Submission,
    WriteResult,
)
from hookyard.store.activity import Activity

Unlisten = Callable[[], Awaitable[None]]
"""Stops the wake-ups ``DispatchQueue.listen_for_dispatches`` started."""


class Lifecycle(Protocol):
    url: str

    @abstractmethod
    async def start(self) -> None:
        """Connect, apply migrations, and start the writer."""

    @abstractmethod
    async def close(self) -> None:
        """Stop taking submissions, write every one already taken, then disconnect."""

    @abstractmethod
    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied."""


class Ingest(Protocol):
    @abstractmethod
    async def submit(self, submission: Submission) -> WriteResult:
        """Store one request durably (group commit); raises StoreSaturated when full."""

    @property
    @abstractmethod
    def pending(self) -> int:
        """Submissions taken but not yet committed."""


class EventReader(Protocol):
    @abstractmethod
    async def get_event(self, event_id: str) -> EventRecord | None:
        """The event with its dispatches, each with its attempts."""

    @abstractmethod
    async def get_body(self, event_id: str) -> tuple[bytes, str] | None:
        """The exact stored body and its content type."""

    @abstractmethod
    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        """Newest first, ``query.limit`` rows after ``query.cursor``."""

    @abstractmethod
    async def count_events(self) -> int: ...

    @abstractmethod
    async def list_dispatches(
        self,
        *,
        status: str | None = None,
        destination: str | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[DispatchRecord]:
        """Dispatches newest first, each with its attempts; the DLQ is ``status='dead'``."""

    @abstractmethod
    async def known_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        """Which of ``event_ids`` are stored."""


class ProcessedKeys(Protocol):
    @abstractmethod
    async def is_processed(self, destination: str, key: str) -> bool:
        """Whether the Python handler ``destination`` has processed the idempotency ``key``."""


class DispatchQueue(ProcessedKeys, Protocol):
    @abstractmethod
    async def claim_due(
        self, worker_id: str, *, now_us: int, lease_us: int, limit: int, destinations: Sequence[str]
    ) -> list[ClaimedDispatch]:
        """Lease up to ``limit`` due dispatches (or ones whose lease expired) to ``worker_id``."""

    @abstractmethod
    async def record_attempt(
        self,
        worker_id: str,
        attempt: AttemptRecord,
        *,
        status: str,
        processed_key: tuple[str, str, str] | None = None,
    ) -> bool:
        """Store an attempt and the dispatch's new status in one transaction.

        ``processed_key`` (destination, key, event id) is committed with it, which is what
        makes Python handlers effectively-once. Returns False when the lease was lost.
        """

    @abstractmethod
    async def release_leases(self, worker_id: str, *, now_us: int) -> int:
        """Hand back everything ``worker_id`` holds, due now (graceful shutdown)."""

    @abstractmethod
    async def postpone(
        self, worker_id: str, dispatch_id: str, *, next_attempt_us: int, now_us: int
    ) -> None:
        """Give a claimed dispatch back, due at ``next_attempt_us``, without spending an attempt."""

    @abstractmethod
    async def set_destination_disabled(
        self, name: str, disabled: bool, *, reason: str, now_us: int
    ) -> None:
        """Disable (holding its dispatches) or re-enable (releasing them) a destination."""

    @abstractmethod
    async def disabled_destinations(self) -> dict[str, str]: ...

    @abstractmethod
    async def retry_dead(self, dispatch_ids: Sequence[str], *, now_us: int) -> int:
        """Put dead dispatches back in line, due now; returns how many moved."""

    @abstractmethod
    async def listen_for_dispatches(self, wake: Callable[[], None]) -> Unlisten:
        """Call ``wake`` (on the event loop) soon after dispatches become due, whichever
        process committed them, until the returned function is awaited."""


class ReplayLog(Protocol):
    @abstractmethod
    async def replay_payloads(self, event_ids: Sequence[str]) -> list[DeliveryEvent]:
        """The stored bytes of ``event_ids`` (the ones that exist), in id order."""

    @abstractmethod
    async def create_replay_batch(self, batch: ReplayBatch) -> None: ...

    @abstractmethod
    async def record_replay_results(
        self, batch_id: str, results: Sequence[ReplayResult], *, missing: int = 0, now_us: int
    ) -> None:
        """In one transaction: a dispatch row and its attempt for each result, handler
        keys for the ones a handler processed, and the batch's counters (``missing``
        events, gone since they were selected, count as failed)."""

    @abstractmethod
    async def finish_replay_batch(
        self, batch_id: str, status: str, *, now_us: int, error: str | None = None
    ) -> None:
        """Mark a running batch done, cancelled or failed (a finished one stays as it is)."""

    @abstractmethod
    async def get_replay_batch(self, batch_id: str) -> ReplayBatch | None: ...

    @abstractmethod
    async def replay_batch_dispatches(
        self, batch_id: str, *, status: str, limit: int = 20
    ) -> list[DispatchRecord]:
        """The batch's dispatches with ``status`` (e.g. its failures), each with its attempt."""


class ReplayStore(EventReader, ReplayLog, ProcessedKeys, Protocol):
    """What a replay run needs: it selects events, reads their bytes, skips what a handler
    already processed and records the batch."""


class MirrorLog(Protocol):
    """What a mirror lane and its report need: candidates by cursor, the log, the lane."""

    @abstractmethod
    async def mirror_candidates(
        self,
        *,
        sources: Sequence[str],
        after: MirrorCursor | None,
        until_us: int,
        limit: int,
    ) -> list[DeliveryEvent]:
        """Accepted events of ``sources`` after ``after`` and received by ``until_us``, in
        (receipt time, id) order."""

    @abstractmethod
    async def mirror_lane(self, mirror: str) -> MirrorLaneState | None: ...

    @abstractmethod
    async def record_mirror_copies(
        self,
        mirror: str,
        copies: Sequence[MirrorCopyRecord],
        *,
        cursor: MirrorCursor | None,
        now_us: int,
        lag_us: int | None = None,
    ) -> None:
        """In one transaction: the copies (a re-sent event's row is replaced), the lane's
        counts, heartbeat and lag, and its cursor (which never moves back; None leaves it,
        as backfill does; so does a None ``lag_us``)."""

    @abstractmethod
    async def mirror_pairs(
        self,
        mirror: str,
        *,
        compare_with: str | None,
        since_us: int,
        source: str | None = None,
        event_ids: Sequence[str] | None = None,
        with_bodies: bool = False,
    ) -> list[MirrorPair]:
        """Logged copies received since ``since_us`` with production's current answer;
        response headers and excerpts only ``with_bodies``."""

    @abstractmethod
    async def hold_mirror_lane(self, mirror: str) -> ReleaseLane | None:
        """Become the one lane of ``mirror`` (None when another process is); the returned
        function lets go."""


ReleaseLane = Callable[[], Awaitable[None]]


class ActivityLog(Protocol):
    """What the dashboard's Overview reads: counts per bucket, and the backlog now."""

    @abstractmethod
    async def activity(self, *, since_us: int, bucket_us: int, buckets: int) -> Activity:
        """Requests received and attempts (2xx or not) in ``buckets`` buckets of
        ``bucket_us`` from ``since_us``, dispatches waiting, the oldest's age, dead ones."""


class Store(
    Lifecycle, Ingest, EventReader, DispatchQueue, ReplayLog, MirrorLog, ActivityLog, Protocol
):
    """Everything a backend provides: what ingest, workers, replay, the API and the CLI need."""
