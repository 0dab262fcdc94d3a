"""Python handler destinations: ``handler = "package.module:function"``.

A handler receives one ``Event`` and may be a plain function (run in a worker
thread, so it cannot stall the event loop) or an ``async def`` (awaited on the
loop). Returning normally means delivered. Raising means a failed attempt under the
destination's retry policy; raise ``RetryLater`` to ask for a specific wait, or
``Reject`` to send the event straight to the dead-letter queue without retries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import importlib
import inspect
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

from hookyard.clock import elapsed_ms
from hookyard.delivery.exchange import SendResult
from hookyard.delivery.retry import ErrorKind
from hookyard.models import DeliveryEvent, HeaderList, header_value, idempotency_key

Handler: TypeAlias = Callable[["Event"], Any]


class RetryLater(Exception):
    """Raise from a handler to fail this attempt and wait at least ``after`` seconds."""

    def __init__(
        self, message: str = "handler asked to retry later", *, after: float | None = None
    ):
        super().__init__(message)
        self.after = after


class Reject(Exception):
    """Raise from a handler when retrying can never help; the event is dead-lettered."""


@dataclass(frozen=True, slots=True)
class Event:
    """What a handler receives: the stored request, bytes untouched."""

    id: str
    source: str
    type: str | None
    headers: HeaderList
    body: bytes
    provider_event_id: str | None = None
    attempt: int = 1
    replay_of: str | None = None

    @property
    def idempotency_key(self) -> str:
        """The same on every retry and replay: use it to make side effects happen once."""
        return idempotency_key(self.id, self.provider_event_id)

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        value = header_value(self.headers, name)
        return None if value is None else value.decode("latin-1")

    def text(self, encoding: str = "utf-8") -> str:
        return self.body.decode(encoding)

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body)

    @classmethod
    def from_event(
        cls, event: DeliveryEvent, attempt: int = 1, *, replay_of: str | None = None
    ) -> Event:
        return cls(
            id=event.id,
            source=event.source,
            type=event.event_type,
            headers=event.headers,
            body=event.body,
            provider_event_id=event.provider_event_id,
            attempt=attempt,
            replay_of=replay_of,
        )

    def __repr__(self) -> str:
        return f"Event(id={self.id!r}, source={self.source!r}, type={self.type!r})"


def check_handler_spec(spec: str) -> None:
    """Raise ``ValueError`` unless ``spec`` reads ``package.module:function`` (no import)."""
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise ValueError(f"expected 'package.module:function', got {spec!r}")


def load_handler(spec: str) -> Handler:
    """Import ``"package.module:function"`` (the part after ``:`` may be dotted).

    Raises ``ValueError`` with a one-line reason; configuration loading turns it into
    a ``ConfigError`` naming the key.
    """
    check_handler_spec(spec)
    module_name, _, attr_path = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ValueError(
                f"cannot import module {module_name!r}: no module named {exc.name!r} "
                "(is it installed or on PYTHONPATH?)"
            ) from None
        raise ValueError(f"importing {module_name!r} failed: {exc}") from None
    except Exception as exc:  # the user's module raised while importing
        raise ValueError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"{module_name!r} has no attribute {attr_path!r}") from None
    if not callable(target):
        raise ValueError(f"{spec!r} is not callable")
    return cast(Handler, target)


def is_async_handler(func: Handler) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    # An instance whose class defines ``async def __call__``.
    return not inspect.isroutine(func) and inspect.iscoroutinefunction(type(func).__call__)


async def call_handler(
    func: Handler,
    event: Event,
    *,
    timeout: float | None = None,  # noqa: ASYNC109 - also bounds the wait for a thread
) -> SendResult:
    """Run a handler once; an exception is a failed attempt, never propagated.

    A sync handler runs in a thread. On timeout the attempt fails at once, but the
    thread cannot be killed and runs to its end; handlers should bound their own I/O.
    """
    started_at = time.time()
    clock = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            if is_async_handler(func):
                result = func(event)
            else:
                result = await asyncio.to_thread(func, event)
            if inspect.isawaitable(result):  # e.g. a lambda returning a coroutine
                await result
    except TimeoutError as exc:
        return _failed(started_at, clock, "timeout", exc, f"handler took longer than {timeout}s")
    except Reject as exc:
        return _failed(started_at, clock, "handler_rejected", exc)
    except RetryLater as exc:
        failed = _failed(started_at, clock, "handler", exc)
        if exc.after is None:
            return failed
        # Expressed as the header a server would send, so the policy treats both alike.
        header = ("retry-after", str(max(0, math.ceil(exc.after))))
        return dataclasses.replace(failed, response_headers=(header,))
    except Exception as exc:
        return _failed(started_at, clock, "handler", exc)
    return SendResult(started_at=started_at, latency_ms=elapsed_ms(clock))


def _failed(
    started_at: float,
    clock: float,
    kind: ErrorKind,
    exc: BaseException,
    message: str | None = None,
) -> SendResult:
    return SendResult(
        started_at=started_at,
        latency_ms=elapsed_ms(clock),
        error_kind=kind,
        error_class=type(exc).__name__,
        error_message=(message or str(exc) or type(exc).__name__)[:500],
    )
