"""``GET /api/events/stream``: stored and live events as server-sent events (issue 19).

Each client is a position (the last id it was sent) and a loop: read the next page of
matching events after the position from the store, send them, and wait for a commit,
a heartbeat or a recheck. Nothing is queued per client and ingest hands nothing to the
stream: one ``EventFeed`` per app holds the store's commit wake-up (PostgreSQL
``LISTEN``, SQLite's data-version watch) and wakes every client; each then reads at
its own pace. So a client's memory is one page and its socket buffer, and a slow client
slows only itself: a message it does not take within ``write_timeout`` ends its stream
(it reconnects with ``after=`` and loses nothing).

Query: the list filters (``source``, ``type``, ``verdict``, ``status``, ``since``, …),
``after=ID`` (or the ``Last-Event-ID`` header) to resume, ``heartbeat=SECONDS``. Without
``after``, the stream starts at ``since`` when given, else live. Messages: one ``ready``
(``{"after": ID}``), then an ``event`` per event (SSE id = event id, data = the event's
summary and idempotency key), and ``: heartbeat`` comments while idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass

from starlette.datastructures import Headers, QueryParams

from hookyard.api.serialize import summary_json
from hookyard.asgi import Receive, Scope, Send
from hookyard.clock import now_us
from hookyard.filtering import BadFilter, parse_filter
from hookyard.live import sse
from hookyard.live.position import SETTLE_SECONDS, Recheck, horizon, is_event_id, live_start
from hookyard.models import EventFilter, EventSummary, idempotency_key
from hookyard.store.base import EventStream, Unlisten


@dataclass(frozen=True, slots=True)
class StreamLimits:
    max_clients: int = 64
    page: int = 100
    heartbeat_seconds: float = 15.0
    write_timeout_seconds: float = 10.0
    settle_seconds: float = SETTLE_SECONDS


MIN_HEARTBEAT, MAX_HEARTBEAT = 0.2, 300.0
log = logging.getLogger("hookyard.api")


class EventFeed:
    """The one commit wake-up of an app, shared by its streams; held while any is open."""

    def __init__(self, store: EventStream, limits: StreamLimits) -> None:
        self.store = store
        self.limits = limits
        self.clients = 0
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._unlisten: Unlisten | None = None
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def join(self) -> bool:
        """Take a client's place; False when every place is taken."""
        if self.clients >= self.limits.max_clients or self._closing.is_set():
            return False
        self.clients += 1
        self._loop = asyncio.get_running_loop()
        return True

    async def start(self) -> None:
        async with self._lock:
            if self._unlisten is None and self.clients:
                self._unlisten = await self.store.listen_for_events(self._wake)

    async def leave(self) -> None:
        self.clients -= 1
        async with self._lock:
            if not self.clients and self._unlisten is not None:
                unlisten, self._unlisten = self._unlisten, None
                await unlisten()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    @property
    def changed(self) -> asyncio.Event:
        """Set at the next commit (a fresh event each time)."""
        return self._changed

    @property
    def closing(self) -> asyncio.Event:
        return self._closing

    def close(self) -> None:
        """End every stream (the server is stopping). Safe to call from a signal handler."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._closing.set)
        else:
            self._closing.set()


class _Gone(Exception):
    """The client went away, was too slow, or the server is stopping."""


class EventStreamEndpoint:
    """The ASGI endpoint of ``GET /api/events/stream``."""

    def __init__(self, feed: EventFeed) -> None:
        self.feed = feed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET":
            await _json(send, 405, "method_not_allowed", f"{scope['method']} is not allowed here")
            return
        params = QueryParams(scope.get("query_string", b"").decode("latin-1"))
        try:
            query, after, heartbeat = _parse(params, Headers(scope=scope), self.feed.limits)
        except BadFilter as exc:
            await _json(send, 400, "bad_query", str(exc))
            return
        if not self.feed.join():
            await _json(
                send, 503, "too_many_streams", "every stream place is taken; try again later"
            )
            return
        try:
            try:
                await self.feed.start()
            except Exception as exc:  # the store's wake-up cannot be had (database down)
                log.error("event stream: cannot watch the store: %s", exc)
                await _json(send, 503, "unavailable", "the store cannot be watched right now")
                return
            await _Stream(self.feed, query, after, heartbeat, receive, send).run()
        finally:
            await self.feed.leave()


def _parse(
    params: QueryParams, headers: Headers, limits: StreamLimits
) -> tuple[EventFilter, str | None, float]:
    query = parse_filter(params)
    after = params.get("after") or headers.get("last-event-id") or None
    if after is not None and not is_event_id(after):
        raise BadFilter("after", "must be an event id (26 characters, as the API gives them)")
    heartbeat = limits.heartbeat_seconds
    raw = params.get("heartbeat")
    if raw:
        try:
            heartbeat = float(raw)
        except ValueError:
            heartbeat = -1.0
        if not MIN_HEARTBEAT <= heartbeat <= MAX_HEARTBEAT:
            raise BadFilter(
                "heartbeat", f"must be seconds from {MIN_HEARTBEAT} to {MAX_HEARTBEAT:g}"
            )
    if after is None and query.since_us is None:
        after = live_start(now_us())
    return query, after, heartbeat


class _Stream:
    def __init__(
        self,
        feed: EventFeed,
        query: EventFilter,
        after: str | None,
        heartbeat: float,
        receive: Receive,
        send: Send,
    ) -> None:
        self.feed = feed
        self.limits = feed.limits
        self.query = query
        self.position = after
        self.heartbeat = heartbeat
        self.receive = receive
        self._send = send
        self.gone = asyncio.Event()

    async def run(self) -> None:
        watcher = asyncio.create_task(self._watch_disconnect())
        try:
            await self._send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-accel-buffering", b"no"),  # proxies: pass each message on now
                    ],
                }
            )
            ready = json.dumps({"after": self.position})
            await self._write(sse.encode(sse.Message(event="ready", data=ready, retry=1000)))
            await self._loop()
        except _Gone:
            pass
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        # The end of the response; a client too slow to take it is left to the server to
        # close (the connection may be gone already, too).
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.limits.write_timeout_seconds):
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _loop(self) -> None:
        recheck = Recheck(self.limits.settle_seconds)
        recheck.heard(time.monotonic())  # what committed just before we came is not shown yet
        idle_until = time.monotonic() + self.heartbeat
        while True:
            changed = self.feed.changed  # taken before reading: a commit during it is heard
            rows = await self.feed.store.stream_events(
                self.query,
                after=self.position,
                before=horizon(now_us(), self.limits.settle_seconds),
                limit=self.limits.page,
            )
            for row in rows:
                await self._write(_event_message(row))
                self.position = row.id
            now = time.monotonic()
            if rows:
                idle_until = now + self.heartbeat
                if len(rows) == self.limits.page:
                    continue
            if now >= idle_until:
                await self._write(sse.comment("heartbeat"))
                idle_until = now + self.heartbeat
            await self._wait(changed, recheck.wait(now, idle_until))
            if changed.is_set():
                recheck.heard(time.monotonic())

    async def _wait(self, changed: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
        waits = [
            asyncio.ensure_future(changed.wait()),
            asyncio.ensure_future(self.gone.wait()),
            asyncio.ensure_future(self.feed.closing.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        if self.gone.is_set() or self.feed.closing.is_set():
            raise _Gone

    async def _write(self, data: bytes) -> None:
        if self.gone.is_set() or self.feed.closing.is_set():
            raise _Gone
        try:
            # uvicorn's send waits while the socket's buffer is full: a client that does
            # not read is cut off here instead of holding anything for it.
            async with asyncio.timeout(self.limits.write_timeout_seconds):
                await self._send({"type": "http.response.body", "body": data, "more_body": True})
        except (TimeoutError, OSError):
            self.gone.set()
            raise _Gone from None

    async def _watch_disconnect(self) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.gone.set()
                return


def _event_message(row: EventSummary) -> bytes:
    data = summary_json(row)
    data["idempotency_key"] = idempotency_key(row.id, row.provider_event_id)
    return sse.encode(sse.Message(event="event", data=json.dumps(data), id=row.id))


async def _json(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"error": code, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if status == 503:
        headers.append((b"retry-after", b"5"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
