"""The store boundary, shaped by its users: one protocol for what each needs.

``Ingest`` is what the ingest app needs, ``EventReader`` what the API, the CLI and
inspect read, ``DispatchQueue`` what delivery workers need (wake-ups included),
``ReplayLog`` what replay records, ``Lifecycle`` what whoever opens a store needs,
and ``KeyRotation`` what ``hookyard keys`` needs,
``ReplayStore`` what a replay run needs of them (its log, the readers' event
lookups and the handler keys of the queue). ``Store`` is their union, which each
and ``ReplayStore`` what a replay run needs of them (its log, the readers' event
lookups and the handler keys of the queue). ``EventStream`` is what the live stream
reads, ``ListenerLog`` the cursors of ``hookyard listen``. ``Store`` is their union, which each
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
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState, MirrorPair
from hookyard.models import (
    AttemptRecord,
    AuditEntry,
    BodyRedaction,
    ClaimedDispatch,
    DeliveryEvent,
    DestinationActivity,
    DestinationMode,
    DestinationState,
    DispatchRecord,
    EventFilter,
    EventRecord,
    EventSummary,
    PurgeSelector,
    PurgeStep,
    RedactionCandidate,
    ReplayBatch,
    ReplayResult,
    Submission,
    WriteResult,
)
from hookyard.store.activity import Activity
from hookyard.store.backlog import BacklogSample
from hookyard.store.payloads import ResealBatch
from hookyard.supervision import Supervisor

Unlisten = Callable[[], Awaitable[None]]
"""Stops the wake-ups ``DispatchQueue.listen_for_dispatches`` started."""


class Lifecycle(Protocol):
    url: str
    #: The store's own background loops (wake-ups), for ``/readyz``.
    loops: Supervisor

    @abstractmethod
    async def start(self) -> None:
        """Connect, apply migrations, and start the writer."""

    @abstractmethod
    async def close(self) -> None:
        """Stop taking submissions, write every one already taken, then disconnect."""

    @abstractmethod
    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied."""

    @abstractmethod
    async def ping(self) -> None:
        """One trivial read (``/readyz``); raises when the database cannot answer."""


class Ingest(Protocol):
    @abstractmethod
    async def submit(self, submission: Submission) -> WriteResult:
        """Store one request durably (group commit); raises StoreSaturated when full."""

    @property
    @abstractmethod
    def pending(self) -> int:
        """Submissions taken but not yet committed."""

    @abstractmethod
    def stalled_seconds(self) -> float:
        """Seconds writes have waited with none settled (0 when none wait): ``/readyz``."""


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


# -- operator controls: destination state shared by every process, the audit trail ---------


class DestinationControl(Protocol):
    @abstractmethod
    async def set_destination_mode(
        self, name: str, state: DestinationMode, *, reason: str, now_us: int
    ) -> int:
        """Make ``name`` active, paused or disabled for every process, in one transaction
        with its owed dispatches: held (status ``paused``/``disabled``) or, when active,
        released (due now). Returns how many dispatches moved."""

    @abstractmethod
    async def destination_states(self) -> dict[str, DestinationState]:
        """Every destination the store has state for (one never paused may have none)."""

    @abstractmethod
    async def hold_dispatches(self, name: str, state: DestinationMode, *, now_us: int) -> int:
        """Mark ``name``'s pending and retrying dispatches ``state`` (the ones ingest added
        after it was paused or disabled); returns how many."""

    @abstractmethod
    async def note_destination_activity(
        self, reports: Sequence[DestinationActivity], *, now_us: int
    ) -> None:
        """Store what workers saw: newest success and error, circuit changes."""

    @abstractmethod
    async def destination_backlog(self) -> dict[str, dict[str, int]]:
        """Owed dispatches (``BACKLOG_STATUSES``) as destination → status → count."""

    @abstractmethod
    async def destination_outcomes(self, *, since_us: int) -> dict[str, tuple[int, int]]:
        """Attempts per destination since ``since_us``: (answered 2xx, every other)."""


class AuditLog(Protocol):
    @abstractmethod
    async def record_audit(self, entry: AuditEntry) -> None: ...

    @abstractmethod
    async def list_audit(
        self,
        *,
        action: str | None = None,
        since_us: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[AuditEntry]:
        """Newest first, ``limit`` entries after ``cursor`` (an entry id)."""


class DispatchQueue(ProcessedKeys, DestinationControl, Protocol):
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
    async def renew_leases(self, worker_id: str, *, now_us: int, lease_us: int) -> int:
        """Extend every lease ``worker_id`` holds to ``now_us + lease_us`` (a heartbeat)."""

    @abstractmethod
    async def expire_leases(self, *, now_us: int) -> int:
        """Make dispatches whose lease ran out (their worker stopped) due now, recording
        the lost attempt (outcome unknown) so the next one carries the next number."""

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


# -- retention (hookyard.retention drives these) ---------------------------------------------


class Retention(Protocol):
    """Deleting what is past its retention, in small batches beside ingest and workers."""

    @abstractmethod
    def purge_lock(self) -> AbstractAsyncContextManager[bool]:
        """Held for a whole purge run; yields False when another process is purging
        (PostgreSQL: an advisory lock), and the run is then skipped."""

    @abstractmethod
    async def count_purge_candidates(self, selector: PurgeSelector) -> int:
        """Events received before the selector's cutoff from its sources (what a run
        will look at; progress is shown against it)."""

    @abstractmethod
    async def purge_events(
        self, selector: PurgeSelector, *, now_us: int, after: str, limit: int, dry_run: bool
    ) -> PurgeStep:
        """Delete (or count, in a dry run) the selected events among the next ``limit``
        with an id above ``after``, with their dispatches, attempts, handler keys and
        the dedup keys whose window has passed, in one transaction."""

    @abstractmethod
    async def purge_dedup_keys(self, *, now_us: int, limit: int, dry_run: bool) -> int:
        """Dedup keys whose window has passed and whose event is gone (a retention
        shorter than the window leaves them behind)."""

    @abstractmethod
    async def purge_replay_batches(self, *, before_us: int, limit: int, dry_run: bool) -> int:
        """Finished replay batches created before ``before_us`` with no dispatch left."""


class Redactions(Protocol):
    """Replacing fields of stored bodies once events are old enough (hookyard.redaction)."""

    @abstractmethod
    async def redaction_mark(self, source: str) -> str:
        """The id up to which ``source``'s events are done ("" when none is)."""

    @abstractmethod
    async def redaction_candidates(
        self, source: str, *, cutoff_us: int, after: str, limit: int
    ) -> list[RedactionCandidate]:
        """The next ``limit`` events of ``source`` after ``after`` received before
        ``cutoff_us`` and not yet redacted, in id order, with their stored bodies."""

    @abstractmethod
    async def apply_redactions(
        self, source: str, redactions: Sequence[BodyRedaction], *, mark: str | None
    ) -> int:
        """Store the redacted bodies and their records in one transaction, except for an
        event that now has a dispatch to deliver; move the source's mark to ``mark``
        unless one was skipped. Returns how many bodies were replaced."""


class KeyRotation(Protocol):
    """Encryption at rest (``hookyard.store.payloads``): the keys a store has sealed with,
    and re-sealing its events under the current key, a batch at a time."""

    @abstractmethod
    async def check_keys(self) -> None:
        """Refuse (``EncryptionKeyError``) a keyring that cannot read what is stored, then
        record its current key; ``start`` calls it."""

    @abstractmethod
    async def key_usage(self) -> dict[str | None, int]:
        """How many events each key id sealed (None: stored in clear)."""

    @abstractmethod
    async def reseal_events(self, *, after: str | None, limit: int) -> ResealBatch:
        """Open up to ``limit`` events with ids after ``after`` that are not under the
        current key and seal them under it, each in the transaction that reads it (safe
        beside ingest, workers and another rotation)."""

    @abstractmethod
    async def forget_keys(self, key_ids: Sequence[str]) -> int:
        """Drop the record of keys that seal no event any more; returns how many went."""


# -- live events and listeners (issue 19) -------------------------------------------------


class EventStream(Protocol):
    """What ``GET /api/events/stream`` reads: events in id order, and wake-ups on commits."""

    @abstractmethod
    async def stream_events(
        self, query: EventFilter, *, after: str | None, before: str, limit: int
    ) -> list[EventSummary]:
        """Oldest first: up to ``limit`` events matching ``query`` (its cursor and limit
        ignored) with ``after < id < before``."""

    @abstractmethod
    async def listen_for_events(self, wake: Callable[[], None]) -> Unlisten:
        """Call ``wake`` (on the event loop) soon after any process commits events, until
        the returned function is awaited. Never adds work to a commit on SQLite."""


class ListenerLog(Protocol):
    """The server's side of ``hookyard listen``: a durable cursor per listener name."""

    @abstractmethod
    async def listener_cursor(self, name: str) -> str | None:
        """The id of the last event listener ``name`` forwarded, None when it has none."""

    @abstractmethod
    async def record_listener_results(
        self,
        name: str,
        batch_id: str,
        results: Sequence[ReplayResult],
        *,
        cursor: str | None,
        now_us: int,
    ) -> None:
        """In one transaction: the results as ``record_replay_results`` writes them (dispatch
        rows linked to their originals, the batch's counters) and the listener's cursor."""


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


class Backlog(Protocol):
    @abstractmethod
    async def sample_backlog(
        self, destinations: Sequence[str], *, now_us: int
    ) -> BacklogSample | None:
        """Dispatch counts by destination and state, and each destination's oldest due
        dispatch; None when another process has the sampling turn (on PostgreSQL, the
        holder of an advisory lock), so one process, not every one, reads them."""


class ReplayBatches(Protocol):
    @abstractmethod
    async def list_replay_batches(
        self, *, cursor: str | None = None, limit: int = 50
    ) -> list[ReplayBatch]:
        """Replay batches newest first, ``limit`` after ``cursor`` (a batch id)."""


class AuditedReplayStore(ReplayStore, AuditLog, ReplayBatches, Protocol):
    """A replay run that records itself in the audit trail (the CLI, the API)."""


class ActivityLog(Protocol):
    """What the dashboard's Overview reads: counts per bucket, and the backlog now."""

    @abstractmethod
    async def activity(self, *, since_us: int, bucket_us: int, buckets: int) -> Activity:
        """Requests received and attempts (2xx or not) in ``buckets`` buckets of
        ``bucket_us`` from ``since_us``, dispatches waiting, the oldest's age, dead ones."""


class Store(
    Lifecycle,
    Ingest,
    EventReader,
    DispatchQueue,
    ReplayLog,
    MirrorLog,
    Retention,
    Redactions,
    KeyRotation,
    Backlog,
    AuditLog,
    ReplayBatches,
    EventStream,
    ListenerLog,
    ActivityLog,
    Protocol,
):
    """Everything a backend provides: what ingest, workers, replay, the API and the CLI need."""
