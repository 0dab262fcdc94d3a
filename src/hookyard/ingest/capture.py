"""Reading a request exactly as it arrived: the header list and the body under a limit."""

from __future__ import annotations

import hashlib

from hookyard.asgi import Receive, Scope
from hookyard.ids import new_id
from hookyard.models import CapturedRequest, HeaderList, header_value
from hookyard.storable import text

RAW_HEADERS_KEY = "hookyard.raw_headers"


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


def raw_headers(scope: Scope) -> HeaderList:
    """Headers with their original case when the server kept it (see ``server.py``)."""
    raw = scope.get("extensions", {}).get(RAW_HEADERS_KEY)
    return tuple(raw if raw is not None else scope["headers"])


def declared_length(headers: HeaderList) -> int | None:
    value = header_value(headers, "content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, refusing as soon as it passes ``limit`` (nothing past it is kept)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def capture(
    scope: Scope, source: str, headers: HeaderList, body: bytes, received_us: int
) -> CapturedRequest:
    """The request as a record; its text fields made storable (``storable.text``)."""
    client = scope.get("client")
    content_type = header_value(headers, "content-type")
    raw_path = scope.get("raw_path")
    if raw_path is None:
        raw_path = scope["path"].encode("utf-8", "surrogatepass")
    return CapturedRequest(
        id=new_id(),
        source=source,
        received_us=received_us,
        remote_addr=text(client[0]) if client else "",
        method=scope["method"],
        path=text(raw_path.decode("latin-1")),
        query_string=scope.get("query_string", b""),
        headers=headers,
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        content_type=text(content_type.decode("latin-1")) if content_type else "",
    )
