"""What the chaos suite is made of: a load that remembers what was acknowledged, a
receiver that remembers what was delivered and when, and the ledger that compares them.

Every scenario ends with the same questions: was every acknowledged request stored, was
every stored one delivered, and was any event delivered twice at the same time (two
deliveries of one id overlapping: a lease held by two workers)? Redelivery one after
the other is allowed: delivery is at-least-once.
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from support.server import free_port


@dataclass
class Answer:
    status: int
    event_id: str | None
    retry_after: str | None


@dataclass
class Load:
    """Threads posting unique events at about ``rate`` a second until stopped."""

    url: str
    rate: float = 100.0
    threads: int = 2
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)
        ]

    def __enter__(self) -> Load:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)

    def _run(self) -> None:
        pause = self.threads / self.rate
        with httpx.Client(timeout=15, trust_env=False) as client:
            while not self._stop.is_set():
                number = next(self._counter)
                try:
                    response = client.post(
                        self.url,
                        content=b'{"type": "chaos.tick", "n": %d}' % number,
                        headers={"X-Event-Id": f"chaos-{number}"},
                    )
                except httpx.HTTPError as exc:  # refused while the server restarts, say
                    with self._lock:
                        self.errors.append(type(exc).__name__)
                    time.sleep(pause)
                    continue
                event_id = None
                if response.status_code in (200, 202):
                    event_id = response.json()["id"]
                with self._lock:
                    self.answers.append(
                        Answer(response.status_code, event_id, response.headers.get("retry-after"))
                    )
                time.sleep(pause)

    @property
    def acked(self) -> set[str]:
        return {a.event_id for a in self.answers if a.status == 202 and a.event_id}

    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.acked)} of {count} acknowledged")
            time.sleep(0.05)


@dataclass
class Delivery:
    event_id: str
    attempt: str
    started: float
    ended: float


class Receiver:
    """A real HTTP receiver on a fixed port that can go down (refusing connections) and
    come back; ``hold`` seconds per request keeps deliveries in flight."""

    def __init__(self, hold: float = 0.0, status: int = 200) -> None:
        self.port = free_port()
        self.hold = hold
        self.status = status
        self.deliveries: list[Delivery] = []
        self._started = 0
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def do_POST(self) -> None:
                started = time.monotonic()
                with receiver._lock:
                    receiver._started += 1
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.hold:
                    time.sleep(receiver.hold)
                status = receiver.status
                if status < 300:
                    # Counted once it decides to answer 2xx: a sender that has read the
                    # status line has been delivered to, even if the body is cut off.
                    with receiver._lock:
                        receiver.deliveries.append(
                            Delivery(
                                self.headers.get("X-Hookyard-Id", ""),
                                self.headers.get("X-Hookyard-Attempt", ""),
                                started,
                                time.monotonic(),
                            )
                        )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(b"ok")
                    self.wfile.flush()

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self._httpd = Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def down(self) -> None:
        """Stop listening and cut the kept-alive connections too (senders reuse them)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def started_count(self) -> int:
        """Requests received so far, finished or not."""
        with self._lock:
            return self._started

    def delivered_ids(self) -> set[str]:
        with self._lock:
            return {d.event_id for d in self.deliveries}

    def overlapping(self) -> list[tuple[Delivery, Delivery]]:
        """Pairs of deliveries of one event that were in progress at the same time."""
        with self._lock:
            by_id: dict[str, list[Delivery]] = {}
            for delivery in self.deliveries:
                by_id.setdefault(delivery.event_id, []).append(delivery)
        pairs: list[tuple[Delivery, Delivery]] = []
        for runs in by_id.values():
            runs.sort(key=lambda d: d.started)
            pairs.extend((a, b) for a, b in itertools.pairwise(runs) if b.started < a.ended)
        return pairs

    def wait_delivered(self, wanted: set[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while missing := wanted - self.delivered_ids():
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(missing)} of {len(wanted)} never delivered")
            time.sleep(0.1)


@contextlib.contextmanager
def receiver(hold: float = 0.0) -> Iterator[Receiver]:
    instance = Receiver(hold=hold)
    instance.up()
    try:
        yield instance
    finally:
        instance.down()


def config(receiver_url: str, *, retry: str = '["200ms", "500ms", "1s", "2s", "2s"]') -> str:
    """A hookyard config: one unsigned source (ids from X-Event-Id), one destination."""
    return f"""
[server]
allow_networks = ["127.0.0.0/8"]
sample_interval = "200ms"

[sources.chaos]
scheme = "none"
id_header = "X-Event-Id"

[destinations.app]
url = "{receiver_url}"
timeout_seconds = 5
retry = {{ schedule = {retry}, jitter = false }}
circuit_breaker = false
"""
