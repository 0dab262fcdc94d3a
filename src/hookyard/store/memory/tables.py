"""The in-memory store's tables and transactions: plain dicts, no I/O, no event loop.

Each function is one statement or transaction of the SQL backends over these dicts, with
the same conditions (``store/sql/sqlite/queries.sql``); each checks its constraints
before it changes anything, so a refused one leaves the tables as they were.
``memory.MemoryStore`` runs them in its group-commit queue.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hookyard.exceptions import StoreError
from hookyard.filtering import status_code_range
from hookyard.ids import new_id
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
from hookyard.store import filters
from hookyard.store.policy import (
    follower_counts,
    group_duplicates_in_batch,
    initial_status,
    replay_counts,
    resolve_followers,
)
from hookyard.store.rows import verdict_detail

T = TypeVar("T")


# -- tables ----------------------------------------------------------------------------------


@dataclass(slots=True)
class EventRow:
    submission: Submission
    status: str
    duplicate_count: int
    last_duplicate_us: int | None = None

    @property
    def id(self) -> str:
        return self.submission.request.id


@dataclass(slots=True)
class DispatchRow:
    id: str
    event_id: str
    destination: str
    status: str
    next_attempt_us: int | None
    created_us: int
    updated_us: int
    attempts: int = 0
    replay_of: str | None = None
    batch_id: str | None = None
    last_status_code: int | None = None
    lease_owner: str | None = None
    lease_expires_us: int | None = None


@dataclass(slots=True)
class Tables:
    """One store's data: a dict per table of the SQL schema."""

    events: dict[str, EventRow] = field(default_factory=dict)
    #: (source, provider id) → (owning event id, end of its window)
    dedup_keys: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    dispatches: dict[str, DispatchRow] = field(default_factory=dict)
    event_dispatches: dict[str, list[str]] = field(default_factory=dict)
    #: dispatch id → attempt number → attempt
    attempts: dict[str, dict[int, AttemptRecord]] = field(default_factory=dict)
    #: destination → (disabled, reason)
    destination_state: dict[str, tuple[bool, str]] = field(default_factory=dict)
    #: (destination, key) → event id
    processed_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    replay_batches: dict[str, ReplayBatch] = field(default_factory=dict)
    #: listener name → the id of the last event it forwarded (``hookyard listen``)
    listener_cursors: dict[str, str] = field(default_factory=dict)
    #: ``listen_for_dispatches`` callbacks of every store open on these tables
    listeners: list[Callable[[], None]] = field(default_factory=list)
    stores: int = 0  # stores open on these tables

    def dispatches_of(self, event_id: str) -> list[DispatchRow]:
        return [self.dispatches[i] for i in self.event_dispatches.get(event_id, ())]

    def add_dispatch(self, dispatch: DispatchRow) -> None:
        self.dispatches[dispatch.id] = dispatch
        self.event_dispatches.setdefault(dispatch.event_id, []).append(dispatch.id)


def refused(constraint: str) -> StoreError:
    return StoreError(f"store write failed: UNIQUE constraint failed: {constraint}")


def limited(rows: list[T], limit: int) -> list[T]:
    """SQLite's ``LIMIT``: a negative one is no limit."""
    return rows if limit < 0 else rows[:limit]


def json_copy(value: Any) -> Any:
    """What a JSON column gives back: fails, and copies, as storing it would."""
    return json.loads(json.dumps(value))


# -- what the real backends return, built from the tables -----------------------------------


def claimed(dispatch: DispatchRow, event: EventRow) -> ClaimedDispatch:
    return ClaimedDispatch(
        dispatch_id=dispatch.id,
        destination=dispatch.destination,
        attempts=dispatch.attempts,
        replay_of=dispatch.replay_of,
        batch_id=dispatch.batch_id,
        event=replay_payload(event),
    )


def replay_payload(event: EventRow) -> DeliveryEvent:
    sub = event.submission
    return DeliveryEvent(
        id=sub.request.id,
        source=sub.request.source,
        received_us=sub.request.received_us,
        event_type=sub.event_type,
        provider_event_id=sub.provider_event_id,
        content_type=sub.request.content_type,
        headers=sub.request.headers,
        body=sub.request.body,
    )


def summary(event: EventRow) -> EventSummary:
    sub = event.submission
    r = sub.request
    return EventSummary(
        id=r.id,
        source=r.source,
        received_us=r.received_us,
        method=r.method,
        path=r.path,
        body_size=r.body_size,
        body_sha256=r.body_sha256,
        content_type=r.content_type,
        verdict=sub.verdict.status,
        verdict_reason=sub.verdict.reason,
        provider_event_id=sub.provider_event_id,
        event_type=sub.event_type,
        status=event.status,
        duplicate_count=event.duplicate_count,
    )


def record(event: EventRow, dispatches: Sequence[DispatchRecord]) -> EventRecord:
    sub = event.submission
    return EventRecord(
        summary=summary(event),
        remote_addr=sub.request.remote_addr,
        query_string=sub.request.query_string,
        headers=sub.request.headers,
        secret_index=sub.verdict.secret_index,
        last_duplicate_us=event.last_duplicate_us,
        verdict_detail=json.loads(verdict_detail(sub)),
        dispatches=tuple(dispatches),
    )


def dispatch_record(tables: Tables, d: DispatchRow) -> DispatchRecord:
    attempts = tables.attempts.get(d.id, {})
    return DispatchRecord(
        id=d.id,
        event_id=d.event_id,
        destination=d.destination,
        status=d.status,
        attempts=d.attempts,
        next_attempt_us=d.next_attempt_us,
        created_us=d.created_us,
        updated_us=d.updated_us,
        replay_of=d.replay_of,
        batch_id=d.batch_id,
        attempt_log=tuple(attempts[n] for n in sorted(attempts)),
    )


def stored_attempt(attempt: AttemptRecord) -> AttemptRecord:
    """The attempt as read back from a row: headers through JSON, latency a float."""
    headers = json_copy([list(pair) for pair in attempt.response_headers])
    return dataclasses.replace(
        attempt,
        latency_ms=float(attempt.latency_ms),
        response_headers=tuple((str(n), str(v)) for n, v in headers),
        response_excerpt=bytes(attempt.response_excerpt),
    )


# -- transactions: each checks before it changes anything -----------------------------------


def write_submissions(tables: Tables, batch: Sequence[Submission]) -> list[WriteResult]:
    """A group commit, deduplicating as ``sqlite.write_submissions`` does."""
    leaders, follower_of = group_duplicates_in_batch(batch)
    extra = follower_counts(follower_of)
    keys: dict[tuple[str, str], tuple[str, int]] = {}
    repeats: list[tuple[int, int, str]] = []
    events: list[EventRow] = []
    results: dict[str, WriteResult] = {}
    for sub in leaders:
        req = sub.request
        key = sub.dedup_key
        if key is not None:
            owner = tables.dedup_keys.get((req.source, key))
            if owner is not None and owner[1] > req.received_us:
                repeats.append((1 + extra.get(req.id, 0), req.received_us, owner[0]))
                results[req.id] = WriteResult(id=req.id, duplicate_of=owner[0])
                continue
            keys[(req.source, key)] = (req.id, req.received_us + sub.dedup_window_us)
        events.append(EventRow(sub, initial_status(sub), extra.get(req.id, 0)))
        results[req.id] = WriteResult(id=req.id)
    new_ids = [e.id for e in events]
    if len(set(new_ids)) < len(new_ids) or any(i in tables.events for i in new_ids):
        raise refused("events.id")
    tables.dedup_keys.update(keys)
    for event in events:
        tables.events[event.id] = event
        sub = event.submission
        if sub.verdict.status != "invalid":
            t = sub.request.received_us
            for destination in sub.destinations:
                tables.add_dispatch(
                    DispatchRow(new_id(), event.id, destination, "pending", t, t, t)
                )
    for count, received_us, owner_id in repeats:
        original = tables.events.get(owner_id)
        if original is not None:
            original.duplicate_count += count
            original.last_duplicate_us = received_us
    return resolve_followers(batch, results, follower_of)


def event_status(dispatch_statuses: Iterable[str]) -> str:
    """An event's status from its dispatches' (the ``refresh_event_status`` statement)."""
    present = set(dispatch_statuses)
    for statuses, status in (
        ({"dead"}, "dead"),
        ({"retrying", "in_flight"}, "retrying"),
        ({"disabled"}, "disabled"),
        ({"pending"}, "pending"),
        ({"delivered"}, "delivered"),
    ):
        if present & statuses:
            return status
    return "dry_run"


def refresh_status(tables: Tables, event_id: str) -> None:
    event = tables.events.get(event_id)
    if event is not None:
        event.status = event_status(d.status for d in tables.dispatches_of(event_id))


def give_back(d: DispatchRow, *, next_attempt_us: int, now_us: int) -> None:
    """Back in line without spending an attempt (``postpone``, ``release_leases``)."""
    d.status = "pending" if d.attempts == 0 else "retrying"
    d.lease_owner = d.lease_expires_us = None
    d.next_attempt_us = next_attempt_us
    d.updated_us = now_us


def _due_order(d: DispatchRow) -> tuple[bool, int, str]:
    return (d.next_attempt_us is not None, d.next_attempt_us or 0, d.id)


def claim_due(
    tables: Tables,
    worker_id: str,
    *,
    now_us: int,
    lease_us: int,
    limit: int,
    destinations: Sequence[str],
) -> list[ClaimedDispatch]:
    """Pending ones first, then retrying ones (each in due order), then expired leases."""
    wanted = set(destinations)
    candidates = [d for d in tables.dispatches.values() if d.destination in wanted]

    def due(status: str) -> list[DispatchRow]:
        rows = [
            d
            for d in candidates
            if d.status == status and d.next_attempt_us is not None and d.next_attempt_us <= now_us
        ]
        return limited(sorted(rows, key=_due_order), limit)

    expired = [
        d
        for d in candidates
        if d.status == "in_flight"
        and d.lease_expires_us is not None
        and d.lease_expires_us < now_us
    ]
    chosen = limited(
        due("pending") + due("retrying") + limited(sorted(expired, key=_due_order), limit), limit
    )
    for d in chosen:
        d.status = "in_flight"
        d.lease_owner = worker_id
        d.lease_expires_us = now_us + lease_us
        d.updated_us = now_us
    return [claimed(d, tables.events[d.event_id]) for d in chosen if d.event_id in tables.events]


def record_attempt(
    tables: Tables,
    worker_id: str,
    attempt: AttemptRecord,
    *,
    status: str,
    processed_key: tuple[str, str, str] | None,
) -> bool:
    d = tables.dispatches.get(attempt.dispatch_id)
    if d is None or d.lease_owner != worker_id:
        return False  # the lease was lost: another worker holds it, or it was given back
    if attempt.number in tables.attempts.get(d.id, {}):
        raise refused("attempts.dispatch_id, attempts.number")
    stored = stored_attempt(attempt)
    d.status = status
    d.attempts += 1
    d.next_attempt_us = attempt.next_attempt_us
    d.last_status_code = attempt.status_code
    d.lease_owner = d.lease_expires_us = None
    d.updated_us = attempt.started_us
    tables.attempts.setdefault(d.id, {})[attempt.number] = stored
    if processed_key is not None:
        tables.processed_keys.setdefault(processed_key[:2], processed_key[2])
    refresh_status(tables, d.event_id)
    return True


def set_destination_disabled(
    tables: Tables, name: str, disabled: bool, *, reason: str, now_us: int
) -> None:
    tables.destination_state[name] = (disabled, reason)
    mine = [d for d in tables.dispatches.values() if d.destination == name]
    if disabled:
        for d in mine:
            if d.status in ("pending", "retrying"):
                d.status, d.updated_us = "disabled", now_us
        status = "disabled"
    else:
        for d in mine:
            if d.status == "disabled":
                d.status, d.next_attempt_us, d.updated_us = "pending", now_us, now_us
        status = "pending"
    for event_id in {d.event_id for d in mine if d.status == status}:
        refresh_status(tables, event_id)


def retry_dead(tables: Tables, dispatch_ids: Sequence[str], *, now_us: int) -> int:
    moved = [
        d
        for i in set(dispatch_ids)
        if (d := tables.dispatches.get(i)) is not None and d.status == "dead"
    ]
    for d in moved:
        d.status, d.next_attempt_us, d.updated_us = "retrying", now_us, now_us
    for event_id in {d.event_id for d in moved}:
        refresh_status(tables, event_id)
    return len(moved)


def record_replay_results(
    tables: Tables,
    batch_id: str,
    results: Sequence[ReplayResult],
    *,
    missing: int,
    now_us: int,
) -> None:
    """Dispatch rows linked to the originals, their one attempt each, handler keys, counters."""
    ids = [r.dispatch_id for r in results]
    if len(set(ids)) < len(ids) or any(i in tables.dispatches for i in ids):
        raise refused("dispatches.id")
    attempts = [stored_attempt(r.attempt) for r in results]
    numbered = [(a.dispatch_id, a.number) for a in attempts]
    if len(set(numbered)) < len(numbered) or any(
        n in tables.attempts.get(i, {}) for i, n in numbered
    ):
        raise refused("attempts.dispatch_id, attempts.number")
    for r in results:
        tables.add_dispatch(
            DispatchRow(
                id=r.dispatch_id,
                event_id=r.event_id,
                destination=r.destination,
                status=r.status,
                next_attempt_us=None,
                created_us=r.attempt.started_us,
                updated_us=now_us,
                attempts=1,
                replay_of=r.event_id,
                batch_id=batch_id,
                last_status_code=r.attempt.status_code,
            )
        )
    for attempt in attempts:
        tables.attempts.setdefault(attempt.dispatch_id, {})[attempt.number] = attempt
    for r in results:
        if r.processed_key is not None:
            tables.processed_keys.setdefault(r.processed_key[:2], r.processed_key[2])
    batch = tables.replay_batches.get(batch_id)
    if batch is not None:
        delivered, failed, skipped = replay_counts(results, missing)
        tables.replay_batches[batch_id] = dataclasses.replace(
            batch,
            delivered=batch.delivered + delivered,
            failed=batch.failed + failed,
            skipped=batch.skipped + skipped,
            updated_us=now_us,
        )


def matcher(query: EventFilter, tables: Tables) -> Callable[[EventRow], bool]:
    """``filters.where_clause`` as a predicate: the same fields, bounds and truthiness."""
    checks: list[Callable[[EventRow], bool]] = []
    if query.source:
        checks.append(lambda e: e.submission.request.source == query.source)
    if query.event_type:
        wanted = query.event_type
        if filters.is_glob(wanted):
            glob = filters.glob_matcher(wanted)  # case-sensitive, like SQLite's GLOB
            checks.append(
                lambda e: e.submission.event_type is not None and glob(e.submission.event_type)
            )
        else:
            checks.append(lambda e: e.submission.event_type == wanted)
    if query.verdict:
        checks.append(lambda e: e.submission.verdict.status == query.verdict)
    if query.status:
        checks.append(lambda e: e.status == query.status)
    if query.since_us is not None:
        since = query.since_us
        low_id = filters.lowest_id_at(since // 1000 - filters.ID_TIME_MARGIN_MS)
        checks.append(lambda e: e.submission.request.received_us >= since and e.id >= low_id)
    if query.until_us is not None:
        until = query.until_us
        high_id = filters.lowest_id_at(until // 1000 + filters.ID_TIME_MARGIN_MS + 1)
        checks.append(lambda e: e.submission.request.received_us < until and e.id < high_id)
    if query.cursor:
        cursor = query.cursor
        checks.append(lambda e: e.id < cursor)
    if query.destination or query.response_status:
        codes = status_code_range(query.response_status) if query.response_status else None

        def one_dispatch(d: DispatchRow) -> bool:  # both on the same dispatch
            if query.destination and d.destination != query.destination:
                return False
            code = d.last_status_code
            return codes is None or (code is not None and codes[0] <= code <= codes[1])

        checks.append(lambda e: any(one_dispatch(d) for d in tables.dispatches_of(e.id)))
    return lambda e: all(check(e) for check in checks)
