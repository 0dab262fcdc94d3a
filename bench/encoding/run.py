"""The ingest hot-path cost of decoding gzip bodies for the event id and type.

Usage: ./run bench encoding [--seconds 0.5] [--repeat 5]

Times ``ingest.app.extract`` (the id and type ingest stores, on a 2 KB JSON body with
the headers a provider sends) with and without ``encoding.for_fields`` in front, in the
same run: "off" is extract alone (before the feature), "on" adds the Content-Encoding
check every request pays. A gzip-encoded body of the same JSON is timed too (what a
gzip sender costs: the inflate). Prints requests per second of each and the on/off ratio.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from collections.abc import Callable

from hookyard.config import settings_from_mapping
from hookyard.ingest.app import extract
from hookyard.ingest.encoding import for_fields
from hookyard.signatures.base import SignedMessage

MAX_BODY = 1 << 20
HEADERS = (
    (b"Host", b"hooks.example.com"),
    (b"User-Agent", b"Provider-Hookshot/1.0"),
    (b"Content-Type", b"application/json"),
    (b"Content-Length", b"2048"),
    (b"Accept", b"*/*"),
    (b"X-Request-Id", b"5f8e7c1a-1b2c-4d5e-9f00-0123456789ab"),
    (b"X-Forwarded-For", b"203.0.113.9"),
    (b"Webhook-Id", b"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
)


def body() -> bytes:
    doc = {"id": "evt_1", "type": "order.paid", "data": {"pad": "x" * 1950}}
    return json.dumps(doc).encode()


def rate(call: Callable[[], object], seconds: float) -> float:
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            call()
        done += 200
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    source = settings_from_mapping(
        {"sources": {"shop": {"scheme": "none", "id_field": "id", "type_field": "type"}}}
    ).sources["shop"]
    plain = SignedMessage(HEADERS, body())
    packed = SignedMessage((*HEADERS, (b"Content-Encoding", b"gzip")), gzip.compress(body()))
    assert extract(source, for_fields(packed, MAX_BODY)) == ("evt_1", "order.paid")
    variants: dict[str, Callable[[], object]] = {
        "off: extract, plain body": lambda: extract(source, plain),
        "on: check + extract, plain body": lambda: extract(source, for_fields(plain, MAX_BODY)),
        "on: inflate + extract, gzip body": lambda: extract(source, for_fields(packed, MAX_BODY)),
    }
    best = {
        name: max(rate(call, args.seconds) for _ in range(args.repeat))
        for name, call in variants.items()
    }
    off = best["off: extract, plain body"]
    print(
        f"load average at start: {os.getloadavg()[0]:.2f}; best of {args.repeat} x {args.seconds}s"
    )
    print(f"{'variant':36} {'calls/s':>12} {'µs/call':>9} {'vs off':>7}")
    for name, value in best.items():
        print(f"{name:36} {value:12,.0f} {1e6 / value:9.2f} {value / off:7.2f}")


if __name__ == "__main__":
    main()
