"""Long-running loops that survive what the world throws at them.

Every background loop (claiming, recording, wake-ups, alerts, sampling, the canary, and
later purge and mirroring) runs one *pass* at a time under ``Supervisor.run``: a pass
that raises anything but cancellation is logged, waits a backoff, and the loop goes on.
A database that refuses connections for a minute costs one log line when it starts
failing and one when it recovers, not a dead loop (a claim loop once died on
``ConnectionRefusedError``, an ``OSError`` nobody caught beside ``StoreError``) and not a
line per pass.

The supervisor also remembers each loop's state, which is what ``/readyz`` reports: a
loop that is not running, or has been failing, makes the process not ready.

``Backoff`` is pure policy; ``Streak`` is the log-once bookkeeping, usable on its own by
code that is not a loop (a delivery task whose store calls fail).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from hookyard.logs import log_event
from hookyard.metrics import count_loop_failure, set_loop_healthy

log = logging.getLogger("hookyard.supervision")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential delay after consecutive failures: ``initial``, doubled, at most ``maximum``."""

    initial: float = 0.05
    maximum: float = 5.0
    factor: float = 2.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.maximum, self.initial * self.factor ** min(failures - 1, 64))


#: A failing episode ends (and its "recovered" line is written) only after this long
#: without a failure: a disk that is nearly full fails one commit in three, and each
#: flip from failing to working must not be a pair of lines.
SETTLE_SECONDS = 2.0


@dataclass(slots=True)
class Streak:
    """Failures of one thing, as episodes: the first failure of an episode is logged,
    the rest only counted; the episode ends, with one "recovered" line, at the first
    success ``settle`` seconds or more after its last failure.

    ``failures`` counts the failures since the last success (what ``/readyz`` reads);
    ``total`` those of the whole episode (what the recovery line reports)."""

    name: str
    logger: logging.Logger = log
    settle: float = SETTLE_SECONDS
    failures: int = 0
    total: int = 0
    since: float | None = None
    last_failure: float = 0.0
    last_error: str | None = None

    def failed(self, exc: BaseException) -> int:
        """Count a failure (logging it if it starts an episode); returns ``failures``."""
        now = time.monotonic()
        self.failures += 1
        self.total += 1
        self.last_failure = now
        self.last_error = f"{type(exc).__name__}: {exc}"
        count_loop_failure(self.name)
        if self.failures == 1:
            set_loop_healthy(self.name, False)
        if self.since is None:
            self.since = now
            log_event(
                self.logger,
                logging.ERROR,
                f"{self.name} failing",
                loop=self.name,
                error=self.last_error,
            )
        return self.failures

    def succeeded(self) -> None:
        if self.failures:
            set_loop_healthy(self.name, True)
            self.failures = 0
        if self.since is not None and time.monotonic() - self.last_failure >= self.settle:
            log_event(
                self.logger,
                logging.WARNING,
                f"{self.name} recovered",
                loop=self.name,
                failures=self.total,
                seconds=round(self.last_failure - self.since, 3),
            )
            self.since = None
            self.total = 0

    def failing_for(self) -> float:
        return 0.0 if self.since is None or not self.failures else time.monotonic() - self.since


@dataclass(slots=True)
class LoopState:
    name: str
    streak: Streak
    running: bool = False
    #: Set when the loop ended because it was asked to (shutdown), not by surprise.
    stopped: bool = False

    @property
    def healthy(self) -> bool:
        return self.running and self.streak.failures == 0

    def describe(self) -> dict[str, object]:
        state = "running" if self.running else ("stopped" if self.stopped else "dead")
        if self.running and self.streak.failures:
            state = "failing"
        described: dict[str, object] = {"name": self.name, "state": state}
        if self.streak.failures:
            described["failures"] = self.streak.failures
            described["failing_seconds"] = round(self.streak.failing_for(), 3)
            described["error"] = self.streak.last_error
        return described


Pass = Callable[[], Awaitable[None]]


@dataclass
class Supervisor:
    """Runs loops pass by pass and keeps their states for ``/readyz``."""

    backoff: Backoff = field(default_factory=Backoff)
    loops: dict[str, LoopState] = field(default_factory=dict)
    settle: float = SETTLE_SECONDS

    def state(self, name: str, logger: logging.Logger = log) -> LoopState:
        found = self.loops.get(name)
        if found is None:
            found = self.loops[name] = LoopState(name, Streak(name, logger, self.settle))
        return found

    def start(
        self,
        name: str,
        one_pass: Pass,
        *,
        stopping: Callable[[], bool] = lambda: False,
        logger: logging.Logger = log,
        backoff: Backoff | None = None,
    ) -> asyncio.Task[None]:
        """``run`` as a task of its own, named ``hookyard-NAME``."""
        return asyncio.create_task(
            self.run(name, one_pass, stopping=stopping, logger=logger, backoff=backoff),
            name=f"hookyard-{name}",
        )

    async def run(
        self,
        name: str,
        one_pass: Pass,
        *,
        stopping: Callable[[], bool] = lambda: False,
        logger: logging.Logger = log,
        backoff: Backoff | None = None,
    ) -> None:
        """Await ``one_pass()`` until ``stopping()``; a pass that raises is logged (once a
        streak) and followed by a backoff pause. Cancellation ends the loop."""
        state = self.state(name, logger)
        state.running, state.stopped = True, False
        set_loop_healthy(name, state.streak.failures == 0)
        policy = backoff or self.backoff
        try:
            while not stopping():
                try:
                    await one_pass()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures = state.streak.failed(exc)
                    await _pause(policy.delay(failures), stopping)
                else:
                    state.streak.succeeded()
            state.stopped = True
        except asyncio.CancelledError:
            state.stopped = True
            raise
        finally:
            state.running = False
            if not state.stopped:
                set_loop_healthy(name, False)

    def ok(self, name: str) -> None:
        """A long pass (one that holds a connection for as long as it lasts) says it is
        working again, without waiting for the pass to end."""
        self.state(name).streak.succeeded()

    def unhealthy(self) -> list[LoopState]:
        """Loops not running (unless stopped on purpose) or failing right now."""
        return [s for s in self.loops.values() if not s.healthy and not s.stopped]

    def describe(self) -> list[dict[str, object]]:
        return [state.describe() for state in self.loops.values()]


async def _pause(seconds: float, stopping: Callable[[], bool]) -> None:
    """Sleep ``seconds``, in steps, so a shutdown is not held up by a long backoff."""
    deadline = time.monotonic() + seconds
    while not stopping():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.1))
