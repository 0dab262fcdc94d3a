"""Header redaction on the ingest hot path: on against off, in one process, one run.

Usage: ./run bench redaction [--requests 20000] [--rounds 5]

The ingest app (``IngestApp``, everything ``POST /in/{source}`` does: capture, verify,
extract, redact, submit, answer) is driven through its ASGI interface in process, on the
in-memory store, so no socket, disk or fsync hides the cost: the ratio shown is the
worst case, what redaction adds to ingest's own CPU. Source ``on`` has the default
``redact_headers``; ``off`` has ``redact_headers = []``. Each request carries 8 headers,
``Authorization`` and ``Cookie`` among them (so ``on`` rewrites the list every time).
Rounds alternate on/off to spread drift; the best round of each is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time

from hookyard.asgi import Message, Scope
from hookyard.config import Settings, settings_from_mapping
from hookyard.ingest import IngestApp
from hookyard.store.memory import MemoryStore

HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"provider/1.0"),
    (b"content-type", b"application/json"),
    (b"content-length", b"0"),
    (b"authorization", b"Bearer live_0123456789abcdef"),
    (b"cookie", b"session=abcdef; theme=dark"),
    (b"x-request-id", b"req_1"),
    (b"accept", b"*/*"),
]
BODY = b'{"id": "evt", "type": "order.created", "data": {"pad": "' + b"x" * 1900 + b'"}}'


async def drive(settings: Settings, source: str, count: int) -> float:
    """Requests per second over ``count`` requests to ``source``, on a fresh store (a
    store grown by earlier rounds would make later ones slower)."""
    store = MemoryStore(queue_size=1_000_000)
    await store.start()
    app = IngestApp(settings.sources, store, access_log=False)
    try:
        return await _drive(app, source, count)
    finally:
        await store.close()


async def _drive(app: IngestApp, source: str, count: int) -> float:
    headers = [(n, str(len(BODY)).encode() if n == b"content-length" else v) for n, v in HEADERS]
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    started = time.perf_counter()
    for start in range(0, count, 256):  # concurrent like a loaded server: group commits
        batch = []
        for _ in range(min(256, count - start)):
            scope: Scope = {
                "type": "http",
                "method": "POST",
                "scheme": "http",
                "path": f"/in/{source}",
                "raw_path": f"/in/{source}".encode(),
                "query_string": b"",
                "headers": headers,
                "client": ("127.0.0.1", 40000),
            }
            batch.append(app(scope, receive, send))
        await asyncio.gather(*batch)
        sent.clear()
    return count / (time.perf_counter() - started)


async def main_async(requests: int, rounds: int) -> None:
    settings = settings_from_mapping(
        {"server": {"access_log": False}, "sources": {"on": {}, "off": {"redact_headers": []}}}
    )
    best = {"on": 0.0, "off": 0.0}
    await drive(settings, "off", 2000)  # warm-up
    for round_ in range(rounds):
        order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
        for source in order:
            gc.collect()
            best[source] = max(best[source], await drive(settings, source, requests))
    print(
        f"\nheader redaction on the ingest path ({requests:,} requests x {rounds} rounds, "
        f"best round; load average {os.getloadavg()[0]:.2f})"
    )
    print(f"{'variant':24} {'req/s':>10} {'ratio':>7}")
    print(f"{'off (redact_headers=[])':24} {best['off']:10,.0f} {1.0:7.3f}")
    print(f"{'on (default)':24} {best['on']:10,.0f} {best['on'] / best['off']:7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main_async(args.requests, args.rounds))


if __name__ == "__main__":
    main()
