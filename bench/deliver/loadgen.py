"""Open-loop HTTP/1.1 load generator: POST webhooks at a fixed rate (or as fast as it can).

Usage: python bench/deliver/loadgen.py --port P --rate R --duration S --out FILE
           [--path /in/bench] [--connections 64] [--prefix run1]

Request ``i`` is due at ``start + i / rate`` whatever happened to the earlier ones
(open loop: a slow server does not slow the offered load; a request that finds every
connection busy goes out late and its lateness is recorded). ``--rate 0`` sends
back to back on every connection. Raw asyncio streams on uvloop, keep-alive, so the
generator costs a fraction of what the server under test does.

Writes JSON to ``--out``: start/end wall-clock ns and one record per request,
``[scheduled_ns, sent_ns, done_ns, status, hookyard_id]`` (``done_ns`` is when the
whole response was read; ``hookyard_id`` is the ``X-Hookyard-Id`` response header).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import random
import signal
import time
from pathlib import Path

import uvloop

EVENT_TYPES = (
    "order.created.v1",
    "order.paid.v1",
    "order.fulfilled.v1",
    "invoice.paid.v1",
    "customer.updated.v1",
    "payment_intent.succeeded.v1",
)
NAMES = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov")


def body_templates(count: int = 64, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """JSON bodies of ~1.8 KB with varied, not very compressible content, split at the id."""
    rng = random.Random(seed)
    templates = []
    for k in range(count):
        name = rng.choice(NAMES)
        doc = {
            "id": "\x00",
            "type": rng.choice(EVENT_TYPES),
            "created": 1_700_000_000 + k,
            "livemode": False,
            "data": {
                "object": {
                    "customer": {
                        "name": name,
                        "email": name.lower().replace(" ", ".") + "@example.com",
                        "address": {"city": rng.choice(("Lyon", "Oslo", "Quito")), "zip": k},
                    },
                    "items": [
                        {
                            "sku": f"SKU-{rng.getrandbits(40):010x}",
                            "quantity": rng.randint(1, 9),
                            "unit_amount": rng.randint(100, 99_999),
                            "currency": "eur",
                        }
                        for _ in range(8)
                    ],
                    "metadata": {
                        "note": base64.b64encode(rng.randbytes(450)).decode(),
                        "channel": rng.choice(("web", "pos", "api")),
                    },
                }
            },
        }
        text = json.dumps(doc, separators=(",", ":")).encode()
        before, _, after = text.partition(b"\\u0000")
        templates.append((before, after))
    return templates


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.templates = body_templates()
        self.counter = itertools.count()
        self.records: list[tuple[int, int, int, int, str]] = []
        self.errors = 0
        self.head = (
            f"POST {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
            "Content-Type: application/json\r\nUser-Agent: hookyard-bench\r\n"
        ).encode()

    def request(self, index: int) -> bytes:
        event_id = f"{self.args.prefix}-{index}".encode()
        before, after = self.templates[index % len(self.templates)]
        body = before + event_id + after
        return (
            self.head
            + b"X-Event-Id: "
            + event_id
            + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )

    async def run(self) -> None:
        args = self.args
        self.start_mono = time.monotonic() + 0.2  # every connection is open by then
        self.start_ns = time.time_ns() + 200_000_000
        self.end_mono = self.start_mono + args.duration
        # SIGTERM ends the run early, results kept (bench/purge stops it when its purge ends).
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.stop)
        await asyncio.gather(*(self.connection() for _ in range(args.connections)))
        self.end_ns = time.time_ns()

    def stop(self) -> None:
        self.end_mono = time.monotonic()

    async def connection(self) -> None:
        args = self.args
        reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
        interval = 1.0 / args.rate if args.rate > 0 else 0.0
        try:
            while True:
                index = next(self.counter)
                if interval:
                    due = self.start_mono + index * interval
                    if due >= self.end_mono:
                        return
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    scheduled = self.start_ns + int(index * interval * 1e9)
                else:
                    delay = self.start_mono - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if time.monotonic() >= self.end_mono:
                        return
                    scheduled = 0
                sent = time.time_ns()
                try:
                    writer.write(self.request(index))
                    status, hookyard_id = await read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    self.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
                    continue
                self.records.append((scheduled or sent, sent, time.time_ns(), status, hookyard_id))
        finally:
            writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, str]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    hookyard_id = ""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"x-hookyard-id":
            hookyard_id = value.strip().decode()
    if length:
        await reader.readexactly(length)
    return status, hookyard_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/in/bench")
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s; 0 = max")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--prefix", default="evt")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    generator = Generator(args)
    uvloop.run(generator.run())
    args.out.write_text(
        json.dumps(
            {
                "start_ns": generator.start_ns,
                "end_ns": generator.end_ns,
                "errors": generator.errors,
                "records": generator.records,
            }
        )
    )


if __name__ == "__main__":
    main()
