"""Supervised loops: any exception is survived, logged once a streak, backed off."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hookyard.supervision import Backoff, Streak, Supervisor

QUICK = Backoff(initial=0.001, maximum=0.004)


def test_backoff_doubles_up_to_its_maximum() -> None:
    policy = Backoff(initial=0.1, maximum=1.0)
    assert [policy.delay(n) for n in range(6)] == [0.0, 0.1, 0.2, 0.4, 0.8, 1.0]
    assert policy.delay(10_000) == 1.0  # no overflow on a very long outage


async def test_a_loop_survives_every_kind_of_exception_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard")
    errors: list[Exception] = [
        ConnectionRefusedError(111, "refused"),
        RuntimeError("boom"),
        KeyError("k"),
        OSError("gone"),
    ]
    passes = 0
    done = asyncio.Event()

    async def one_pass() -> None:
        nonlocal passes
        passes += 1
        if errors:
            raise errors.pop(0)
        if passes >= 6:
            done.set()

    supervisor = Supervisor(backoff=QUICK, settle=0)
    task = supervisor.start("probe", one_pass, stopping=done.is_set)
    await asyncio.wait_for(task, timeout=5)
    assert passes == 6
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["probe failing", "probe recovered"]
    state = supervisor.loops["probe"]
    assert state.stopped and not state.running
    assert supervisor.unhealthy() == []  # stopped on purpose is not a fault


async def test_a_failing_loop_is_reported_unhealthy_while_it_fails() -> None:
    supervisor = Supervisor(backoff=QUICK)
    stop = asyncio.Event()

    async def one_pass() -> None:
        raise ConnectionRefusedError(111, "refused")

    task = supervisor.start("claims", one_pass, stopping=stop.is_set)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if supervisor.loops["claims"].streak.failures >= 3:
            break
    [state] = supervisor.unhealthy()
    described = state.describe()
    assert described["state"] == "failing"
    assert "ConnectionRefusedError" in str(described["error"])
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert supervisor.unhealthy() == []


async def test_a_cancelled_loop_ends_and_a_loop_that_died_is_unhealthy() -> None:
    supervisor = Supervisor(backoff=QUICK)

    async def forever() -> None:
        await asyncio.sleep(3600)

    task = supervisor.start("sleeper", forever)
    await asyncio.sleep(0)
    assert supervisor.loops["sleeper"].running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert supervisor.unhealthy() == []

    async def interrupted() -> None:
        raise KeyboardInterrupt  # not an Exception: not survived, but seen

    with pytest.raises(KeyboardInterrupt):
        await supervisor.run("dies", interrupted)
    assert [s.describe()["state"] for s in supervisor.unhealthy()] == ["dead"]


async def test_a_long_backoff_does_not_hold_up_a_shutdown() -> None:
    supervisor = Supervisor(backoff=Backoff(initial=60, maximum=60))
    stop = asyncio.Event()

    async def one_pass() -> None:
        raise OSError("down")

    task = supervisor.start("slow", one_pass, stopping=stop.is_set)
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=1)


def test_a_streak_logs_its_start_and_its_end_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hookyard")
    streak = Streak("recording attempts", logging.getLogger("hookyard.test"), settle=0)
    streak.succeeded()
    for _ in range(5):
        streak.failed(OSError("x"))
    streak.succeeded()
    streak.succeeded()
    assert [r.getMessage() for r in caplog.records] == [
        "recording attempts failing",
        "recording attempts recovered",
    ]
    assert caplog.records[1].fields["failures"] == 5  # type: ignore[attr-defined]


def test_a_flapping_failure_is_one_episode_until_it_has_settled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A nearly full disk fails one commit in three: one line when it starts, one when
    it has worked for ``settle`` seconds, not a pair per flip."""
    caplog.set_level(logging.INFO, logger="hookyard")
    streak = Streak("store writes", logging.getLogger("hookyard.test"), settle=0.2)
    for _ in range(10):
        streak.failed(OSError("database or disk is full"))
        streak.succeeded()
        assert streak.failures == 0  # each success is healthy again, for /readyz
    assert [r.getMessage() for r in caplog.records] == ["store writes failing"]
    time.sleep(0.25)
    streak.succeeded()
    streak.succeeded()
    assert [r.getMessage() for r in caplog.records] == [
        "store writes failing",
        "store writes recovered",
    ]
    assert caplog.records[1].fields["failures"] == 10  # type: ignore[attr-defined]
