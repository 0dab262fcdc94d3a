"""Durations as people write them: ``300``, ``"90s"``, ``"5m"``, ``"24h"``, ``"3d"``.

ASCII digits only (``\\d`` would take ``٣``), finite, and at most :data:`MAX_SECONDS`:
every caller turns a duration into microseconds or subtracts it from now, and an
unbounded one overflows there instead of being refused here.
"""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d{1,15}(?:\.\d{1,9})?)\s*(ms|s|m|h|d|w)?\s*$", re.ASCII)
#: 100 years: longer than any window, retry or age anyone means.
MAX_SECONDS = 100 * 365 * 86400
_EXPECTED = "expected a duration like 300, '90s', '5m', '24h' or '3d'"


def parse_duration(value: object) -> float:
    """Seconds in ``value``; raises ValueError with a readable message."""
    if isinstance(value, bool):
        raise ValueError(f"{_EXPECTED}, got {value!r}")
    if isinstance(value, int | float):
        seconds = _number(value)
    elif isinstance(value, str) and (match := _PATTERN.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(f"{_EXPECTED}, got {_shown(value)}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"duration must be at most 100 years, got {_shown(value)}")
    return seconds


def _number(value: int | float) -> float:
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if math.isnan(seconds):
        raise ValueError(f"{_EXPECTED}, got {value!r}")
    if seconds < 0:
        raise ValueError(f"duration must not be negative, got {_shown(value)}")
    return seconds


def _shown(value: object) -> str:
    """``value`` for a message, cut short: an error line must stay one short line."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= 40 else text[:37] + "..."
