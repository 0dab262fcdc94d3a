"""Sortable ids: ULIDs (48-bit millisecond time + 80 random bits, Crockford base32).

Ids made by one process are strictly increasing, even within one millisecond, so
``ORDER BY id`` is receipt order and cursor pagination needs no second column.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_MAX = (1 << 80) - 1


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits → 2 characters


def _encode(value: int) -> str:
    """26 characters: the top 2 bits of 130 are always zero (128-bit value)."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in range(120, -10, -10)])


class UlidFactory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new(self, now_ms: int | None = None) -> str:
        ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        with self._lock:
            if ms <= self._last_ms and self._last_random < _RANDOM_MAX:
                ms = self._last_ms
                rnd = self._last_random + 1
            else:
                rnd = int.from_bytes(os.urandom(10), "big") >> 1  # leave room to increment
            self._last_ms, self._last_random = ms, rnd
        return _encode((ms << 80) | rnd)


_factory = UlidFactory()


def new_id() -> str:
    return _factory.new()


def ulid_time_ms(ulid: str) -> int:
    value = 0
    for char in ulid[:10].upper():
        value = (value << 5) | _ALPHABET.index(char)
    return value
