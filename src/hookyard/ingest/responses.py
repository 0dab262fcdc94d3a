"""The few responses ingest sends, written straight to the ASGI ``send`` callable."""

from __future__ import annotations

from typing import Any

import orjson

from hookyard.asgi import Send


async def send_json(
    send: Send,
    status: int,
    payload: dict[str, Any],
    *,
    record_id: str | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = orjson.dumps(payload)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if record_id is not None:
        headers.append((b"x-hookyard-id", record_id.encode()))
    if extra_headers:
        headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send,
    status: int,
    error: str,
    detail: str,
    *,
    record_id: str | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload: dict[str, Any] = {"error": error, "detail": detail}
    if record_id is not None:
        payload["id"] = record_id
    await send_json(send, status, payload, record_id=record_id, extra_headers=extra_headers)


async def send_text(send: Send, status: int, text: str, *, record_id: str | None = None) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if record_id is not None:
        headers.append((b"x-hookyard-id", record_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
