"""The tests' wait helper: returns the first truthy value, fails with what it last saw."""

from __future__ import annotations

import itertools

import pytest

from support.waiting import eventually, eventually_async


def test_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert eventually(lambda: next(counter) >= 3 and "ready", interval=0) == "ready"


def test_fails_with_the_message_and_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"sink never answered .*last: \[\]"):
        eventually(list, timeout=0.05, interval=0.01, message="sink never answered")


def test_an_exception_from_the_check_ends_the_wait_at_once() -> None:
    def dead() -> bool:
        raise AssertionError("server exited")

    with pytest.raises(AssertionError, match="server exited"):
        eventually(dead, timeout=60)


async def test_the_async_form_awaits_the_check() -> None:
    seen: list[int] = []

    async def grows() -> int:
        seen.append(1)
        return len(seen) if len(seen) >= 2 else 0

    assert await eventually_async(grows, interval=0) == 2
    with pytest.raises(AssertionError, match="never"):
        await eventually_async(_zero, timeout=0.05, interval=0.01, message="never")


async def _zero() -> int:
    return 0
