"""A deliberately weak Standard Webhooks receiver. Do not copy it: it is a test target.

It gets the signature right (raw body bytes, every signature in the header, constant-time
comparison) and refuses oversized bodies, so it looks finished. It has the two gaps that
most hand-written receivers ship with:

- **no timestamp window**: a request captured today is still accepted next year, and one
  dated in the future is accepted too;
- **no dedup**: every provider retry of a message runs the side effect again.

``hookyard conformance`` catches exactly those (stale-timestamp, future-timestamp,
duplicate-side-effect) and passes everything else. Run it with::

    WEBHOOK_SECRET=whsec_... uvicorn --app-dir examples/receivers weak_receiver:app --port 8001
    hookyard conformance http://127.0.0.1:8001/webhooks --scheme standard-webhooks \\
        --secret whsec_... --side-effect-url /count

Plain ASGI, standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

DEMO_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the public demo key
MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class WeakReceiver:
    """POST /webhooks verifies and "processes" an event; GET /count says how many were."""

    def __init__(self, secret: str, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.key = base64.b64decode(secret.removeprefix("whsec_"))
        self.max_body_bytes = max_body_bytes
        self.processed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan to speak of
        route = (scope["method"], scope["path"])
        if route == ("GET", "/count"):
            await respond(send, 200, {"count": self.processed})
        elif route == ("POST", "/webhooks"):
            await self.webhook(scope, receive, send)
        else:
            await respond(send, 404, {"error": "not found"})

    async def webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await read_body(receive, self.max_body_bytes)
        except BodyTooLarge:
            await respond(send, 413, {"error": "body too large"})
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        msg_id = headers.get("webhook-id")
        timestamp = headers.get("webhook-timestamp")
        signatures = headers.get("webhook-signature")
        if not msg_id or not timestamp or not signatures:
            await respond(send, 400, {"error": "missing webhook headers"})
            return
        if not self.signed(msg_id, timestamp, body, signatures):
            await respond(send, 401, {"error": "bad signature"})
            return
        # GAP 1: the timestamp is signed but never compared with the clock.
        # GAP 2: webhook-id is never remembered, so a retry is processed again.
        self.processed += 1
        await respond(send, 200, {"ok": True})

    def signed(self, msg_id: str, timestamp: str, body: bytes, signatures: str) -> bool:
        content = f"{msg_id}.{timestamp}.".encode() + body
        expected = hmac.new(self.key, content, hashlib.sha256).digest()
        for entry in signatures.split(" "):
            version, _, signature = entry.partition(",")
            if version != "v1":
                continue
            try:
                received = base64.b64decode(signature, validate=True)
            except (binascii.Error, ValueError):
                continue
            if hmac.compare_digest(expected, received):
                return True
        return False


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(secret: str = DEMO_SECRET, *, max_body_bytes: int = MAX_BODY_BYTES) -> WeakReceiver:
    return WeakReceiver(secret, max_body_bytes=max_body_bytes)


app = create_app(os.environ.get("WEBHOOK_SECRET", DEMO_SECRET))
