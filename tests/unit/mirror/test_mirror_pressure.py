"""The lane's CPU headroom check, over a PSI file this test writes (the kernel's format),
and once over the machine's own ``/proc/pressure/cpu`` where it has one."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hookyard.mirror.pressure import PSI_CPU, Headroom, waited_us


def psi(path: Path, total_us: int) -> None:
    path.write_text(
        f"some avg10=1.00 avg60=0.50 avg300=0.10 total={total_us}\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
    )


@contextlib.asynccontextmanager
async def busy(path: Path, share: float) -> AsyncIterator[None]:
    """Advance the file's counter as a machine would whose tasks wait ``share`` of the time."""

    start = time.monotonic()
    base = waited_us(path) or 0

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.005)
            psi(path, base + int((time.monotonic() - start) * 1e6 * share))

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_the_some_total_is_read(tmp_path: Path) -> None:
    path = tmp_path / "cpu"
    psi(path, 183185860)
    assert waited_us(path) == 183185860
    assert waited_us(tmp_path / "missing") is None
    path.write_text("full avg10=0.00 total=5\n")
    assert waited_us(path) is None
    path.write_text("some avg10=0.00\n")
    assert waited_us(path) is None


@pytest.mark.skipif(not PSI_CPU.exists(), reason="this kernel has no PSI")
def test_the_machines_own_pressure_is_readable() -> None:
    assert isinstance(waited_us(), int)
    assert Headroom(0.1, name="m").enabled
    assert not Headroom(1.0, name="m").enabled  # 1 turns the wait off


async def test_no_psi_means_no_wait(tmp_path: Path) -> None:
    headroom = Headroom(0.1, name="m", path=tmp_path / "missing")
    assert not headroom.enabled
    assert await headroom.wait(asyncio.Event())


async def test_the_lane_waits_while_the_cpus_are_busy_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "cpu"
    psi(path, 0)
    headroom = Headroom(0.1, name="m", path=path, probe_seconds=0.05, work_seconds=60)
    stop = asyncio.Event()
    async with busy(path, share=0.8):
        assert await headroom.measure(stop) == pytest.approx(0.8, abs=0.3)
        waiting = asyncio.create_task(headroom.wait(stop))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # still waiting for room
    assert await asyncio.wait_for(waiting, 2) is True  # the counter stopped: room again
    async with busy(path, share=0.8):
        assert await headroom.wait(stop)  # within its work period it does not measure


async def test_stop_ends_the_wait(tmp_path: Path) -> None:
    path = tmp_path / "cpu"
    psi(path, 0)
    headroom = Headroom(0.1, name="m", path=path, probe_seconds=0.05)
    stop = asyncio.Event()
    async with busy(path, share=0.9):
        waiting = asyncio.create_task(headroom.wait(stop))
        await asyncio.sleep(0.1)
        stop.set()
        assert await asyncio.wait_for(waiting, 2) is False


async def test_a_quiet_machine_lets_the_lane_work(tmp_path: Path) -> None:
    path = tmp_path / "cpu"
    psi(path, 0)
    headroom = Headroom(0.1, name="m", path=path, probe_seconds=0.05)
    async with busy(path, share=0.02):
        assert await asyncio.wait_for(headroom.wait(asyncio.Event()), 2) is True


async def test_working_periods_shorten_while_the_lane_makes_tasks_wait(tmp_path: Path) -> None:
    path = tmp_path / "cpu"
    psi(path, 0)
    headroom = Headroom(0.1, name="m", path=path, probe_seconds=0.02, work_seconds=0.2)
    stop = asyncio.Event()
    assert await headroom.wait(stop) and headroom.work_seconds == 0.2
    async with busy(path, share=0.8):  # tasks waited while the lane worked
        await asyncio.sleep(0.25)
    assert await headroom.wait(stop)  # the pause itself is quiet: it may go on
    assert headroom.work_seconds == pytest.approx(0.1)
    await asyncio.sleep(0.15)  # a quiet working period
    assert await headroom.wait(stop)
    assert headroom.work_seconds == pytest.approx(0.2)  # back up, never above the start
    await asyncio.sleep(0.25)
    assert await headroom.wait(stop) and headroom.work_seconds == pytest.approx(0.2)
