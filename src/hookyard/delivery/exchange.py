"""One delivery exchange as values: the request that goes out and the result that comes back.

A leaf module (it imports no other part of delivery but the retry policy's types), so
the transports, the sender, Python handlers and the attempt all share these types
without importing one another.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hookyard.clock import elapsed_ms, us_from_seconds
from hookyard.delivery.retry import ErrorKind, Outcome

EXCERPT_BYTES = 4096
#: Response headers worth keeping with an attempt: they explain what the receiver meant.
KEPT_RESPONSE_HEADERS = (
    "retry-after",
    "content-type",
    "content-length",
    "location",
    "date",
    "server",
    "x-request-id",
    "request-id",
    "www-authenticate",
)


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    destination: str
    url: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    idempotency_key: str
    attempt: int
    method: str = "POST"

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    def __repr__(self) -> str:  # headers carry signatures and may carry credentials
        return (
            f"OutgoingRequest(destination={self.destination!r}, url={self.url!r}, "
            f"attempt={self.attempt}, body={len(self.body)} bytes)"
        )


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one attempt produced: the fields an attempt row stores."""

    started_at: float
    latency_ms: float
    status_code: int | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    response_excerpt: bytes = b""
    error_kind: ErrorKind | None = None
    error_class: str | None = None
    error_message: str | None = None
    #: Detail that does not change the verdict, e.g. the excerpt could not be read.
    note: str | None = None

    @property
    def started_us(self) -> int:
        return us_from_seconds(self.started_at)

    def response_header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.response_headers:
            if key == wanted:
                return value
        return None

    @property
    def outcome(self) -> Outcome:
        return Outcome(
            status_code=self.status_code,
            error_kind=self.error_kind,
            error_message=self.error_message,
            retry_after=self.response_header("retry-after"),
        )


@dataclass(slots=True)
class Progress:
    """What one HTTP exchange has received so far, and the ``SendResult`` it makes.

    Shared by every transport, so a timeout or an error midway is reported the same
    way whichever of them was sending.
    """

    started_at: float = field(default_factory=time.time)
    clock: float = field(default_factory=time.perf_counter)
    latency_ms: float | None = None
    status: int | None = None
    kept: tuple[tuple[str, str], ...] = ()
    excerpt: bytearray = field(default_factory=bytearray)

    def answered(self, status: int, kept: tuple[tuple[str, str], ...]) -> None:
        """The response headers arrived: latency is measured up to here."""
        self.latency_ms = elapsed_ms(self.clock)
        self.status, self.kept = status, kept

    def result(self, note: str | None = None) -> SendResult:
        return SendResult(
            started_at=self.started_at,
            latency_ms=self.latency_ms if self.latency_ms is not None else elapsed_ms(self.clock),
            status_code=self.status,
            response_headers=self.kept,
            response_excerpt=bytes(self.excerpt[:EXCERPT_BYTES]),
            note=note,
        )

    def failed(self, kind: ErrorKind, error_class: str, message: str) -> SendResult:
        message = message[:500]
        if self.status is not None:
            # The receiver already answered; a failure while reading the excerpt does not
            # change its verdict, so keep the status and note the error only as detail.
            return self.result(note=f"response excerpt incomplete: {error_class}: {message}")
        return SendResult(
            started_at=self.started_at,
            latency_ms=elapsed_ms(self.clock),
            error_kind=kind,
            error_class=error_class,
            error_message=message,
        )

    def raised(self, kind: ErrorKind, exc: BaseException) -> SendResult:
        return self.failed(kind, type(exc).__name__, error_text(exc))

    def timed_out(self, seconds: float) -> SendResult:
        return self.failed("timeout", "TimeoutError", f"no complete response within {seconds:g}s")


def error_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__  # httpx timeouts often have no message
    return text[:500]
