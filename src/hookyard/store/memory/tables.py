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

from hookyard.exceptions import EncryptionKeyError, StoreError, UnreadablePayload
from hookyard.filtering import status_code_range
from hookyard.ids import new_id
from hookyard.keyring import Keyring
from hookyard.mirror.records import MirrorCopyRecord, MirrorLaneState
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
    HeaderList,
    PurgeCounts,
    PurgeSelector,
    PurgeStep,
    Redaction,
    RedactionCandidate,
    ReplayBatch,
    ReplayResult,
    Submission,
    WriteResult,
)
from hookyard.store import filters
from hookyard.store.payloads import (
    ResealBatch,
    key_refusal,
    open_body,
    open_headers,
    reseal_rows,
    stored_form,
)
from hookyard.store.policy import (
    ACTIVE_DISPATCH_STATUSES,
    follower_counts,
    group_duplicates_in_batch,
    initial_status,
    purgeable,
    replay_counts,
    resolve_followers,
    selects_source,
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
    #: The body stored in place of the one received, once fields were redacted.
    redacted_body: bytes | None = None

    @property
    def id(self) -> str:
        return self.submission.request.id

    @property
    def body(self) -> bytes:
        """The stored body: as received, or as redacted."""
        return self.submission.request.body if self.redacted_body is None else self.redacted_body


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
    destination_state: dict[str, DestinationState] = field(default_factory=dict)
    #: audit entry id → entry
    audit_log: dict[str, AuditEntry] = field(default_factory=dict)
    #: (destination, key) → event id
    processed_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    replay_batches: dict[str, ReplayBatch] = field(default_factory=dict)
    #: (mirror, event id) → its logged copy
    mirror_log: dict[tuple[str, str], MirrorCopyRecord] = field(default_factory=dict)
    mirror_lanes: dict[str, MirrorLaneState] = field(default_factory=dict)
    #: mirrors whose lane is held by a store open on these tables
    mirror_holds: set[str] = field(default_factory=set)
    #: event id → its redaction; source → id up to which its events are redacted
    redactions: dict[str, Redaction] = field(default_factory=dict)
    redaction_marks: dict[str, str] = field(default_factory=dict)
    #: key id → check value (the ``encryption_keys`` table)
    encryption_keys: dict[str, bytes] = field(default_factory=dict)
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


def payload(event: EventRow, keyring: Keyring) -> tuple[HeaderList, bytes]:
    """The header list and body, read from their stored form as the SQL backends do
    (the clear request is kept too, for the summary's size and hash)."""
    stored = stored_form(event.submission)
    headers = open_headers(keyring, event.id, stored.key_id, stored.headers)
    if event.redacted_body is not None:  # memory holds nothing at rest: kept in clear
        return headers, event.redacted_body
    return headers, open_body(keyring, event.id, stored.key_id, stored.body)


def claimed(dispatch: DispatchRow, event: EventRow, keyring: Keyring) -> ClaimedDispatch:
    try:
        delivery, unreadable = replay_payload(event, keyring), None
    except UnreadablePayload as exc:
        delivery, unreadable = replay_payload(event, keyring, readable=False), str(exc)
    return ClaimedDispatch(
        dispatch_id=dispatch.id,
        destination=dispatch.destination,
        attempts=dispatch.attempts,
        replay_of=dispatch.replay_of,
        batch_id=dispatch.batch_id,
        event=delivery,
        unreadable=unreadable,
    )


def replay_payload(event: EventRow, keyring: Keyring, *, readable: bool = True) -> DeliveryEvent:
    sub = event.submission
    headers, body = payload(event, keyring) if readable else ((), b"")
    return DeliveryEvent(
        id=sub.request.id,
        source=sub.request.source,
        received_us=sub.request.received_us,
        event_type=sub.event_type,
        provider_event_id=sub.provider_event_id,
        content_type=sub.request.content_type,
        headers=headers,
        body=body,
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


def record(event: EventRow, dispatches: Sequence[DispatchRecord], keyring: Keyring) -> EventRecord:
    sub = event.submission
    stored = stored_form(sub)
    return EventRecord(
        summary=summary(event),
        remote_addr=sub.request.remote_addr,
        query_string=sub.request.query_string,
        headers=open_headers(keyring, event.id, stored.key_id, stored.headers),
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
        ({"paused"}, "paused"),
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
    keyring: Keyring,
) -> list[ClaimedDispatch]:
    """Pending ones first, then retrying ones (each in due order); never a paused or
    disabled destination's (run-out leases are made due by ``expire_leases``)."""
    held = {n for n, st in tables.destination_state.items() if st.state != "active"}
    wanted = set(destinations) - held
    candidates = [d for d in tables.dispatches.values() if d.destination in wanted]

    def due(status: str) -> list[DispatchRow]:
        rows = [
            d
            for d in candidates
            if d.status == status and d.next_attempt_us is not None and d.next_attempt_us <= now_us
        ]
        return limited(sorted(rows, key=_due_order), limit)

    chosen = limited(due("pending") + due("retrying"), limit)
    for d in chosen:
        d.status = "in_flight"
        d.lease_owner = worker_id
        d.lease_expires_us = now_us + lease_us
        d.updated_us = now_us
    return [
        claimed(d, tables.events[d.event_id], keyring)
        for d in chosen
        if d.event_id in tables.events
    ]


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


def set_destination_mode(
    tables: Tables, name: str, state: DestinationMode, *, reason: str, now_us: int
) -> int:
    current = tables.destination_state.get(name, DestinationState(name))
    tables.destination_state[name] = dataclasses.replace(
        current, state=state, reason=reason, updated_us=now_us
    )
    if state != "active":
        return hold_dispatches(tables, name, state, now_us=now_us)
    moved = [
        d
        for d in tables.dispatches.values()
        if d.destination == name and d.status in ("paused", "disabled")
    ]
    for d in moved:
        d.status = "pending" if d.attempts == 0 else "retrying"
        d.next_attempt_us, d.updated_us = now_us, now_us
    for event_id in {d.event_id for d in moved}:
        refresh_status(tables, event_id)
    return len(moved)


def hold_dispatches(tables: Tables, name: str, state: str, *, now_us: int) -> int:
    """Only while ``name`` still is ``state`` (a worker's look may be out of date)."""
    current = tables.destination_state.get(name)
    if current is None or current.state != state:
        return 0
    moved = [
        d
        for d in tables.dispatches.values()
        if d.destination == name and d.status in ("pending", "retrying")
    ]
    for d in moved:
        d.status, d.updated_us = state, now_us
    for event_id in {d.event_id for d in moved}:
        refresh_status(tables, event_id)
    return len(moved)


def note_destination_activity(
    tables: Tables, reports: Sequence[DestinationActivity], *, now_us: int
) -> None:
    """``note_destination_activity``: the newest success and error win."""
    for r in reports:
        st = tables.destination_state.get(r.name) or DestinationState(r.name, updated_us=now_us)
        if r.circuit is not None:
            st = dataclasses.replace(st, circuit=r.circuit, circuit_until_us=r.circuit_until_us)
        if r.last_success_us is not None and (st.last_success_us or -1) < r.last_success_us:
            st = dataclasses.replace(st, last_success_us=r.last_success_us)
        if r.last_error_us is not None and (st.last_error_us or -1) < r.last_error_us:
            st = dataclasses.replace(st, last_error_us=r.last_error_us, last_error=r.last_error)
        tables.destination_state[r.name] = st


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


# -- retention (the statements of sql/sqlite/retention.sql) ---------------------------------


def purge_candidates(
    tables: Tables, selector: PurgeSelector, *, after: str, limit: int
) -> list[EventRow]:
    """The next ``limit`` events in id order received before the cutoff from the sources."""
    found = [
        tables.events[i]
        for i in sorted(tables.events)
        if i > after
        and tables.events[i].submission.request.received_us < selector.cutoff_us
        and selects_source(selector, tables.events[i].submission.request.source)
    ]
    return found[: max(limit, 0)]


def purge_events(
    tables: Tables, selector: PurgeSelector, *, now_us: int, after: str, limit: int, dry_run: bool
) -> PurgeStep:
    candidates = purge_candidates(tables, selector, after=after, limit=limit)
    chosen = [
        e for e in candidates if purgeable(selector, [d.status for d in tables.dispatches_of(e.id)])
    ]
    dispatches = [d for e in chosen for d in tables.dispatches_of(e.id)]
    attempts = sum(len(tables.attempts.get(d.id, {})) for d in dispatches)
    handler_keys = [
        (d.destination, e.submission.provider_event_id or e.id)
        for e in chosen
        for d in tables.dispatches_of(e.id)
    ]
    handler_keys = [k for k in set(handler_keys) if k in tables.processed_keys]
    owned = [
        k
        for e in chosen
        if e.submission.provider_event_id is not None
        and (k := (e.submission.request.source, e.submission.provider_event_id))
        in tables.dedup_keys
        and tables.dedup_keys[k][0] == e.id
        and tables.dedup_keys[k][1] <= now_us
    ]
    owner_of = {e.id for e in chosen}
    handler_keys = [k for k in handler_keys if tables.processed_keys[k] in owner_of]
    if not dry_run:
        for d in dispatches:
            tables.attempts.pop(d.id, None)
            del tables.dispatches[d.id]
        gone = {e.id for e in chosen}
        for key in [k for k in tables.mirror_log if k[1] in gone]:
            del tables.mirror_log[key]
        for e in chosen:
            tables.event_dispatches.pop(e.id, None)
            tables.redactions.pop(e.id, None)
            del tables.events[e.id]
        for k in handler_keys:
            del tables.processed_keys[k]
        for key in owned:
            del tables.dedup_keys[key]
    counts = PurgeCounts(
        events=len(chosen),
        dispatches=len(dispatches),
        attempts=attempts,
        dedup_keys=len(owned),
        processed_keys=len(handler_keys),
    )
    last = candidates[-1].id if candidates else None
    return PurgeStep(counts=counts, last_id=last, examined=len(candidates))


def purge_dedup_keys(tables: Tables, *, now_us: int, limit: int, dry_run: bool) -> int:
    stale = [
        key
        for key, (event_id, expires_us) in tables.dedup_keys.items()
        if expires_us <= now_us and event_id not in tables.events
    ][: max(limit, 0)]
    if not dry_run:
        for key in stale:
            del tables.dedup_keys[key]
    return len(stale)


def purge_replay_batches(tables: Tables, *, before_us: int, limit: int, dry_run: bool) -> int:
    in_use = {d.batch_id for d in tables.dispatches.values() if d.batch_id is not None}
    done = [
        b.id
        for b in sorted(tables.replay_batches.values(), key=lambda b: b.id)
        if b.status != "running" and b.created_us < before_us and b.id not in in_use
    ][: max(limit, 0)]
    if not dry_run:
        for batch_id in done:
            del tables.replay_batches[batch_id]
    return len(done)


# -- redaction -------------------------------------------------------------------------------


def busy(tables: Tables, event_id: str) -> bool:
    return any(d.status in ACTIVE_DISPATCH_STATUSES for d in tables.dispatches_of(event_id))


def redaction_candidates(
    tables: Tables, source: str, *, cutoff_us: int, after: str, limit: int
) -> list[RedactionCandidate]:
    found = [
        RedactionCandidate(e.id, e.body, e.submission.request.content_type, busy(tables, e.id))
        for i in sorted(tables.events)
        if i > after
        and i not in tables.redactions
        and (e := tables.events[i]).submission.request.source == source
        and e.submission.request.received_us < cutoff_us
    ]
    return found[: max(limit, 0)]


def apply_redactions(
    tables: Tables, source: str, redactions: Sequence[BodyRedaction], *, mark: str | None
) -> int:
    done = skipped = 0
    for r in redactions:
        event = tables.events.get(r.event_id)
        if event is None:  # purged meanwhile
            continue
        if busy(tables, r.event_id):
            skipped += 1
            continue
        event.redacted_body = r.body
        tables.redactions[r.event_id] = r.redaction
        done += 1
    if mark is not None and not skipped:
        tables.redaction_marks[source] = mark
    return done


# -- encryption at rest (``sql/sqlite/encryption.sql``) --------------------------------------


def check_keys(tables: Tables, keyring: Keyring) -> None:
    refusal = key_refusal(keyring, tables.encryption_keys)
    if refusal is not None:
        raise EncryptionKeyError(refusal)
    key = keyring.current
    if key is not None:
        tables.encryption_keys.setdefault(key.id, key.check_value())


def key_usage(tables: Tables) -> dict[str | None, int]:
    usage: dict[str | None, int] = {}
    for event in tables.events.values():
        key_id = stored_form(event.submission).key_id
        usage[key_id] = usage.get(key_id, 0) + 1
    return usage


def reseal_events(
    tables: Tables, keyring: Keyring, *, after: str | None, limit: int
) -> ResealBatch:
    current = None if keyring.current is None else keyring.current.id
    rows: list[tuple[str, str | None, bytes, bytes]] = []
    for event_id in sorted(tables.events):
        if len(rows) >= limit:
            break
        if event_id <= (after or ""):
            continue
        stored = stored_form(tables.events[event_id].submission)
        if stored.key_id != current:
            rows.append((event_id, stored.key_id, stored.headers, stored.body))
    done, unreadable = reseal_rows(keyring, rows)
    for event_id, sealed in done:
        event = tables.events[event_id]
        event.submission = dataclasses.replace(event.submission, stored=sealed)
    return ResealBatch(len(done), tuple(unreadable), rows[-1][0] if rows else None)


def forget_keys(tables: Tables, key_ids: Sequence[str]) -> int:
    return sum(tables.encryption_keys.pop(key_id, None) is not None for key_id in key_ids)


def renew_leases(tables: Tables, worker_id: str, *, expires_us: int) -> int:
    held = [
        d
        for d in tables.dispatches.values()
        if d.lease_owner == worker_id and d.status == "in_flight"
    ]
    for d in held:
        d.lease_expires_us = expires_us
    return len(held)


def expire_leases(tables: Tables, *, now_us: int) -> int:
    """``lost_attempts`` and ``expire_leases``: a stopped worker's attempt is recorded
    (outcome unknown) and the dispatch is due again, its next attempt numbered after it."""
    lost = [
        d
        for d in tables.dispatches.values()
        if d.status == "in_flight"
        and d.lease_expires_us is not None
        and d.lease_expires_us < now_us
    ]
    for d in lost:
        number = d.attempts + 1
        if number in tables.attempts.get(d.id, {}):
            raise refused("attempts.dispatch_id, attempts.number")
    for d in lost:
        d.attempts += 1
        tables.attempts.setdefault(d.id, {})[d.attempts] = AttemptRecord(
            dispatch_id=d.id,
            number=d.attempts,
            started_us=now_us,
            latency_ms=0.0,
            status_code=None,
            response_headers=(),
            response_excerpt=b"",
            error_class="LeaseExpired",
            error_message=LOST_MESSAGE,
            decision="retry: lease expired, outcome unknown",
            next_attempt_us=now_us,
        )
        d.status, d.next_attempt_us, d.updated_us = "retrying", now_us, now_us
        d.lease_owner = d.lease_expires_us = None
    return len(lost)


LOST_MESSAGE = (
    "the worker that claimed it stopped before recording an outcome (it may have sent it)"
)
