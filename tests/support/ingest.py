"""Driving the ingest app through its ASGI interface, as the server hands requests over.

For tests that need a scope no HTTP client would send (a NUL in the raw path or the
client address) or many requests at once without sockets.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson

from hookyard.asgi import Message, Scope
from hookyard.config import SourceConfig
from hookyard.ingest import IngestApp
from hookyard.signatures import create_scheme

JSON = (b"content-type", b"application/json")


@dataclass(frozen=True)
class Post:
    source: str
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = (JSON,)
    raw_path: bytes | None = None
    client: str = "127.0.0.1"


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict[str, object]


async def call(app: IngestApp, post: Post) -> Answer:
    """One request straight through the ASGI interface, as the server would hand it over."""
    path = f"/in/{post.source}"
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": post.raw_path if post.raw_path is not None else path.encode(),
        "query_string": b"",
        "headers": list(post.headers),
        "client": (post.client, 40000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            await asyncio.Event().wait()  # the client stays connected
        delivered = True
        return {"type": "http.request", "body": post.body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], orjson.loads(body) if body else {})


def sources() -> dict[str, SourceConfig]:
    """``body`` takes the id and type from the JSON body, ``header`` from headers;
    ``signed`` is ``body`` with an HMAC signature in ``X-Signature``."""
    body = create_scheme("none", {"id_field": "id", "type_field": "type"})
    header = create_scheme("none", {"id_header": "X-Event-Id", "type_header": "X-Event-Type"})
    signed = create_scheme("hmac", {"id_field": "id", "type_field": "type"})
    return {
        "body": SourceConfig(name="body", scheme_name="none", scheme=body),
        "header": SourceConfig(name="header", scheme_name="none", scheme=header),
        "signed": SourceConfig(
            name="signed", scheme_name="hmac", scheme=signed, secrets=("s3cret",)
        ),
    }
