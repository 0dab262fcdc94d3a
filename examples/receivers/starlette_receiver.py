"""A Standard Webhooks receiver that passes the whole conformance battery (Starlette).

What it does, each for a reason the battery checks:

- verifies the raw body bytes, never re-serialised JSON (tampered-body);
- accepts any ``v1`` signature in the header, so key rotation does not break it;
- rejects timestamps more than ``tolerance`` seconds off, in both directions, so a
  captured request cannot be replayed later (stale-timestamp, future-timestamp);
- remembers ``webhook-id`` and answers a repeat with 200 without processing it again,
  because providers retry anything that is not 2xx (duplicate-delivery,
  duplicate-side-effect);
- stops reading a body past ``max_body_bytes`` (oversized-body).

The dedup set lives in memory to keep the example short; a real receiver keeps it where
its side effects are committed (a unique index on the message id, in one transaction).

    WEBHOOK_SECRET=whsec_... uvicorn --app-dir examples/receivers starlette_receiver:app
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEMO_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the public demo key
MAX_BODY_BYTES = 1024 * 1024
TOLERANCE_SECONDS = 300


class TooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


def signature_matches(key: bytes, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    content = f"{msg_id}.{timestamp}.".encode() + body
    expected = hmac.new(key, content, hashlib.sha256).digest()
    found = False
    for entry in header.split(" "):
        version, _, signature = entry.partition(",")
        try:
            received = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            continue
        found |= version == "v1" and hmac.compare_digest(expected, received)
    return found


def create_app(
    secret: str = DEMO_SECRET,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    max_body_bytes: int = MAX_BODY_BYTES,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    seen: set[str] = set()
    processed: list[str] = []  # stands in for the work a real handler does

    async def webhook(request: Request) -> JSONResponse:
        try:
            body = await read_limited(request, max_body_bytes)
        except TooLarge:
            return JSONResponse({"error": "body too large"}, status_code=413)
        msg_id = request.headers.get("webhook-id")
        timestamp = request.headers.get("webhook-timestamp", "")
        signature = request.headers.get("webhook-signature")
        # ASCII digits, bounded: int() of a huge or non-ASCII "number" raises, a 500.
        well_formed = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
        if not msg_id or not signature or not well_formed:
            return JSONResponse({"error": "missing or malformed webhook headers"}, status_code=400)
        if not signature_matches(key, msg_id, timestamp, body, signature):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if abs(clock() - int(timestamp)) > tolerance:
            return JSONResponse({"error": "timestamp outside the window"}, status_code=401)
        if msg_id in seen:
            return JSONResponse({"duplicate": True}, status_code=200)
        seen.add(msg_id)
        processed.append(msg_id)
        return JSONResponse({"ok": True}, status_code=202)

    async def count(request: Request) -> JSONResponse:
        return JSONResponse({"count": len(processed)})

    return Starlette(
        routes=[
            Route("/webhooks", webhook, methods=["POST"]),
            Route("/count", count, methods=["GET"]),
        ]
    )


app = create_app(os.environ.get("WEBHOOK_SECRET", DEMO_SECRET))
