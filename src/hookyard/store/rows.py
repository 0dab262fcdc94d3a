"""Every mapping between model objects and rows, one place for both dialects.

Rows read come back in the same column order from either driver (sqlite3 tuples and
asyncpg Records both index by position); rows written are tuples in the column order
of the insert statements in ``sql/*/queries.sql``.

Bodies and header lists pass through ``payloads`` both ways: each reader of one takes
the store's ``Keyring`` and opens what the row's ``key_id`` sealed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from hookyard.exceptions import UnreadablePayload
from hookyard.keyring import Keyring
from hookyard.models import (
    AttemptRecord,
    AuditEntry,
    BodyRedaction,
    ClaimedDispatch,
    DeliveryEvent,
    DestinationState,
    DispatchRecord,
    EventRecord,
    EventSummary,
    Redaction,
    ReplayBatch,
    ReplayResult,
    Submission,
)
from hookyard.store.payloads import open_body, open_headers, stored_form
from hookyard.store.policy import initial_status


class Row(Protocol):
    """A result row of either driver: sqlite3 tuples and asyncpg Records both index by position."""

    def __getitem__(self, index: int, /) -> Any: ...


def summary_from_row(row: Row) -> EventSummary:
    return EventSummary(
        id=row[0],
        source=row[1],
        received_us=row[2],
        method=row[3],
        path=row[4],
        body_size=row[5],
        body_sha256=row[6],
        content_type=row[7],
        verdict=row[8],
        verdict_reason=row[9],
        provider_event_id=row[10],
        event_type=row[11],
        status=row[12],
        duplicate_count=row[13],
    )


def record_from_row(
    row: Row,
    dispatches: Sequence[DispatchRecord],
    keyring: Keyring,
    redaction: Redaction | None = None,
) -> EventRecord:
    """A ``get_event`` row (its ``key_id`` last)."""
    return EventRecord(
        summary=summary_from_row(row),
        remote_addr=row[14],
        query_string=bytes(row[15]),
        headers=open_headers(keyring, row[0], row[20], bytes(row[16])),
        secret_index=row[17],
        last_duplicate_us=row[18],
        verdict_detail=json.loads(row[19]),
        dispatches=tuple(dispatches),
        redaction=redaction,
    )


def dispatch_from_row(row: Row, attempts: Sequence[AttemptRecord]) -> DispatchRecord:
    return DispatchRecord(
        id=row[0],
        event_id=row[1],
        destination=row[2],
        status=row[3],
        attempts=row[4],
        next_attempt_us=row[5],
        created_us=row[6],
        updated_us=row[7],
        replay_of=row[8],
        batch_id=row[9],
        attempt_log=tuple(attempts),
    )


def attempt_from_row(row: Row) -> AttemptRecord:
    return AttemptRecord(
        dispatch_id=row[0],
        number=row[1],
        started_us=row[2],
        latency_ms=row[3],
        status_code=row[4],
        response_headers=tuple((str(n), str(v)) for n, v in json.loads(row[5])),
        response_excerpt=bytes(row[6]),
        error_class=row[7],
        error_message=row[8],
        decision=row[9],
        next_attempt_us=row[10],
    )


def attach_attempts(dispatches: Iterable[Row], attempts: Iterable[Row]) -> list[DispatchRecord]:
    """Dispatch rows, in their order, each with its attempts in number order.

    ``attempts`` are the rows of ``attempts_of_dispatches`` for all of them: one query for
    a page of dispatches instead of one per dispatch.
    """
    by_dispatch: dict[str, list[AttemptRecord]] = {}
    for row in attempts:
        attempt = attempt_from_row(row)
        by_dispatch.setdefault(attempt.dispatch_id, []).append(attempt)
    for found in by_dispatch.values():
        found.sort(key=lambda a: a.number)
    return [dispatch_from_row(row, by_dispatch.get(row[0], ())) for row in dispatches]


def claimed_from_row(row: Row, keyring: Keyring) -> ClaimedDispatch:
    """A claimed row (its ``key_id`` last); one that does not decrypt comes back marked
    ``unreadable``, for the worker to report, instead of failing the whole claim."""
    unreadable = None
    try:
        headers = open_headers(keyring, row[5], row[13], bytes(row[10]))
        body = open_body(keyring, row[5], row[13], bytes(row[11]))
    except UnreadablePayload as exc:
        headers, body, unreadable = (), b"", str(exc)
    return ClaimedDispatch(
        dispatch_id=row[0],
        destination=row[1],
        attempts=row[2],
        replay_of=row[3],
        batch_id=row[4],
        event=DeliveryEvent(
            id=row[5],
            source=row[6],
            received_us=row[12],
            event_type=row[7],
            provider_event_id=row[8],
            content_type=row[9],
            headers=headers,
            body=body,
        ),
        unreadable=unreadable,
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


def replay_payload_from_row(row: Row, keyring: Keyring) -> DeliveryEvent:
    """A ``replay_payloads`` row (its ``key_id`` last)."""
    return DeliveryEvent(
        id=row[0],
        source=row[1],
        received_us=row[2],
        event_type=row[3],
        provider_event_id=row[4],
        content_type=row[5],
        headers=open_headers(keyring, row[0], row[8], bytes(row[6])),
        body=open_body(keyring, row[0], row[8], bytes(row[7])),
    )


def body_from_row(event_id: str, row: Row, keyring: Keyring) -> tuple[bytes, str]:
    """A ``get_body`` row: body, content type, ``key_id``."""
    return open_body(keyring, event_id, row[2], bytes(row[0])), row[1]


# -- rows written -----------------------------------------------------------------------


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


def event_row(submission: Submission, extra_duplicates: int = 0) -> tuple[Any, ...]:
    """Column values for ``events``, in the order of the insert statements (the
    stored form of headers and body, and its ``key_id`` last)."""
    r = submission.request
    stored = stored_form(submission)
    return (
        r.id,
        r.source,
        r.received_us,
        r.remote_addr,
        r.method,
        r.path,
        r.query_string,
        stored.headers,
        stored.body,
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
        stored.key_id,
    )


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


def replay_dispatch_row(result: ReplayResult, batch_id: str, now_us: int) -> tuple[Any, ...]:
    """Column values for ``dispatches``, in the order of ``insert_replay_dispatch``."""
    return (
        result.dispatch_id,
        result.event_id,
        result.destination,
        result.status,
        1,
        None,
        result.attempt.started_us,
        now_us,
        result.event_id,
        batch_id,
        result.attempt.status_code,
    )


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


# -- redaction ---------------------------------------------------------------------------


def redaction_from_row(row: Row | None) -> Redaction | None:
    if row is None:
        return None
    return Redaction(
        redacted_us=row[0],
        fields=tuple(json.loads(row[1])),
        replaced=row[2],
        body_sha256=row[3],
        body_size=row[4],
    )


def redaction_row(item: BodyRedaction) -> tuple[Any, ...]:
    """Column values for ``redactions``, in the order of its insert statements."""
    r = item.redaction
    return (
        item.event_id,
        r.redacted_us,
        json.dumps(list(r.fields)),
        r.replaced,
        r.body_sha256,
        r.body_size,
    )


# -- operator controls: destination state and the audit trail -----------------------------


def destination_state_from_row(row: Row) -> DestinationState:
    """A ``destination_states`` row."""
    return DestinationState(
        name=row[0],
        state=row[1],
        reason=row[2],
        updated_us=row[3],
        circuit=row[4],
        circuit_until_us=row[5],
        last_success_us=row[6],
        last_error_us=row[7],
        last_error=row[8],
    )


def backlog_from_rows(rows: Iterable[Row]) -> dict[str, dict[str, int]]:
    """``destination_backlog`` rows as destination → status → count."""
    backlog: dict[str, dict[str, int]] = {}
    for row in rows:
        backlog.setdefault(row[0], {})[row[1]] = int(row[2])
    return backlog


def outcomes_from_rows(rows: Iterable[Row]) -> dict[str, tuple[int, int]]:
    """``destination_outcomes`` rows as destination → (answered 2xx, every other)."""
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


def audit_row(entry: AuditEntry) -> tuple[Any, ...]:
    """Column values in the order of ``insert_audit``."""
    return (
        entry.id,
        entry.at_us,
        entry.actor,
        entry.action,
        entry.target,
        entry.count,
        json.dumps(entry.detail),
    )


def audit_from_row(row: Row) -> AuditEntry:
    return AuditEntry(
        id=row[0],
        at_us=row[1],
        actor=row[2],
        action=row[3],
        target=row[4],
        count=row[5],
        detail=json.loads(row[6]),
    )
