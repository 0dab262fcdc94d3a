from __future__ import annotations

import pytest

from hookyard.delivery.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_one_token_per_interval() -> None:
    clock = Clock()
    bucket = TokenBucket(5, clock=clock)
    assert [bucket.wait_time() for _ in range(5)] == [0.0] * 5
    assert bucket.wait_time() == pytest.approx(0.2)
    clock.now += 0.2
    assert bucket.wait_time() == 0.0
    assert bucket.wait_time() == pytest.approx(0.2)


def test_slow_rates_allow_one_at_a_time() -> None:
    clock = Clock()
    bucket = TokenBucket(0.5, clock=clock)
    assert bucket.wait_time() == 0.0
    assert bucket.wait_time() == pytest.approx(2.0)
    clock.now += 10  # idle time does not bank more than the burst
    assert bucket.wait_time() == 0.0
    assert bucket.wait_time() > 0


async def test_acquire_waits_for_real() -> None:
    import time

    bucket = TokenBucket(20, burst=1)
    started = time.monotonic()
    for _ in range(3):
        await bucket.acquire()
    assert time.monotonic() - started >= 0.09  # two waits of 50 ms
