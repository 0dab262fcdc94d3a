"""The HTTP boundary of delivery: build the outgoing request (pure), then send it.

``build_request`` decides every byte that goes on the wire and reads nothing but its
arguments, so retries, replays, dry runs and the mirror lane all produce the same
request for the same inputs. ``send`` is the only function here that does I/O; it
never raises for a network failure, it reports it in ``SendResult``. ``HttpxTransport``
is ``send`` over one client as a ``Transport``. A client from ``make_client(policy=...)``
connects only where the SSRF guard allows (``guard.guarded_transport``); a refused
address comes back as a failure of class ``BlockedAddress``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import re
import time
from collections.abc import Callable, Iterable
from urllib.parse import quote

import httpx

from hookyard import __version__
from hookyard.delivery.destinations import Destination
from hookyard.delivery.exchange import (
    EXCERPT_BYTES,
    KEPT_RESPONSE_HEADERS,
    OutgoingRequest,
    Progress,
    SendResult,
)
from hookyard.delivery.guard import ERROR_CLASS as BLOCKED
from hookyard.delivery.guard import BlockedAddress, guarded_transport
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.delivery.retry import ErrorKind
from hookyard.models import DeliveryEvent, HeaderList, header_value
from hookyard.signatures.registry import signature_header_names

USER_AGENT = f"hookyard/{__version__}"

#: Header names the known provider schemes sign with, as each scheme declares them;
#: ``signing = "passthrough"`` forwards these.
PASSTHROUGH_SIGNATURE_HEADERS = signature_header_names()


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
    # The body is sent as it arrived: a gzip-encoded one must say so, or no receiver can
    # read it.
    content_encoding = header_value(event.headers, "content-encoding")
    if content_encoding is not None:
        headers.append((b"Content-Encoding", content_encoding))

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
    matches = _matcher(tuple(patterns))
    return [(n, v) for n, v in headers if matches(n.decode("latin-1").lower())]


@functools.lru_cache(maxsize=512)
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], object]:
    """One compiled test for a set of globs: every request of a destination (and every
    mirror copy of a source) forwards by the same few sets."""
    if not patterns:
        return lambda _name: None
    joined = "|".join(f"(?:{fnmatch.translate(p.lower())})" for p in patterns)
    return re.compile(joined).match


_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def header_text(value: str) -> str:
    """Provider-controlled text made safe for a header value, unchanged when it already is.

    Anything but printable ASCII is percent-encoded (UTF-8), so a line break cannot
    inject a header and two different ids never collapse into one.
    """
    if value.isascii() and value.isprintable():  # exactly " " <= c < "\x7f" for each c
        return value
    return quote(value, safe=_PRINTABLE_ASCII.replace("%", ""))


def make_client(
    *,
    max_connections: int = 100,
    max_keepalive: int = 20,
    transport: httpx.AsyncBaseTransport | None = None,
    trust_env: bool = True,
    policy: NetPolicy | None = None,
) -> httpx.AsyncClient:
    """One pooled client for all destinations; timeouts are set per request.

    With ``policy`` (and no ``transport`` of the caller's) every connection it opens
    passes the SSRF guard. Through a proxy (``HTTP_PROXY`` and friends, with
    ``trust_env``) the proxy connects instead, and the guard sees only the proxy.
    """
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive)
    if transport is None and policy is not None:
        transport = guarded_transport(policy, limits=limits, trust_env=trust_env)
    return httpx.AsyncClient(
        follow_redirects=False,  # a 3xx is a failure the operator must see, not a hop
        limits=limits,
        timeout=httpx.Timeout(10.0),
        transport=transport,
        trust_env=trust_env,
        headers={"User-Agent": USER_AGENT},
    )


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
    except BlockedAddress as exc:  # not retried: the address will be refused again
        return progress.failed("invalid_request", BLOCKED, str(exc))
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


def _kept_headers(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    kept = []
    for name, value in headers.multi_items():
        lowered = name.lower()
        if lowered in KEPT_RESPONSE_HEADERS:
            kept.append((lowered, value[:500]))
    return tuple(kept)


class HttpxTransport:
    """``send`` through one httpx client, as a ``Transport``; closes the client only if
    it made it."""

    def __init__(
        self, client: httpx.AsyncClient | None = None, *, policy: NetPolicy | None = None
    ) -> None:
        # By default the guard allows no private network; a lent client is the caller's.
        self.client = make_client(policy=policy or NetPolicy()) if client is None else client
        self._own_client = client is None

    async def send(self, request: OutgoingRequest, timeout: float) -> SendResult:  # noqa: ASYNC109
        return await send(self.client, request, timeout)

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()
