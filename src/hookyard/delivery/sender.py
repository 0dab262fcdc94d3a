"""The HTTP boundary of delivery: build the outgoing request (pure), then send it.

``build_request`` decides every byte that goes on the wire and reads nothing but its
arguments, so retries, replays, dry runs and the mirror lane all produce the same
request for the same inputs. ``send`` is the only function here that does I/O; it
never raises for a network failure, it reports it in ``SendResult``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

from hookyard import __version__
from hookyard.delivery.retry import ErrorKind, Outcome
from hookyard.models import DeliveryEvent, HeaderList, header_value

if TYPE_CHECKING:  # destinations imports handlers, which imports this module
    from hookyard.delivery.destinations import Destination

EXCERPT_BYTES = 4096
USER_AGENT = f"hookyard/{__version__}"
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

#: Header names the known provider schemes sign with; ``signing = "passthrough"`` forwards
#: these. Entries ending in ``*`` are prefixes.
PASSTHROUGH_SIGNATURE_HEADERS = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "stripe-signature",
    "x-hub-signature",
    "x-hub-signature-256",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "x-shopify-hmac-sha256",
    "x-square-hmacsha256-signature",
    "x-square-signature",
    "paddle-signature",
    "twitch-eventsub-message-id",
    "twitch-eventsub-message-timestamp",
    "twitch-eventsub-message-signature",
    "x-twilio-signature",
    "x-twilio-email-event-webhook-signature",
    "x-twilio-email-event-webhook-timestamp",
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
        return int(self.started_at * 1_000_000)

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


def build_request(
    destination: Destination,
    event: DeliveryEvent,
    attempt_number: int,
    *,
    replay_of: str | None = None,
    now: float | None = None,
) -> OutgoingRequest:
    """The exact request for ``attempt_number`` of ``event`` to an HTTP ``destination``.

    ``now`` is the signing time (Unix seconds); it defaults to the clock because a
    re-signed request must carry a fresh timestamp on every attempt.
    """
    if destination.url is None:
        raise ValueError(f"destination {destination.name!r} is a handler, not a URL")
    # Provider ids reach headers and the signed webhook-id, so make them header-safe
    # once, here, and use that one string everywhere (it is what receivers dedup on).
    key = header_text(event.idempotency_key)
    headers: list[tuple[bytes, bytes]] = []
    # The Content-Type bytes exactly as they arrived; the decoded field is the fallback.
    content_type = header_value(event.headers, "content-type")
    if content_type is None and event.content_type:
        content_type = event.content_type.encode("latin-1", "replace")
    if content_type is not None:
        headers.append((b"Content-Type", content_type))

    signing = destination.signing
    forwarded = list(destination.forward_headers)
    if signing.mode == "scheme" and signing.scheme is not None and signing.secret is not None:
        signed_at = int(time.time() if now is None else now)
        for name, value in signing.scheme.sign(
            event.body, signing.secret, msg_id=key, timestamp=signed_at, url=destination.url
        ):
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
    elif signing.mode == "passthrough":
        forwarded[:0] = [*PASSTHROUGH_SIGNATURE_HEADERS, *signing.headers]
    if forwarded:
        headers.extend(_select(event.headers, forwarded))

    headers.append((b"X-Hookyard-Id", header_text(event.id).encode()))
    headers.append((b"X-Hookyard-Attempt", str(attempt_number).encode()))
    headers.append((b"X-Hookyard-Source", header_text(event.source).encode()))
    if event.event_type is not None:
        headers.append((b"X-Hookyard-Event-Type", header_text(event.event_type).encode()))
    headers.append((b"Idempotency-Key", key.encode()))
    if replay_of is not None:
        headers.append((b"X-Hookyard-Replay-Of", header_text(replay_of).encode()))
    for name, value in destination.headers:
        headers.append((name.encode("latin-1"), value.encode("latin-1")))
    if not any(name.lower() == b"user-agent" for name, _ in headers):
        headers.append((b"User-Agent", USER_AGENT.encode()))
    return OutgoingRequest(
        destination=destination.name,
        url=destination.url,
        headers=tuple(headers),
        body=event.body,
        idempotency_key=key,
        attempt=attempt_number,
    )


def _select(headers: HeaderList, patterns: Iterable[str]) -> list[tuple[bytes, bytes]]:
    """Provider headers whose names match ``patterns`` (case-insensitive globs), in order."""
    lowered = tuple(p.lower() for p in patterns)
    chosen = []
    for name, value in headers:
        text = name.decode("latin-1").lower()
        if any(fnmatch.fnmatchcase(text, pattern) for pattern in lowered):
            chosen.append((name, value))
    return chosen


_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def header_text(value: str) -> str:
    """Provider-controlled text made safe for a header value, unchanged when it already is.

    Anything but printable ASCII is percent-encoded (UTF-8), so a line break cannot
    inject a header and two different ids never collapse into one.
    """
    if all(" " <= c < "\x7f" for c in value):
        return value
    return quote(value, safe=_PRINTABLE_ASCII.replace("%", ""))


def make_client(
    *,
    max_connections: int = 100,
    max_keepalive: int = 20,
    transport: httpx.AsyncBaseTransport | None = None,
    trust_env: bool = True,
) -> httpx.AsyncClient:
    """One pooled client for all destinations; timeouts are set per request."""
    return httpx.AsyncClient(
        follow_redirects=False,  # a 3xx is a failure the operator must see, not a hop
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_keepalive
        ),
        timeout=httpx.Timeout(10.0),
        transport=transport,
        trust_env=trust_env,
        headers={"User-Agent": USER_AGENT},
    )


@dataclass(slots=True)
class Progress:
    """What one HTTP exchange has received so far, and the ``SendResult`` it makes.

    Shared by ``send`` and the bulk sender, so a timeout or an error midway is reported
    the same way whichever of them was sending.
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
        return self.failed(kind, type(exc).__name__, _message(exc))

    def timed_out(self, seconds: float) -> SendResult:
        return self.failed("timeout", "TimeoutError", f"no complete response within {seconds:g}s")


async def send(
    client: httpx.AsyncClient,
    request: OutgoingRequest,
    timeout: float,  # noqa: ASYNC109 - it also sets httpx's connect/read/write timeouts
) -> SendResult:
    """Send ``request``; network failures come back as a result, never as an exception.

    ``timeout`` bounds connect and each read and write. A backstop a little longer
    bounds the whole exchange up to the end of the response excerpt, so a receiver
    that drips bytes cannot hold a worker slot; it is longer so that the usual case
    reports httpx's precise error (``ConnectTimeout``, ``ReadTimeout``).
    """
    progress = Progress()
    try:
        async with asyncio.timeout(timeout + min(1.0, timeout * 0.1)):
            async with client.stream(
                request.method,
                request.url,
                content=request.body,
                headers=list(request.headers),
                timeout=httpx.Timeout(timeout),
            ) as response:
                progress.answered(response.status_code, _kept_headers(response.headers))
                await _read_excerpt(response, progress.excerpt)
    except TimeoutError:
        return progress.timed_out(timeout)
    except httpx.HTTPError as exc:
        return progress.raised(_error_kind(exc), exc)
    except (httpx.InvalidURL, ValueError) as exc:  # e.g. a header value httpx cannot encode
        return progress.raised("invalid_request", exc)
    except OSError as exc:
        return progress.raised("network", exc)
    return progress.result()


async def _read_excerpt(response: httpx.Response, excerpt: bytearray) -> None:
    """Fill ``excerpt`` in place, so a timeout midway still leaves what did arrive."""
    try:
        async for chunk in response.aiter_bytes():
            excerpt += chunk
            if len(excerpt) >= EXCERPT_BYTES:
                break  # closing the stream drops the rest; we never buffer a huge reply
    except httpx.DecodingError:
        pass  # an undecodable body does not change what the status said


def _error_kind(exc: httpx.HTTPError) -> ErrorKind:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
        return "connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "protocol"
    if isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol):
        return "invalid_request"
    return "network"


def _message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__  # httpx timeouts often have no message
    return text[:500]


def _kept_headers(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    kept = []
    for name, value in headers.multi_items():
        lowered = name.lower()
        if lowered in KEPT_RESPONSE_HEADERS:
            kept.append((lowered, value[:500]))
    return tuple(kept)


def elapsed_ms(clock: float) -> float:
    return (time.perf_counter() - clock) * 1000.0
