"""What one client may make the server hold, and the answers it gets past those bounds.

Pure policy: the numbers (``[server]`` keys) and the bytes of each refusal. The HTTP
protocol in ``hookyard.protocol`` enforces them while it parses.

Defaults, and why:

- ``max_header_bytes`` 64 KiB of header names + values, as Hookaido; GitHub and Stripe
  send 1-3 KiB, and a proxy chain adds a few hundred bytes.
- ``max_headers`` 100 fields, as Apache httpd's ``LimitRequestFields``; providers send
  15-30 and proxies or CDNs add up to a dozen more.
- ``header_timeout`` 10 s from the connection (or the first byte of a further request on
  it) to the end of the head: a provider in a data centre sends it in milliseconds.
- ``body_timeout`` 30 s from the end of the head to the end of the body, a total, not a
  gap between reads, so a client cannot hold a slot by sending a byte every few seconds;
  a 1 MiB body (the default ``max_body_bytes``) still only needs 35 KB/s.
- ``max_connections`` 1000 open connections; each idle one costs a few KiB, and the
  timeouts above and the 5 s keep-alive timeout keep slots turning over.
"""

from __future__ import annotations

import http
from dataclasses import dataclass

import orjson

DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 1000
#: The request line and the header framing (``": "`` and CRLF) on top of names + values:
#: the raw head is bounded by this much more, so a long URL or a header still arriving
#: is refused once it could no longer fit, before it is buffered whole.
REQUEST_LINE_ALLOWANCE = 8192
FRAMING_PER_HEADER = 4

LIMIT_KEYS = frozenset(
    {"max_header_bytes", "max_headers", "header_timeout", "body_timeout", "max_connections"}
)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    @property
    def head_allowance(self) -> int:
        """Raw bytes of a request head (request line, headers, framing) that can still fit."""
        framing = FRAMING_PER_HEADER * self.max_headers + 2
        return self.max_header_bytes + framing + REQUEST_LINE_ALLOWANCE


@dataclass(frozen=True, slots=True)
class Refusal:
    """One way to be refused: the metric label and the whole HTTP response, prebuilt."""

    reason: str
    status: int
    response: bytes


def refusal(
    reason: str,
    status: int,
    error: str,
    detail: str,
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> Refusal:
    body = orjson.dumps({"error": error, "detail": detail})
    phrase = http.HTTPStatus(status).phrase
    lines = [
        f"HTTP/1.1 {status} {phrase}".encode(),
        b"content-type: application/json",
        b"content-length: %d" % len(body),
        b"connection: close",
        *(name + b": " + value for name, value in extra_headers),
    ]
    return Refusal(reason, status, b"\r\n".join(lines) + b"\r\n\r\n" + body)


@dataclass(frozen=True, slots=True)
class Refusals:
    """Every refusal the limits can cause, built once per server."""

    too_many_headers: Refusal
    header_bytes: Refusal
    head_bytes: Refusal
    header_timeout: Refusal
    body_timeout: Refusal
    too_many_connections: Refusal


def refusals_for(limits: HttpLimits) -> Refusals:
    too_large = "headers_too_large"
    return Refusals(
        too_many_headers=refusal(
            too_large, 431, too_large, f"more than {limits.max_headers} header fields (max_headers)"
        ),
        header_bytes=refusal(
            too_large,
            431,
            too_large,
            f"header names and values exceed {limits.max_header_bytes} bytes (max_header_bytes)",
        ),
        head_bytes=refusal(
            too_large,
            431,
            too_large,
            f"request line and headers exceed {limits.head_allowance} bytes (max_header_bytes)",
        ),
        header_timeout=refusal(
            "header_timeout",
            408,
            "request_timeout",
            f"request headers not received within {limits.header_timeout:g} s (header_timeout)",
        ),
        body_timeout=refusal(
            "body_timeout",
            408,
            "request_timeout",
            f"request body not received within {limits.body_timeout:g} s (body_timeout)",
        ),
        too_many_connections=refusal(
            "too_many_connections",
            503,
            "too_many_connections",
            f"the server holds {limits.max_connections} connections (max_connections), retry later",
            ((b"retry-after", b"1"),),
        ),
    )
