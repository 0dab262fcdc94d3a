"""Model objects to JSON-ready dicts; shared by the API and the CLI's ``--json``.

Credentials never leave through here: request and response headers and the query
string pass through :mod:`hookyard.inspect.masking`, the one masking policy. The
exact stored body is served by ``GET /api/events/{id}/body``, never from here.
"""

from __future__ import annotations

import base64
from typing import Any

from hookyard.inspect.masking import mask_headers, mask_query, mask_text_headers
from hookyard.models import AttemptRecord, DispatchRecord, EventRecord, EventSummary, Redaction
from hookyard.timeparse import iso_from_us


def summary_json(s: EventSummary) -> dict[str, Any]:
    return {
        "id": s.id,
        "source": s.source,
        "received_at": iso_from_us(s.received_us),
        "received_us": s.received_us,
        "method": s.method,
        "path": s.path,
        "content_type": s.content_type,
        "body_size": s.body_size,
        "body_sha256": s.body_sha256,
        "verdict": s.verdict,
        "verdict_reason": s.verdict_reason,
        "provider_event_id": s.provider_event_id,
        "event_type": s.event_type,
        "status": s.status,
        "duplicate_count": s.duplicate_count,
    }


def attempt_json(a: AttemptRecord) -> dict[str, Any]:
    return {
        "number": a.number,
        "started_at": iso_from_us(a.started_us),
        "latency_ms": a.latency_ms,
        "status_code": a.status_code,
        "response_headers": [list(pair) for pair in mask_text_headers(a.response_headers)],
        "response_excerpt": a.response_excerpt.decode("utf-8", "replace"),
        "error_class": a.error_class,
        "error_message": a.error_message,
        "decision": a.decision,
        "next_attempt_at": iso_from_us(a.next_attempt_us),
    }


def dispatch_json(d: DispatchRecord) -> dict[str, Any]:
    return {
        "id": d.id,
        "destination": d.destination,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": iso_from_us(d.next_attempt_us),
        "created_at": iso_from_us(d.created_us),
        "updated_at": iso_from_us(d.updated_us),
        "replay_of": d.replay_of,
        "batch_id": d.batch_id,
        "attempt_log": [attempt_json(a) for a in d.attempt_log],
    }


def record_json(r: EventRecord) -> dict[str, Any]:
    data = summary_json(r.summary)
    data.update(
        {
            "remote_addr": r.remote_addr,
            "query_string": mask_query(r.query_string),
            "headers": [list(pair) for pair in mask_headers(r.headers)],
            "verdict_detail": {"secret_index": r.secret_index, **r.verdict_detail},
            "last_duplicate_at": iso_from_us(r.last_duplicate_us),
            "dispatches": [dispatch_json(d) for d in r.dispatches],
            # Fields of the stored body replaced (redact_fields); body_sha256 above is
            # still that of the bytes that arrived, this one's of the bytes stored.
            "redacted": None if r.redaction is None else redaction_json(r.redaction),
        }
    )
    return data


def redaction_json(r: Redaction) -> dict[str, Any]:
    return {
        "at": iso_from_us(r.redacted_us),
        "fields": list(r.fields),
        "replaced": r.replaced,
        "stored_body_sha256": r.body_sha256,
        "stored_body_size": r.body_size,
    }


def body_preview(body: bytes) -> dict[str, Any]:
    try:
        return {"encoding": "utf-8", "text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"encoding": "base64", "text": base64.b64encode(body).decode()}
