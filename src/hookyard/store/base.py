"""The store interface both backends implement.

Writes of ingested requests go through ``submit``, which group-commits: one writer
takes every submission waiting, writes them in one transaction, and only then
resolves their futures. ``submit`` raises ``StoreSaturated`` when more than
``queue_size`` submissions are waiting, so ingest can answer 503 instead of queueing
without bound.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from hookyard.exceptions import ConfigError
from hookyard.models import (
    AttemptRecord,
    ClaimedDispatch,
    DispatchRecord,
    EventFilter,
    EventRecord,
    EventSummary,
    ReplayBatch,
    ReplayPayload,
    ReplayResult,
    Submission,
    WriteResult,
)


class Store(ABC):
    """What ingest, the API and the CLI need from storage."""

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

    @abstractmethod
    async def submit(self, submission: Submission) -> WriteResult:
        """Store one request durably (group commit); raises StoreSaturated when full."""

    @property
    @abstractmethod
    def pending(self) -> int:
        """Submissions taken but not yet committed."""

    @abstractmethod
    async def get_event(self, event_id: str) -> EventRecord | None: ...

    @abstractmethod
    async def get_body(self, event_id: str) -> tuple[bytes, str] | None:
        """The exact stored body and its content type."""

    @abstractmethod
    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        """Newest first, ``query.limit`` rows after ``query.cursor``."""

    @abstractmethod
    async def count_events(self) -> int: ...

    # -- delivery ------------------------------------------------------------------------

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
    async def is_processed(self, destination: str, key: str) -> bool: ...

    @abstractmethod
    async def set_destination_disabled(
        self, name: str, disabled: bool, *, reason: str, now_us: int
    ) -> None:
        """Disable (holding its dispatches) or re-enable (releasing them) a destination."""

    @abstractmethod
    async def disabled_destinations(self) -> dict[str, str]: ...

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
    async def retry_dead(self, dispatch_ids: Sequence[str], *, now_us: int) -> int:
        """Put dead dispatches back in line, due now; returns how many moved."""

    # -- replay --------------------------------------------------------------------------

    @abstractmethod
    async def known_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        """Which of ``event_ids`` are stored."""

    @abstractmethod
    async def replay_payloads(self, event_ids: Sequence[str]) -> list[ReplayPayload]:
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


def open_store(url: str, *, queue_size: int = 10_000) -> Store:
    if url.startswith("sqlite:///"):
        from hookyard.store.sqlite import SqliteStore

        return SqliteStore(url, queue_size=queue_size)
    if url.startswith(("postgresql://", "postgres://")):
        from hookyard.store.postgres import PostgresStore

        return PostgresStore(url, queue_size=queue_size)
    raise ConfigError(f"unsupported database {url!r}; use sqlite:///PATH or postgresql://...")
