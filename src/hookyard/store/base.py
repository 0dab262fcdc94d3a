"""The store interface both backends implement, and what they share.

Writes of ingested requests go through ``submit``, which group-commits: one writer
takes every submission waiting, writes them in one transaction, and only then
resolves their futures. ``submit`` raises ``StoreSaturated`` when more than
``queue_size`` submissions are waiting, so ingest can answer 503 instead of queueing
without bound.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

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
from hookyard.store.rows import Row


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(dialect: str) -> list[Migration]:
    folder = resources.files("hookyard.store").joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(int(version), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def load_queries(dialect: str) -> dict[str, str]:
    """Named statements from ``sql/DIALECT/queries.sql`` (blocks start with ``-- name: X``)."""
    text = resources.files("hookyard.store").joinpath("sql", dialect, "queries.sql").read_text()
    queries: dict[str, str] = {}
    name = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("-- name:"):
            if name:
                queries[name] = "\n".join(lines).strip()
            name, lines = line.split(":", 1)[1].strip(), []
        elif not line.startswith("--"):
            lines.append(line)
    if name:
        queries[name] = "\n".join(lines).strip()
    return queries


def verdict_detail(submission: Submission) -> str:
    v = submission.verdict
    if (
        v.computed is None
        and v.received is None
        and v.signed_content is None
        and v.timestamp is None
    ):
        return "{}"
    return json.dumps(
        {
            "computed": v.computed,
            "received": v.received,
            "signed_content": v.signed_content,
            "timestamp": v.timestamp,
        }
    )


def initial_status(submission: Submission) -> str:
    if submission.verdict.status == "invalid":
        return "rejected"
    return "pending" if submission.destinations else "stored"


def event_row(submission: Submission, extra_duplicates: int = 0) -> tuple[Any, ...]:
    """Column values for ``events``, in the order of the insert statements."""
    r = submission.request
    return (
        r.id,
        r.source,
        r.received_us,
        r.remote_addr,
        r.method,
        r.path,
        r.query_string,
        _headers_blob(submission),
        r.body,
        r.body_sha256,
        r.body_size,
        r.content_type,
        submission.verdict.status,
        submission.verdict.reason,
        verdict_detail(submission),
        submission.verdict.secret_index,
        submission.provider_event_id,
        submission.event_type,
        initial_status(submission),
        extra_duplicates,
    )


def _headers_blob(submission: Submission) -> bytes:
    from hookyard.models import encode_headers

    return encode_headers(submission.request.headers)


def attempt_row(attempt: AttemptRecord) -> tuple[Any, ...]:
    return (
        attempt.dispatch_id,
        attempt.number,
        attempt.started_us,
        attempt.latency_ms,
        attempt.status_code,
        json.dumps([list(pair) for pair in attempt.response_headers]),
        attempt.response_excerpt,
        attempt.error_class,
        attempt.error_message,
        attempt.decision,
        attempt.next_attempt_us,
    )


def claimed_from_row(row: Row) -> ClaimedDispatch:
    from hookyard.models import decode_headers

    return ClaimedDispatch(
        dispatch_id=row[0],
        destination=row[1],
        attempts=row[2],
        replay_of=row[3],
        batch_id=row[4],
        event_id=row[5],
        source=row[6],
        event_type=row[7],
        provider_event_id=row[8],
        content_type=row[9],
        headers=decode_headers(bytes(row[10])),
        body=bytes(row[11]),
    )


def group_duplicates_in_batch(
    batch: Sequence[Submission],
) -> tuple[list[Submission], dict[str, str]]:
    """Collapse repeats of one dedup key inside a batch onto the first submission.

    Returns the submissions to write and, for each collapsed one, the id of the
    submission it repeats.
    """
    first_by_key: dict[tuple[str, str], Submission] = {}
    leaders: list[Submission] = []
    follower_of: dict[str, str] = {}
    for sub in batch:
        key = sub.dedup_key
        if key is None:
            leaders.append(sub)
            continue
        lookup = (sub.request.source, key)
        leader = first_by_key.get(lookup)
        if leader is None:
            first_by_key[lookup] = sub
            leaders.append(sub)
        else:
            follower_of[sub.request.id] = leader.request.id
    return leaders, follower_of


def resolve_followers(
    batch: Sequence[Submission], leader_results: dict[str, WriteResult], follower_of: dict[str, str]
) -> list[WriteResult]:
    """Results in batch order; a follower is a duplicate of whatever its leader's event is."""
    results = []
    for sub in batch:
        rid = sub.request.id
        if rid in follower_of:
            leader = leader_results[follower_of[rid]]
            results.append(WriteResult(id=rid, duplicate_of=leader.duplicate_of or leader.id))
        else:
            results.append(leader_results[rid])
    return results


def follower_counts(follower_of: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for leader in follower_of.values():
        counts[leader] = counts.get(leader, 0) + 1
    return counts


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


def replay_batch_row(batch: ReplayBatch) -> tuple[Any, ...]:
    """Column values for ``replay_batches``, in the order of ``insert_replay_batch``."""
    return (
        batch.id,
        batch.created_us,
        json.dumps(batch.selection),
        batch.target,
        batch.total,
        batch.status,
        batch.delivered,
        batch.failed,
        batch.skipped,
        batch.updated_us,
        batch.finished_us,
        json.dumps(batch.options),
        batch.error,
    )


def replay_batch_from_row(row: Row) -> ReplayBatch:
    return ReplayBatch(
        id=row[0],
        created_us=row[1],
        selection=json.loads(row[2]),
        target=row[3],
        total=row[4],
        status=row[5],
        delivered=row[6],
        failed=row[7],
        skipped=row[8],
        updated_us=row[9],
        finished_us=row[10],
        options=json.loads(row[11]),
        error=row[12],
    )


def replay_payload_from_row(row: Row) -> ReplayPayload:
    from hookyard.models import decode_headers

    return ReplayPayload(
        id=row[0],
        source=row[1],
        received_us=row[2],
        event_type=row[3],
        provider_event_id=row[4],
        content_type=row[5],
        headers=decode_headers(bytes(row[6])),
        body=bytes(row[7]),
    )


def replay_counts(results: Sequence[ReplayResult], missing: int = 0) -> tuple[int, int, int]:
    """(delivered, failed, skipped) of a group of results; a dry run counts as skipped."""
    delivered = sum(1 for r in results if r.status == "delivered")
    failed = sum(1 for r in results if r.status == "failed") + missing
    return delivered, failed, len(results) + missing - delivered - failed


def open_store(url: str, *, queue_size: int = 10_000) -> Store:
    if url.startswith("sqlite:///"):
        from hookyard.store.sqlite import SqliteStore

        return SqliteStore(url, queue_size=queue_size)
    if url.startswith(("postgresql://", "postgres://")):
        from hookyard.store.postgres import PostgresStore

        return PostgresStore(url, queue_size=queue_size)
    if url.startswith("memory://"):  # tests only: nothing is durable (store/memory.py)
        from hookyard.store.memory import MemoryStore

        return MemoryStore(url, queue_size=queue_size)
    raise ConfigError(f"unsupported database {url!r}; use sqlite:///PATH or postgresql://...")
