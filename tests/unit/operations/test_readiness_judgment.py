"""``/readyz``'s judgment: database, writer, loops."""

from __future__ import annotations

from hookyard.health import judge
from hookyard.supervision import LoopState, Streak


def loop(name: str, *, running: bool = True, stopped: bool = False, failures: int = 0) -> LoopState:
    state = LoopState(name, Streak(name), running=running, stopped=stopped)
    for _ in range(failures):
        state.streak.failed(OSError("refused"))
    return state


def test_ready_when_everything_answers() -> None:
    readiness = judge(None, 0.0, [loop("claim-loop")])
    assert readiness.ready
    assert readiness.body()["status"] == "ready"


def test_not_ready_when_the_database_does_not_answer() -> None:
    readiness = judge("PostgreSQL does not answer", 0.0, [loop("claim-loop")])
    assert not readiness.ready
    assert readiness.checks["database"] == {"ok": False, "error": "PostgreSQL does not answer"}


def test_not_ready_when_the_writer_has_stalled_past_the_limit() -> None:
    assert judge(None, 9.0, [], stall_limit=10).ready
    stalled = judge(None, 11.0, [], stall_limit=10)
    assert not stalled.ready
    assert stalled.checks["writer"] == {"ok": False, "stalled_seconds": 11.0}


def test_not_ready_when_a_loop_fails_or_died_but_not_when_it_was_stopped() -> None:
    failing = judge(None, 0.0, [loop("claim-loop", failures=2)])
    assert not failing.ready
    [described] = failing.checks["loops"]["loops"]
    assert described["state"] == "failing" and described["failures"] == 2
    dead = judge(None, 0.0, [loop("claim-loop", running=False)])
    assert not dead.ready
    assert dead.checks["loops"]["loops"][0]["state"] == "dead"
    assert judge(None, 0.0, [loop("claim-loop", running=False, stopped=True)]).ready
