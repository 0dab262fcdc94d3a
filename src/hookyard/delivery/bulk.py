"""Sending in bulk: plain-``http`` requests straight over asyncio, for workers and replays.

A bulk replay to one receiver is bound by the HTTP client's CPU cost per request.
httpx (with httpcore, anyio and h11 beneath it) spends most of a millisecond of CPU
per request on a small machine; ``BulkSender`` writes each request with one socket
write on a kept-alive connection and parses the answer with httptools (the C parser
uvicorn uses, already a dependency), for a fraction of that.

It returns exactly what ``sender.send`` returns for the same exchange: the status,
the latency to the response headers, the kept response headers, an excerpt of at most
``EXCERPT_BYTES``, and failures as error kinds and classes named the way httpx names
them (``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError``, …), under the same
overall time bound. It handles ``http://`` URLs when no proxy is configured; anything
else (``https``, a proxy, a request carrying its own framing headers) goes through
``sender.send`` with a regular httpx client.

Every connection goes through the SSRF guard (``guard.checked_addresses``): the host
is resolved once, every address checked against the ``NetPolicy``, and the socket
opened to a checked address; a refused one is a failed attempt of class
``BlockedAddress``. The httpx client it makes for itself is guarded the same way.

On the wire the difference is that no ``Accept`` or ``Accept-Encoding`` headers are
added, so receivers answer uncompressed and the excerpt is what they sent. A request
that fails on a reused keep-alive connection before any byte of a response arrived
(the receiver had closed it while idle) is sent once more on a new connection; it
carries the same idempotency key either way.
"""

from __future__ import annotations

import asyncio
import collections
import urllib.request
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools
import httpx

from hookyard.delivery.exchange import (
    EXCERPT_BYTES,
    KEPT_RESPONSE_HEADERS,
    OutgoingRequest,
    Progress,
    SendResult,
)
from hookyard.delivery.guard import ERROR_CLASS as BLOCKED
from hookyard.delivery.guard import BlockedAddress, checked_addresses
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.delivery.retry import ErrorKind
from hookyard.delivery.sender import make_client, send

#: Stop reading from a socket while this much response body waits to be consumed.
HIGH_WATER = 256 * 1024
#: Headers that frame the request; a request that sets its own goes through httpx.
FRAMING = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection"})
_KEPT = frozenset(name.encode() for name in KEPT_RESPONSE_HEADERS)


class Failure(Exception):
    """A failed exchange, named and classified the way ``sender.send`` reports it."""

    def __init__(self, kind: ErrorKind, error_class: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.error_class = error_class
        self.message = message


class _Closed(Exception):
    """The connection closed before any byte of a response arrived."""


class _Connection(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.start_response()

    def start_response(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.received_any = False
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.close_delimited = False
        self.informational = False
        self.error: Exception | None = None
        self.wakeup = asyncio.Event()

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP transport (uvloop's is not an ``asyncio.Transport`` subclass).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(Failure("protocol", "RemoteProtocolError", "unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(Failure("protocol", "RemoteProtocolError", f"malformed response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.complete or self.error is not None:
            pass
        elif self.headers_done and self.close_delimited:
            self.complete = True  # a body without a length ends when the receiver closes
        elif not self.received_any:
            self.error = _Closed()
        else:
            where = "body" if self.headers_done else "headers"
            self.error = Failure(
                "protocol", "RemoteProtocolError", f"peer closed connection mid-{where}"
            )
        self.wakeup.set()

    # -- httptools callbacks -------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if self.status < 200:
            self.informational = True  # e.g. 100 Continue: the real response follows
            return
        names = {name.lower() for name, _ in self.headers}
        self.close_delimited = b"content-length" not in names and b"transfer-encoding" not in names
        self.headers_done = True
        self.wakeup.set()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(bytes(body))
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
        self.wakeup.set()

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
            self.headers = []
            return
        self.keep_alive = self.parser.should_keep_alive()  # it resets after this callback
        self.complete = True
        self.wakeup.set()

    # -- use -------------------------------------------------------------------------------

    def _fail(self, error: Exception) -> None:
        self.error = error
        self.close()
        self.wakeup.set()

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.start_response()
        self.transport.write(data)

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109
        """Until something new happened on the connection; raises ``TimeoutError``."""
        self.wakeup.clear()
        async with asyncio.timeout(timeout):
            await self.wakeup.wait()

    def take(self) -> bytes:
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.buffered <= HIGH_WATER // 2 and self.transport is not None and not self.closed:
            self.transport.resume_reading()
        return chunk

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and self.error is None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    head: bytes  # request line and Host header


class BulkSender:
    """``send`` for many requests: direct for plain http, else through ``client``.

    The worker's and replay's default ``Transport``. It keeps idle connections per host
    without a limit of its own: the caller bounds how many requests are in flight. Close
    it with ``aclose``.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        trust_env: bool = True,
        policy: NetPolicy | None = None,
    ):
        #: Where connections may go; by default the guard allows no private network.
        #: A lent ``client`` is the caller's: its connections are guarded as it was made.
        self.policy = NetPolicy() if policy is None else policy
        self._client = client
        self._own_client = client is None
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._targets: dict[str, _Target | None] = {}
        proxies = urllib.request.getproxies() if trust_env else {}
        self._proxied = any(proxies.get(k) for k in ("http", "all"))

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client(policy=self.policy)
        return self._client

    async def send(self, request: OutgoingRequest, timeout: float) -> SendResult:  # noqa: ASYNC109
        """What ``sender.send(client, request, timeout)`` would return."""
        target = self._target(request.url)
        data = None if target is None else _serialise(target, request)
        if target is None or data is None:
            return await send(self.client, request, timeout)
        progress = Progress()
        conn: _Connection | None = None
        try:
            async with asyncio.timeout(timeout + min(1.0, timeout * 0.1)):
                conn = await self._exchange(target, data, timeout)
                progress.answered(conn.status, _kept(conn.headers))
                await _read_excerpt(conn, progress.excerpt, timeout)
        except TimeoutError:
            return progress.timed_out(timeout)
        except Failure as failure:
            return progress.failed(failure.kind, failure.error_class, failure.message)
        finally:
            if conn is not None:
                if conn.reusable and not conn.chunks:
                    self._idle.setdefault((target.host, target.port), []).append(conn)
                else:
                    conn.close()  # unread bytes, an error or a cancellation: never reuse it
        return progress.result()

    async def _exchange(self, target: _Target, data: bytes, timeout: float) -> _Connection:  # noqa: ASYNC109
        """Write the request and wait for the response headers; returns the connection."""
        for _ in range(2):
            conn = self._take(target)
            reused = conn is not None
            if conn is None:
                conn = await _connect(target, timeout, self.policy)
            try:
                conn.write(data)
                while not conn.headers_done:
                    if conn.error is not None:
                        raise conn.error
                    try:
                        await conn.wait(timeout)
                    except TimeoutError:
                        raise Failure("timeout", "ReadTimeout", "timed out") from None
            except _Closed:
                conn.close()
                if reused:
                    continue  # closed by the receiver while idle: once more, on a new one
                raise Failure(
                    "protocol",
                    "RemoteProtocolError",
                    "Server disconnected without sending a response.",
                ) from None
            except BaseException:
                conn.close()
                raise
            return conn
        raise Failure(  # pragma: no cover - the second try never reuses a connection
            "protocol", "RemoteProtocolError", "Server disconnected without sending a response."
        )

    def _take(self, target: _Target) -> _Connection | None:
        idle = self._idle.get((target.host, target.port))
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    def _target(self, url: str) -> _Target | None:
        if url in self._targets:
            return self._targets[url]
        target = None if self._proxied else _parse_target(url)
        self._targets[url] = target
        return target

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        if self._own_client and self._client is not None:
            await self._client.aclose()


def _parse_target(url: str) -> _Target | None:
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme != "http" or not host or parts.username or parts.password:
        return None
    if not all(" " < c < "\x7f" for c in url):
        return None  # httpx percent-encodes such URLs; leave them to it
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != 80:
        host_header += f":{parts.port}"
    head = f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\n".encode("ascii")
    return _Target(host, port, head)


def _serialise(target: _Target, request: OutgoingRequest) -> bytes | None:
    """The request's bytes, or None when it must go through httpx instead."""
    if request.method != "POST":
        return None
    lines = []
    for name, value in request.headers:
        if name.lower() in FRAMING or b":" in name:
            return None
        lines.append(name + b": " + value + b"\r\n")
    block = b"".join(lines)
    # Exactly one CR and one LF a header and no NUL: nothing can split a header in two.
    # Anything else is left to httpx to refuse, and report the way it always does.
    if block.count(b"\r") != len(lines) or block.count(b"\n") != len(lines) or b"\0" in block:
        return None
    return b"".join(
        (target.head, block, b"Content-Length: %d\r\n\r\n" % len(request.body), request.body)
    )


async def _connect(target: _Target, timeout: float, policy: NetPolicy) -> _Connection:  # noqa: ASYNC109
    """A new connection to an address the guard checked (never to the name again)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            addresses = await checked_addresses(target.host, target.port, policy)
            error: OSError | None = None
            for address in addresses:
                try:
                    _, conn = await loop.create_connection(_Connection, address, target.port)
                except OSError as exc:
                    error = exc  # the next address may answer, as create_connection does
                else:
                    return conn
            assert error is not None
            raise error
    except TimeoutError:
        raise Failure("timeout", "ConnectTimeout", "timed out") from None
    except BlockedAddress as exc:
        raise Failure("invalid_request", BLOCKED, str(exc)) from None
    except OSError as exc:
        raise Failure("connect", "ConnectError", str(exc) or type(exc).__name__) from None


async def _read_excerpt(conn: _Connection, excerpt: bytearray, timeout: float) -> None:  # noqa: ASYNC109
    while len(excerpt) < EXCERPT_BYTES:
        if conn.chunks:
            excerpt += conn.take()
        elif conn.complete:
            return
        elif conn.error is not None:
            error = conn.error
            if isinstance(error, Failure):
                raise error
            raise Failure("protocol", "RemoteProtocolError", str(error))
        else:
            try:
                await conn.wait(timeout)
            except TimeoutError:
                raise Failure("timeout", "ReadTimeout", "timed out") from None
    conn.close()  # the rest is never read, so the connection cannot carry another request


def _kept(headers: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    kept = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in _KEPT:
            kept.append((lowered.decode("latin-1"), value.decode("latin-1")[:500]))
    return tuple(kept)
