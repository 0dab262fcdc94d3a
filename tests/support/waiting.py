"""``eventually``: wait, bounded, for something another thread or process will make true.

One helper instead of a deadline loop in every test: it polls ``check`` until it returns
a truthy value and hands that value back, and on timeout fails with ``message`` and the
last value seen, so a failure says what was awaited and what there was instead. An
exception raised by ``check`` (an assertion that the server is still alive, say) ends
the wait at once. A check that answers ``None`` until it has its value types the result
as that value, not optional.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T | None],
    *,
    timeout: float = 15,
    interval: float = 0.05,
    message: str = "condition not met in time",
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (after {timeout:g} s; last: {value!r})")
        time.sleep(interval)


async def eventually_async(
    check: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 15,
    interval: float = 0.05,
    message: str = "condition not met in time",
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (after {timeout:g} s; last: {value!r})")
        await asyncio.sleep(interval)
