"""Baseline: an ASGI app that reads the body and answers 202, under hookyard's server settings."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from hookyard.server import server_config

Scope = MutableMapping[str, Any]


async def app(
    scope: Scope, receive: Callable[[], Awaitable[Scope]], send: Callable[[Scope], Awaitable[None]]
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"id":"01BARE00000000000000000000"}'
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    config = server_config(app, "127.0.0.1", int(sys.argv[1]))
    config.lifespan = "off"
    uvicorn.Server(config).run()
