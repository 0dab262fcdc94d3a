"""Whether the CPUs have room for the mirror, from Linux's pressure stall information.

``/proc/pressure/cpu`` counts (``some ... total=``, in microseconds) the time at least
one runnable task waited for a CPU. A lower CPU priority alone does not keep the lane
out of ingest's way: on a small machine every extra runnable task, even one at the idle
priority, delays ingest's wake-ups (measured in ``bench/mirror``). So the lane measures
the pressure over a short pause of its own, when only the rest of the machine runs, and
works only while that share is at most the mirror's ``max_cpu_pressure``; otherwise it
keeps pausing, falls behind, and skips what grows older than ``max_lag`` (counted).
While it works it measures again: when the share over a working period was above the
limit (the lane itself made tasks wait), the next period is half as long, and when it
was within, twice as long (``MIN_WORK_SECONDS`` to ``WORK_SECONDS``), so the lane takes
the CPU time that does not keep others waiting. Where PSI is missing (other systems,
older kernels) the lane never waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from hookyard.logs import log_event

log = logging.getLogger("hookyard.mirror")

PSI_CPU = Path("/proc/pressure/cpu")
#: How long a measuring pause lasts, and how long the lane works between two.
PROBE_SECONDS = 0.1
WORK_SECONDS = 1.0
MIN_WORK_SECONDS = 0.05


def waited_us(path: Path = PSI_CPU) -> int | None:
    """The ``some`` total of a PSI file, or None where it cannot be read."""
    try:
        first = path.read_text().split("\n", 1)[0]
    except OSError:
        return None
    kind, _, fields = first.partition(" ")
    if kind != "some":
        return None
    for field in fields.split():
        name, _, value = field.partition("=")
        if name == "total" and value.isdigit():
            return int(value)
    return None


class Headroom:
    """Decides, before each batch, whether the lane may work now (see the module)."""

    def __init__(
        self,
        limit: float,
        *,
        name: str,
        path: Path = PSI_CPU,
        clock: Callable[[], float] = time.monotonic,
        probe_seconds: float = PROBE_SECONDS,
        work_seconds: float = WORK_SECONDS,
    ) -> None:
        self.limit = limit
        self.name = name
        self.path = path
        self.clock = clock
        self.probe_seconds = probe_seconds
        self.max_work_seconds = self.work_seconds = work_seconds
        #: Off when the limit is 1 or the system has no PSI.
        self.enabled = limit < 1.0 and waited_us(path) is not None
        self._work_until = 0.0
        #: The counter and the clock when the current working period began.
        self._work_mark: tuple[int, float] | None = None
        self._waiting = False

    async def wait(self, stop: asyncio.Event) -> bool:
        """True when the lane may work; False when ``stop`` was set while it waited."""
        if not self.enabled or self.clock() < self._work_until:
            return True
        self._adapt(self._share_since(self._work_mark))
        while not stop.is_set():
            share = await self.measure(stop)
            if share is None or share <= self.limit:
                self._announce(False, share)
                self._work_mark = self._mark()
                self._work_until = self.clock() + self.work_seconds
                return True
            self._announce(True, share)
        return False

    def _mark(self) -> tuple[int, float] | None:
        """The counter and the clock now, to measure a share from."""
        counter = waited_us(self.path)
        return None if counter is None else (counter, self.clock())

    def _share_since(self, mark: tuple[int, float] | None) -> float | None:
        """The share of the time since ``mark`` during which some task waited for a CPU."""
        if mark is None:
            return None
        counter, since = mark
        now, elapsed = waited_us(self.path), self.clock() - since
        if now is None or elapsed <= 0:
            return None
        return max(0.0, (now - counter) / 1e6 / elapsed)

    def _adapt(self, worked: float | None) -> None:
        """Shorter working periods while working makes tasks wait, longer while not."""
        if worked is None:
            return
        if worked > self.limit:
            self.work_seconds = max(MIN_WORK_SECONDS, self.work_seconds / 2)
        else:
            self.work_seconds = min(self.max_work_seconds, self.work_seconds * 2)

    async def measure(self, stop: asyncio.Event) -> float | None:
        """The share of a pause during which some task waited for a CPU."""
        mark = self._mark()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self.probe_seconds)
        return self._share_since(mark)

    def _announce(self, waiting: bool, share: float | None) -> None:
        if waiting == self._waiting:
            return
        self._waiting = waiting
        message = "mirror lane waits: the CPUs are busy" if waiting else "mirror lane resumes"
        log_event(
            log,
            logging.INFO,
            message,
            mirror=self.name,
            cpu_pressure=None if share is None else round(share, 3),
            limit=self.limit,
        )
