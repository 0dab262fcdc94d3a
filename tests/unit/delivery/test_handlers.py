"""Python handler destinations: the Event object, loading by name, and calling safely."""

from __future__ import annotations

import asyncio
import functools
import random
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hookyard.delivery.handlers import (
    Event,
    Reject,
    RetryLater,
    call_handler,
    is_async_handler,
    load_handler,
)
from hookyard.delivery.retry import RetryPolicy, decide
from hookyard.models import DeliveryEvent

NOW = 1_700_000_000.0


def make_event(body: bytes = b'{"type": "order.created", "n": 1}') -> Event:
    return Event(
        id="01HID",
        source="shop",
        type="order.created",
        headers=((b"Content-Type", b"application/json"), (b"X-Shop", b"\xe9")),
        body=body,
        provider_event_id="evt_9",
        attempt=2,
    )


# -- Event -----------------------------------------------------------------------------------


def test_event_helpers() -> None:
    event = make_event()
    assert event.json() == {"type": "order.created", "n": 1}
    assert event.text() == '{"type": "order.created", "n": 1}'
    assert event.header("content-type") == "application/json"
    assert event.header("x-shop") == "\xe9"
    assert event.header("missing") is None
    assert event.idempotency_key == "evt_9"
    assert repr(event) == "Event(id='01HID', source='shop', type='order.created')"


def test_event_json_raises_on_non_json() -> None:
    with pytest.raises(ValueError):
        make_event(b"\xff not json").json()


def test_event_from_a_stored_event() -> None:
    outgoing = DeliveryEvent(
        id="01HX",
        received_us=1_700_000_000_000_000,
        source="github",
        event_type=None,
        provider_event_id=None,
        content_type="application/json",
        headers=((b"X-GitHub-Event", b"ping"),),
        body=b"{}",
    )
    event = Event.from_event(outgoing, 3, replay_of="01HORIG")
    assert (event.id, event.source, event.type, event.body) == ("01HX", "github", None, b"{}")
    assert event.headers == outgoing.headers
    assert event.attempt == 3
    assert event.replay_of == "01HORIG"
    assert event.idempotency_key == "01HX"


# -- load_handler ----------------------------------------------------------------------------


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = "hookyard_test_handlers_load"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            def sync_handler(event):
                return "ok"

            async def async_handler(event):
                return "ok"

            class Handlers:
                @staticmethod
                def on_order(event):
                    return None

            VALUE = 42
            """
        )
    )
    (tmp_path / "hookyard_test_broken_module.py").write_text("raise RuntimeError('bad import')\n")
    (tmp_path / "hookyard_test_missing_dep.py").write_text("import hookyard_no_such_dep_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for mod in (name, "hookyard_test_broken_module", "hookyard_test_missing_dep"):
        sys.modules.pop(mod, None)


def test_load_handler(module: str) -> None:
    assert load_handler(f"{module}:sync_handler").__name__ == "sync_handler"
    assert load_handler(f"{module}:Handlers.on_order").__name__ == "on_order"
    assert is_async_handler(load_handler(f"{module}:async_handler"))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("no_colon", "expected 'package.module:function', got 'no_colon'"),
        (":func", "expected 'package.module:function'"),
        ("mod:", "expected 'package.module:function'"),
        (
            "hookyard_no_such_pkg.sub:f",
            "cannot import module 'hookyard_no_such_pkg.sub': "
            "no module named 'hookyard_no_such_pkg'",
        ),
        ("{module}:missing", "'{module}' has no attribute 'missing'"),
        ("{module}:Handlers.nope", "'{module}' has no attribute 'Handlers.nope'"),
        ("{module}:VALUE", "'{module}:VALUE' is not callable"),
        (
            "hookyard_test_broken_module:f",
            "importing 'hookyard_test_broken_module' failed: RuntimeError: bad import",
        ),
        (
            "hookyard_test_missing_dep:f",
            "importing 'hookyard_test_missing_dep' failed: "
            "No module named 'hookyard_no_such_dep_xyz'",
        ),
    ],
)
def test_load_handler_errors(module: str, spec: str, expected: str) -> None:
    with pytest.raises(ValueError) as info:
        load_handler(spec.format(module=module))
    assert str(info.value).startswith(expected.format(module=module))


# -- call_handler ----------------------------------------------------------------------------


async def test_sync_handler_runs_in_a_thread() -> None:
    seen: dict[str, Any] = {}

    def handler(event: Event) -> None:
        seen["thread"] = threading.get_ident()
        seen["data"] = event.json()

    result = await call_handler(handler, make_event())
    assert seen["thread"] != threading.get_ident()
    assert seen["data"]["n"] == 1
    assert result.status_code is None and result.error_kind is None
    assert result.latency_ms >= 0
    assert decide(RetryPolicy(), 1, result.outcome, NOW, random.Random(0)).kind == "delivered"


async def test_async_handler_runs_on_the_loop() -> None:
    seen: list[int] = []

    async def handler(event: Event) -> str:
        seen.append(threading.get_ident())
        await asyncio.sleep(0)
        return "ignored"

    result = await call_handler(handler, make_event())
    assert seen == [threading.get_ident()]
    assert result.outcome.succeeded


async def test_async_callables_in_other_shapes() -> None:
    calls: list[str] = []

    class Handler:
        async def __call__(self, event: Event) -> None:
            calls.append("object")

    async def with_prefix(prefix: str, event: Event) -> None:
        calls.append(prefix)

    def returns_coroutine(event: Event) -> Any:
        async def later() -> None:
            calls.append("returned")

        return later()

    assert is_async_handler(Handler())
    assert is_async_handler(functools.partial(with_prefix, "partial"))
    for func in (Handler(), functools.partial(with_prefix, "partial"), returns_coroutine):
        result = await call_handler(func, make_event())
        assert result.outcome.succeeded
    assert calls == ["object", "partial", "returned"]


async def test_an_exception_is_a_failed_attempt() -> None:
    def handler(event: Event) -> None:
        raise KeyError("customer")

    result = await call_handler(handler, make_event())
    assert result.error_kind == "handler"
    assert result.error_class == "KeyError"
    assert result.error_message == "'customer'"
    assert decide(RetryPolicy(), 1, result.outcome, NOW, random.Random(0)).kind == "retry"


async def test_an_exception_without_a_message_names_its_class() -> None:
    async def handler(event: Event) -> None:
        raise RuntimeError

    result = await call_handler(handler, make_event())
    assert result.error_message == "RuntimeError"


async def test_reject_goes_straight_to_the_dead_letter_queue() -> None:
    def handler(event: Event) -> None:
        raise Reject("unknown customer")

    result = await call_handler(handler, make_event())
    assert result.error_kind == "handler_rejected"
    decision = decide(RetryPolicy(), 1, result.outcome, NOW, random.Random(0))
    assert decision.kind == "dead"
    assert "unknown customer" in decision.reason


async def test_retry_later_asks_for_a_wait() -> None:
    async def handler(event: Event) -> None:
        raise RetryLater("inventory locked", after=599.2)

    result = await call_handler(handler, make_event())
    assert result.error_kind == "handler"
    assert result.response_header("retry-after") == "600"
    decision = decide(RetryPolicy(jitter=0), 1, result.outcome, NOW, random.Random(0))
    assert decision.kind == "retry"
    assert decision.delay == 600

    async def plain(event: Event) -> None:
        raise RetryLater()

    result = await call_handler(plain, make_event())
    assert result.response_headers == ()
    assert result.error_message == "handler asked to retry later"


async def test_async_timeout() -> None:
    async def handler(event: Event) -> None:
        await asyncio.sleep(10)

    started = time.perf_counter()
    result = await call_handler(handler, make_event(), timeout=0.05)
    assert time.perf_counter() - started < 2
    assert result.error_kind == "timeout"
    assert result.error_class == "TimeoutError"
    assert result.error_message == "handler took longer than 0.05s"


async def test_sync_timeout_stops_waiting() -> None:
    release = threading.Event()

    def handler(event: Event) -> None:
        release.wait(5)

    started = time.perf_counter()
    result = await call_handler(handler, make_event(), timeout=0.05)
    release.set()  # let the thread finish; it cannot be killed
    assert time.perf_counter() - started < 2
    assert result.error_kind == "timeout"


async def test_base_exceptions_are_not_swallowed() -> None:
    async def handler(event: Event) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await call_handler(handler, make_event())
