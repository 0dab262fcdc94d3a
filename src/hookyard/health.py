"""``/healthz`` (the process answers) and ``/readyz`` (it can do its work).

Ready means: the database answers a trivial read within ``PING_SECONDS``, the writer has
not gone ``STALL_SECONDS`` with writes waiting and none settled, and every supervised
loop (claims, wake-ups, sampling, the canary, …) is running and not failing. The
judgment (``judge``) is pure; ``check_readiness`` gathers what it judges.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hookyard.supervision import LoopState, Supervisor

PING_SECONDS = 2.0
STALL_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "not ready", "checks": self.checks}


def judge(
    database_error: str | None,
    stalled_seconds: float,
    loops: Iterable[LoopState],
    *,
    stall_limit: float = STALL_SECONDS,
) -> Readiness:
    loop_list = list(loops)
    bad_loops = [s for s in loop_list if not s.healthy and not s.stopped]
    stalled = stalled_seconds > stall_limit
    checks: dict[str, Any] = {
        "database": {"ok": database_error is None}
        | ({"error": database_error} if database_error else {}),
        "writer": {"ok": not stalled, "stalled_seconds": round(stalled_seconds, 3)},
        "loops": {"ok": not bad_loops, "loops": [s.describe() for s in loop_list]},
    }
    return Readiness(database_error is None and not stalled and not bad_loops, checks)


class Probed(Protocol):
    """What readiness reads of a store."""

    loops: Supervisor

    async def ping(self) -> None: ...

    def stalled_seconds(self) -> float: ...


async def check_readiness(
    store: Probed, supervisors: Iterable[Supervisor] = (), *, stall_limit: float = STALL_SECONDS
) -> Readiness:
    """The store's own loops count too (its wake-up listeners)."""
    error: str | None = None
    try:
        await asyncio.wait_for(store.ping(), timeout=PING_SECONDS)
    except TimeoutError:
        error = f"no answer within {PING_SECONDS:g} s"
    except Exception as exc:
        error = str(exc) or type(exc).__name__
    every = [store.loops, *supervisors]
    loops = [state for supervisor in every for state in supervisor.loops.values()]
    return judge(error, store.stalled_seconds(), loops, stall_limit=stall_limit)
