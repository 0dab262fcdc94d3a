"""One clock for the whole program: wall time in microseconds, as every stored time is.

Stored times (receipt, attempts, leases, batches) are integer microseconds since the
Unix epoch; durations are measured with the monotonic ``perf_counter``. Modules take
their time from here so a test can read one definition, and so no module grows its own
``time.time_ns() // 1000``.
"""

from __future__ import annotations

import time

US_PER_SECOND = 1_000_000


def now_us() -> int:
    """Wall-clock time now, in whole microseconds since the epoch."""
    return time.time_ns() // 1000


def us_from_seconds(seconds: float) -> int:
    """Unix seconds (as ``time.time()`` gives them) in whole microseconds."""
    return int(seconds * US_PER_SECOND)


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started``, a ``time.perf_counter()`` reading."""
    return (time.perf_counter() - started) * 1000.0
