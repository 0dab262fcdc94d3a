"""Points in time as people type them: ISO 8601, a Unix timestamp, or ``1h`` meaning 1h ago."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from hookyard.durations import parse_duration


def parse_time_us(value: str, *, now: float | None = None) -> int:
    """Microseconds since the epoch; raises ValueError with a readable message."""
    text = value.strip()
    now = time.time() if now is None else now
    if text and text[-1] in "smhdw" and text[0].isdigit():
        return int((now - parse_duration(text)) * 1_000_000)
    if text.replace(".", "", 1).isdigit():
        return int(float(text) * 1_000_000)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"expected an ISO time, a Unix timestamp or an age like '1h', got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def iso_from_us(micros: int | None) -> str | None:
    if micros is None:
        return None
    return datetime.fromtimestamp(micros / 1e6, tz=UTC).isoformat().replace("+00:00", "Z")
