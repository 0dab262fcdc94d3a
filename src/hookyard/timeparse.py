"""Points in time as people type them: ISO 8601, a Unix timestamp, or ``1h`` meaning 1h ago.

Only ASCII is read (``str.isdigit`` and ``int`` also take ``²`` and ``٣``), and a time
must fall from 1970 to the year 9999: what the stores hold as microseconds, so nothing
outside that range gets as far as a query.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from hookyard.durations import parse_duration

_AGE = re.compile(r"^[0-9][0-9.]*\s*(ms|s|m|h|d|w)$")
_UNIX = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,9})?$")
#: 9999-12-31T23:59:59.999999Z, the last moment ``datetime`` can show.
MAX_US = 253_402_300_799_999_999
_MAX_TEXT = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def parse_time_us(value: str, *, now: float | None = None) -> int:
    """Microseconds since the epoch; raises ValueError with a readable message."""
    text = value.strip()
    now = time.time() if now is None else now
    if len(text) > _MAX_TEXT or not text.isascii():
        raise ValueError(_expected(value))
    if _AGE.match(text):
        micros = int((now - parse_duration(text)) * 1_000_000)
        if micros < 0:
            raise ValueError(f"{text!r} ago is before 1970")
        return micros
    micros = int(float(text) * 1_000_000) if _UNIX.match(text) else _iso_us(text, value)
    if not 0 <= micros <= MAX_US:
        raise ValueError(f"expected a time from 1970 to 9999, got {value!r}")
    return micros


def _iso_us(text: str, value: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (moment - _EPOCH) // _MICROSECOND  # exact, where a float timestamp rounds
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        raise ValueError(_expected(value)) from None


def _expected(value: str) -> str:
    shown = repr(value) if len(value) <= 40 else repr(value[:37]) + "..."
    return f"expected an ISO time, a Unix timestamp or an age like '1h', got {shown}"


def iso_from_us(micros: int | None) -> str | None:
    if micros is None:
        return None
    return datetime.fromtimestamp(micros / 1e6, tz=UTC).isoformat().replace("+00:00", "Z")
