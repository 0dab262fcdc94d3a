"""``GET /api/events/stream`` driven as ASGI in this process, on every backend: the live
and stored events in order, resume, filters, heartbeats, the cap on clients, and a client
that stops reading cut off (issue 19). Over real HTTP: tests/acceptance/test_listen.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette

from hookyard.api.app import create_admin_app
from hookyard.api.stream import StreamLimits
from hookyard.live import sse
from hookyard.store.base import Store
from support.factories import submission

FAST = StreamLimits(
    max_clients=2, page=3, heartbeat_seconds=0.3, write_timeout_seconds=0.3, settle_seconds=0.05
)


@dataclass
class Client:
    """One stream request: what the app sent, and a way to hang up or stop reading."""

    task: asyncio.Task[None]
    status: asyncio.Future[int]
    messages: list[sse.Message] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    hang_up: asyncio.Event = field(default_factory=asyncio.Event)

    def events(self) -> list[str]:
        return [m.id for m in self.messages if m.event == "event" and m.id]


def open_stream(
    app: Starlette, query: str = "", *, stop_reading_after: int | None = None
) -> Client:
    loop = asyncio.get_running_loop()
    status: asyncio.Future[int] = loop.create_future()
    decoder = sse.Decoder()
    client: Client

    async def receive() -> dict[str, Any]:
        await client.hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.set_result(message["status"])
            return
        if stop_reading_after is not None and len(client.chunks) >= stop_reading_after:
            await asyncio.Event().wait()  # a client that no longer reads: the send never ends
        client.chunks.append(message.get("body", b""))
        client.messages.extend(decoder.feed(message.get("body", b"")))

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/events/stream",
        "raw_path": b"/api/events/stream",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }
    client = Client(asyncio.create_task(app(scope, receive, send)), status)  # type: ignore[arg-type]
    return client


async def until(check: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@pytest.fixture
async def app(store: Store) -> AsyncIterator[Starlette]:
    yield create_admin_app(store, admin_token=None, stream_limits=FAST)


async def close(client: Client) -> None:
    client.hang_up.set()
    await asyncio.wait_for(client.task, 5)


async def test_stored_then_live_in_order_each_once(store: Store, app: Starlette) -> None:
    stored = [(await store.submit(submission())).id for _ in range(7)]  # more than a page
    client = open_stream(app, "since=1h")
    assert await client.status == 200
    await until(lambda: len(client.events()) == 7)
    live = [(await store.submit(submission())).id for _ in range(4)]
    await until(lambda: len(client.events()) == 11)
    await asyncio.sleep(0.2)
    assert client.events() == stored + live
    assert client.messages[0].event == "ready"
    [first] = [m for m in client.messages if m.id == stored[0]]
    data = json.loads(first.data)
    assert data["id"] == stored[0] and data["idempotency_key"] == stored[0]
    await close(client)


async def test_without_after_or_since_it_starts_live(store: Store, app: Starlette) -> None:
    await store.submit(submission())
    await asyncio.sleep(0.01)  # "live" starts at this millisecond: not the one of the event
    client = open_stream(app)
    await until(lambda: client.messages)
    after = (await store.submit(submission())).id
    await until(lambda: client.events() == [after])
    await close(client)


async def test_after_resumes_and_filters_hold(store: Store, app: Starlette) -> None:
    ids = [(await store.submit(submission(source="a" if n % 2 else "b"))).id for n in range(6)]
    client = open_stream(app, f"after={ids[0]}&source=a")
    await until(lambda: len(client.events()) == 3)
    assert client.events() == ids[1::2]
    await close(client)


async def test_heartbeats_while_idle(app: Starlette) -> None:
    client = open_stream(app)
    await until(lambda: b": heartbeat\n\n" in client.chunks, timeout=3)
    await close(client)


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("after=nope", "after: must be an event id"),
        ("heartbeat=0", "heartbeat: must be seconds"),
        ("heartbeat=x", "heartbeat: must be seconds"),
        ("since=yesterday-ish", "since:"),
    ],
)
async def test_bad_query_is_400(app: Starlette, query: str, problem: str) -> None:
    client = open_stream(app, query)
    assert await client.status == 400
    await asyncio.wait_for(client.task, 5)
    assert problem in json.loads(b"".join(client.chunks))["detail"]


async def test_clients_past_the_cap_get_503_and_a_place_frees_on_leaving(app: Starlette) -> None:
    first, second = open_stream(app), open_stream(app)
    assert await first.status == 200 and await second.status == 200
    third = open_stream(app)
    assert await third.status == 503
    await close(first)
    fourth = open_stream(app)
    assert await fourth.status == 200
    await close(second)
    await close(fourth)


async def test_a_client_that_stops_reading_is_cut_off_and_ingest_goes_on(
    store: Store, app: Starlette
) -> None:
    slow = open_stream(app, "since=1h", stop_reading_after=2)
    assert await slow.status == 200
    for _ in range(10):
        await store.submit(submission())
    # Cut off after the write timeout, its place freed; ingest never waited for it.
    await asyncio.wait_for(slow.task, 5)
    assert app.state.event_feed.clients == 0
    other = open_stream(app, "since=1h")
    await until(lambda: len(other.events()) == 10)
    await close(other)


async def test_stopping_the_server_ends_every_stream(app: Starlette) -> None:
    client = open_stream(app)
    assert await client.status == 200
    app.state.event_feed.close()
    await asyncio.wait_for(client.task, 2)


async def test_a_store_that_cannot_be_watched_is_503() -> None:
    from hookyard.store.memory.store import MemoryStore

    app = create_admin_app(MemoryStore(), admin_token=None, stream_limits=FAST)  # never started
    client = open_stream(app)
    assert await client.status == 503
    await asyncio.wait_for(client.task, 5)
    assert app.state.event_feed.clients == 0
