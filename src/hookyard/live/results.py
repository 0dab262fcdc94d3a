"""A forwarded attempt as JSON, both ways: ``hookyard listen`` sends its results to the
server that streamed the events, which records them as replays of the originals (one
dispatch each, destination ``local:NAME``). Pure; every bad field is a ``ValueError``
naming it, which the API answers with a 400.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from hookyard.delivery.exchange import EXCERPT_BYTES
from hookyard.filtering import text_problem
from hookyard.ids import new_id
from hookyard.live.position import is_event_id
from hookyard.models import AttemptRecord, ReplayResult

LOCAL_PREFIX = "local:"
MAX_RESULTS = 1000
MAX_NAME = 200
MAX_HEADERS = 64
STATUSES = ("delivered", "failed")


def local_destination(name: str) -> str:
    """The destination label of a listener's dispatches: what marks them local."""
    return LOCAL_PREFIX + name


def name_problem(name: str) -> str | None:
    if not name:
        return "must not be empty"
    if len(name) > MAX_NAME:
        return f"must be at most {MAX_NAME} characters"
    return text_problem(name)


def result_json(result: ReplayResult) -> dict[str, Any]:
    a = result.attempt
    return {
        "event_id": result.event_id,
        "status": result.status,
        "started_us": a.started_us,
        "latency_ms": a.latency_ms,
        "status_code": a.status_code,
        "response_headers": [list(pair) for pair in a.response_headers],
        "response_excerpt": base64.b64encode(a.response_excerpt).decode(),
        "error_class": a.error_class,
        "error_message": a.error_message,
        "decision": a.decision,
    }


def result_from_json(value: object, listener: str) -> ReplayResult:
    """One result the client sent, as the row to store (a fresh dispatch id)."""
    if not isinstance(value, dict):
        raise ValueError("each result must be an object")
    event_id = _text(value, "event_id", required=True)
    assert event_id is not None
    if not is_event_id(event_id):
        raise ValueError("event_id: must be an event id")
    status = value.get("status")
    if status not in STATUSES:
        raise ValueError(f"status: must be one of {', '.join(STATUSES)}")
    dispatch_id = new_id()
    attempt = AttemptRecord(
        dispatch_id=dispatch_id,
        number=1,
        started_us=_int(value, "started_us", required=True) or 0,
        latency_ms=_number(value, "latency_ms"),
        status_code=_int(value, "status_code"),
        response_headers=_headers(value.get("response_headers", [])),
        response_excerpt=_excerpt(value.get("response_excerpt", "")),
        error_class=_text(value, "error_class"),
        error_message=_text(value, "error_message"),
        decision=_text(value, "decision") or status,
        next_attempt_us=None,
    )
    return ReplayResult(dispatch_id, event_id, local_destination(listener), status, attempt)


def _text(value: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    raw = value.get(key)
    if raw is None and not required:
        return None
    if not isinstance(raw, str):
        raise ValueError(f"{key}: must be a string")
    problem = text_problem(raw)
    if problem is not None:
        raise ValueError(f"{key}: {problem}")
    return raw


def _int(value: dict[str, Any], key: str, *, required: bool = False) -> int | None:
    raw = value.get(key)
    if raw is None and not required:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < 2**62:
        raise ValueError(f"{key}: must be a whole number")
    return raw


def _number(value: dict[str, Any], key: str) -> float:
    raw = value.get(key, 0)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw < 1e9:
        raise ValueError(f"{key}: must be a number of milliseconds")
    return float(raw)


def _headers(raw: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list) or len(raw) > MAX_HEADERS:
        raise ValueError(f"response_headers: must be a list of at most {MAX_HEADERS} pairs")
    pairs = []
    for pair in raw:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(p, str) and text_problem(p) is None for p in pair)
        ):
            raise ValueError("response_headers: each must be a [name, value] pair of text")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _excerpt(raw: object) -> bytes:
    if not isinstance(raw, str):
        raise ValueError("response_excerpt: must be base64 text")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("response_excerpt: must be base64 text") from None
    return data[:EXCERPT_BYTES]
