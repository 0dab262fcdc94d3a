"""The battery's I/O half, against small in-process apps and mock transports."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hookyard.exceptions import UsageError
from hookyard.signatures import SignedMessage, create_scheme
from hookyard.testing import Fixture, run_conformance, run_conformance_sync
from hookyard.testing.conformance import CHECK_NAMES, Unreachable
from support.conformance_keys import KEYS

SW = "standard-webhooks"
SECRET = KEYS[SW].signing


def verifying_app(*, tolerance: int = 300, delay_effects: float = 0.0) -> Starlette:
    """A correct receiver built on hookyard's own verifier, with a side-effect counter."""
    scheme = create_scheme(SW)
    seen: set[str] = set()
    effects: list[str] = []

    async def webhook(request: Request) -> Response:
        body = await request.body()
        if len(body) > 4096:
            return PlainTextResponse("too large", status_code=413)
        message = SignedMessage.from_text_headers(list(request.headers.items()), body)
        verdict = scheme.verify(message, [SECRET], now=time.time(), tolerance=300)
        if not verdict.ok:
            return JSONResponse({"detail": verdict.reason}, status_code=401)
        event_id = scheme.event_id(message) or ""
        if event_id in seen:
            return JSONResponse({"duplicate": True})
        seen.add(event_id)
        if delay_effects:

            async def later() -> None:
                await asyncio.sleep(delay_effects)
                effects.append(event_id)

            request.app.state.pending = asyncio.ensure_future(later())
        else:
            effects.append(event_id)
        return JSONResponse({"ok": True}, status_code=202)

    async def count(request: Request) -> Response:
        return JSONResponse({"count": len(effects)})

    async def broken_count(request: Request) -> Response:
        return PlainTextResponse("<html>nope</html>")

    return Starlette(
        routes=[
            Route("/hook", webhook, methods=["POST"]),
            Route("/count", count),
            Route("/broken-count", broken_count),
        ]
    )


async def test_a_correct_app_passes_in_process() -> None:
    report = await run_conformance(
        verifying_app(),
        SW,
        SECRET,
        path="/hook",
        side_effect_url="/count",
        max_body_bytes=4096,
    )
    assert report.ok, report.table()
    assert report.passed == set(CHECK_NAMES)
    assert report.target == "http://testserver/hook"


async def test_side_effects_that_land_later_are_waited_for() -> None:
    report = await run_conformance(
        verifying_app(delay_effects=0.05),
        SW,
        SECRET,
        path="/hook",
        side_effect_url="/count",
        settle_seconds=0.5,
        checks=["duplicate-side-effect"],
    )
    assert report.ok, report.table()


async def test_a_counter_that_is_not_a_count_fails_the_side_effect_check() -> None:
    report = await run_conformance(
        verifying_app(),
        SW,
        SECRET,
        path="/hook",
        side_effect_url="/broken-count",
        checks=["duplicate-side-effect"],
    )
    result = report.result("duplicate-side-effect")
    assert result.outcome == "fail"
    assert "side-effect URL" in result.why


async def test_a_crashing_app_is_a_failed_check_not_a_crashed_battery() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raise RuntimeError("boom")

    report = await run_conformance(app, SW, SECRET)
    assert report.failed == set(CHECK_NAMES) - report.not_applicable
    assert report.result("valid-signature").got == "500"
    assert "server error" in report.result("tampered-body").why


async def test_the_app_lifespan_runs_around_the_checks() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    async def hook(request: Request) -> Response:
        events.append("request")
        return Response(status_code=401)

    app = Starlette(routes=[Route("/", hook, methods=["POST"])], lifespan=lifespan)
    await run_conformance(app, SW, SECRET, checks=["valid-signature"])
    assert events == ["startup", "request", "shutdown"]
    events.clear()
    await run_conformance(app, SW, SECRET, checks=["valid-signature"], lifespan=False)
    assert events == ["request"]


async def test_a_failed_startup_is_a_usage_error() -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("database is down")
        yield  # pragma: no cover

    app = Starlette(lifespan=lifespan)
    with pytest.raises(UsageError, match="failed to start"):
        await run_conformance(app, SW, SECRET)


async def test_an_injected_client_carries_every_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"detail": "nope"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        report = await run_conformance(
            "http://receiver.test/hook", SW, SECRET, client=client, max_body_bytes=1000
        )
    assert report.result("tampered-body").why == "refused: nope"
    assert report.failed == {"valid-signature", "key-rotation", "duplicate-delivery"}
    assert {str(r.url) for r in seen} == {"http://receiver.test/hook"}
    # Fresh ids: only the duplicate check repeats one.
    ids = [r.headers["webhook-id"] for r in seen]
    repeated = {i for i in ids if ids.count(i) > 1}
    assert len(repeated) == 1


async def test_timeouts_and_dropped_connections_are_failures() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(202)
        if calls == 2:
            raise httpx.ReadTimeout("slow", request=request)
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        report = await run_conformance(
            "http://receiver.test/", SW, SECRET, client=client, checks=CHECK_NAMES[:3]
        )
    assert report.result("valid-signature").outcome == "pass"
    assert report.result("stale-timestamp").why == "no answer: timed out"
    assert "connection failed" in report.result("future-timestamp").why


async def test_an_unreachable_receiver_is_a_usage_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unreachable, match="cannot reach"):
        await run_conformance(f"http://127.0.0.1:{port}/in/x", SW, SECRET, request_timeout=2)


@pytest.mark.parametrize("url", ["127.0.0.1:8000/in/x", "ftp://host/x", "/relative"])
async def test_a_url_that_is_not_http_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError, match="http"):
        await run_conformance(url, SW, SECRET)


async def test_unknown_check_names_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown check 'stale'"):
        await run_conformance(verifying_app(), SW, SECRET, checks=["stale"])


async def test_a_public_key_cannot_run_the_battery() -> None:
    with pytest.raises(UsageError, match="not a public key"):
        await run_conformance(verifying_app(), "sendgrid", KEYS["sendgrid"].verifying)


async def test_fixture_bodies_are_each_signed_and_reported() -> None:
    bodies: list[bytes] = []

    async def hook(request: Request) -> Response:
        bodies.append(await request.body())
        return Response(status_code=202)

    app = Starlette(routes=[Route("/", hook, methods=["POST"])])
    fixtures = [
        Fixture("order", b'{"id": "evt_a", "type": "order.created"}'),
        Fixture("refund", b'{"id": "evt_b", "type": "refund.created"}'),
        Fixture("no-id", b'{"type": "ping"}'),
    ]
    report = await run_conformance(
        app, "stripe", KEYS["stripe"].signing, fixtures=fixtures, checks=["valid-signature"]
    )
    assert report.bodies == ("order", "refund", "no-id")
    result = report.result("valid-signature")
    assert [(c.body, c.outcome) for c in result.cases] == [
        ("order", "pass"),
        ("refund", "pass"),
        ("no-id", "n/a"),
    ]
    assert [json.loads(b)["type"] for b in bodies] == ["order.created", "refund.created"]
    assert all(json.loads(b)["id"].startswith("evt_hy") for b in bodies)


async def test_the_sync_wrapper_refuses_a_running_loop() -> None:
    with pytest.raises(RuntimeError, match="await run_conformance"):
        run_conformance_sync(verifying_app(), SW, SECRET)


def test_the_sync_wrapper_runs_the_battery() -> None:
    report = run_conformance_sync(
        verifying_app(), SW, SECRET, path="/hook", checks=["valid-signature"]
    )
    assert report.passed == {"valid-signature"}
