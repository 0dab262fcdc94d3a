"""A fast local receiver for the replay benchmark: answers 200 to every POST, keeps a tally.

Usage: python bench/replay/sink.py PORT

Plain asyncio (uvloop when installed), HTTP/1.1 keep-alive, ``Content-Length`` bodies.
``GET /_stats`` → ``{"requests": N, "bytes": B, "digest": D, "replays": R}``, where ``D``
is the sum of every body's SHA-256 modulo 2**256 (order-free, so the runner can check
that the bodies that arrived are exactly the stored ones) and ``R`` counts requests that
carried ``X-Hookyard-Replay-Of``. ``POST /_reset`` zeroes the tally.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys

MOD = 1 << 256
tally = {"requests": 0, "bytes": 0, "digest": 0, "replays": 0}
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP transport writes

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).split(b"\r\n")
            length = 0
            replay = False
            for line in head[1:]:
                name, _, value = line.partition(b":")
                lowered = name.strip().lower()
                if lowered == b"content-length":
                    length = int(value)
                elif lowered == b"x-hookyard-replay-of":
                    replay = True
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.answer(head[0], body, replay)

    def answer(self, request_line: bytes, body: bytes, replay: bool) -> None:
        assert self.transport is not None
        method, path, _ = request_line.split(b" ", 2)
        if path == b"/_stats":
            text = json.dumps({**tally, "digest": str(tally["digest"])}).encode()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(text), text)
            )
            return
        if path == b"/_reset":
            tally.update(requests=0, bytes=0, digest=0, replays=0)
        elif method == b"POST":
            tally["requests"] += 1
            tally["bytes"] += len(body)
            tally["replays"] += replay
            digest = int.from_bytes(hashlib.sha256(body).digest(), "big")
            tally["digest"] = (tally["digest"] + digest) % MOD
        self.transport.write(OK)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", port, backlog=1024)
    print(f"sink listening on {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(int(sys.argv[1])))
    else:
        uvloop.run(main(int(sys.argv[1])))
