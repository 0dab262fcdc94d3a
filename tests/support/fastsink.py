"""A fast HTTP/1.1 receiver on 127.0.0.1 for bulk tests: asyncio in a background thread.

It answers every request with ``status`` (200 unless told otherwise) and keeps, per
request, the SHA-256 of the body and the headers that matter to replay checks. The
threaded ``support.sink`` server is the one to use for scripted replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Seen:
    path: str
    sha256: str
    headers: dict[str, str]  # lower-cased names; the last value of a repeated header
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class FastSink:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.seen: list[Seen] = []
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> FastSink:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fast sink did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.seen.append(Seen(path, hashlib.sha256(body).hexdigest(), headers, body))
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
                    % self.status
                )
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@contextlib.contextmanager
def running_fast_sink(status: int = 200) -> Iterator[FastSink]:
    sink = FastSink(status).start()
    try:
        yield sink
    finally:
        sink.stop()
