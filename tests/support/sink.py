"""A real HTTP server on 127.0.0.1 that answers from a script and records every request."""

from __future__ import annotations

import contextlib
import http.server
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b"ok"
    delay: float = 0.0
    #: Seconds between single body bytes after the headers went out.
    drip: float | None = None
    #: Close the connection without answering.
    hang_up: bool = False


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    client_port: int

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class _QuietServer(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # bursts of concurrent senders (the mirror lane) must queue, not reset

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients here hang up mid-reply on purpose (excerpt limits, timeouts)


class ScriptedServer:
    """A threaded HTTP/1.1 server answering from a script; it records every request."""

    def __init__(self) -> None:
        self.script: queue.Queue[Reply] = queue.Queue()
        self.received: list[Received] = []
        #: Answers by request, when set (the script is not used then).
        self.answer: Callable[[Received], Reply] | None = None
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so pooling is observable

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                received = Received(
                    self.command,
                    self.path,
                    list(self.headers.items()),
                    body,
                    self.client_address[1],
                )
                server.received.append(received)
                try:
                    reply = server.answer(received) if server.answer else server.script.get_nowait()
                except queue.Empty:
                    reply = Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.hang_up:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    if reply.drip is None:
                        self.wfile.write(reply.body)
                        return
                    for byte in reply.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(reply.drip)
                except OSError:
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False  # a slow handler must not hold up teardown
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def then(self, *replies: Reply) -> ScriptedServer:
        for reply in replies:
            self.script.put(reply)
        return self


@contextlib.contextmanager
def running_sink() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    scripted.thread.start()
    try:
        yield scripted
    finally:
        scripted.httpd.shutdown()
        scripted.httpd.server_close()
