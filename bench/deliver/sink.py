"""The local sink deliveries go to: a bare ASGI app that answers 200 and records receipts.

Usage: python bench/deliver/sink.py PORT

``POST /hook`` (any path but the control ones): records the wall-clock receipt time
(``time.time_ns()``, taken before the body is read) and the ``X-Hookyard-Id`` header,
answers 200 with a two-byte body.
Control paths, for the runner: ``GET /_stats`` → ``{"requests": N, "unique": U}``;
``GET /_dump`` → one ``RECEIPT_NS ID`` line per request since the last reset;
``POST /_reset`` forgets everything.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Scope]]
Send = Callable[[Scope], Awaitable[None]]

times: list[int] = []
ids: list[bytes] = []
seen: set[bytes] = set()
OK_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"2")]


async def respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    received = time.time_ns()
    path = scope["path"]
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if not path.startswith("/_"):
        hookyard_id = b"-"
        for name, value in scope["headers"]:
            if name == b"x-hookyard-id":
                hookyard_id = value
                break
        times.append(received)
        ids.append(hookyard_id)
        seen.add(hookyard_id)
        await send({"type": "http.response.start", "status": 200, "headers": OK_HEADERS})
        await send({"type": "http.response.body", "body": b"ok"})
    elif path == "/_stats":
        stats = {"requests": len(times), "unique": len(seen)}
        await respond(send, 200, json.dumps(stats).encode(), b"application/json")
    elif path == "/_dump":
        lines = b"".join(b"%d %s\n" % pair for pair in zip(times, ids, strict=True))
        await respond(send, 200, lines, b"text/plain")
    elif path == "/_reset":
        times.clear()
        ids.clear()
        seen.clear()
        await respond(send, 200, b"{}", b"application/json")
    else:
        await respond(send, 404, b"{}", b"application/json")


if __name__ == "__main__":
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=False,
        backlog=2048,
    )
    uvicorn.Server(config).run()
