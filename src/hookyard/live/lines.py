"""What ``listen`` and ``tail`` print for an event: one line, or one JSON object (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hookyard.models import ReplayResult

EXCERPT_SHOWN = 120


def clock(received_us: int) -> str:
    return datetime.fromtimestamp(received_us / 1e6, tz=UTC).strftime("%H:%M:%S")


def event_columns(event: dict[str, Any]) -> list[str]:
    return [
        clock(int(event.get("received_us") or 0)),
        str(event.get("source") or "-"),
        str(event.get("event_type") or "-"),
        str(event.get("id") or "-"),
    ]


def tail_line(event: dict[str, Any]) -> str:
    columns = event_columns(event)
    columns += [str(event.get("verdict") or "-"), str(event.get("status") or "-")]
    return "  ".join(columns)


def outcome(result: ReplayResult) -> str:
    a = result.attempt
    if a.status_code is not None:
        text = f"{a.status_code}"
    else:
        text = f"{a.error_class}: {a.error_message}"
    return f"{text}  {a.latency_ms:.0f}ms"


def forward_line(event: dict[str, Any], url: str, result: ReplayResult) -> str:
    line = "  ".join([*event_columns(event), "->", url, outcome(result)])
    if result.status != "delivered" and result.attempt.response_excerpt:
        excerpt = result.attempt.response_excerpt.decode("utf-8", "replace")
        excerpt = " ".join(excerpt.split())[:EXCERPT_SHOWN]
        line += f"  {excerpt!r}"
    return line


def forward_json(event: dict[str, Any], url: str, result: ReplayResult) -> str:
    a = result.attempt
    return json.dumps(
        {
            "id": event.get("id"),
            "source": event.get("source"),
            "event_type": event.get("event_type"),
            "received_at": event.get("received_at"),
            "forwarded_to": url,
            "outcome": result.status,
            "status_code": a.status_code,
            "latency_ms": a.latency_ms,
            "error": None if a.error_class is None else f"{a.error_class}: {a.error_message}",
            "response_excerpt": a.response_excerpt.decode("utf-8", "replace")
            if result.status != "delivered"
            else None,
        }
    )
