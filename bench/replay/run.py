"""Replay throughput benchmark: ``hookyard replay`` to a local sink, against a raw baseline.

Usage: ./run bench replay [--events 20000] [--concurrency 32] [--no-postgres]

One run measures, on the same box and in the same minutes:

- the baseline: plain httpx (one client per worker, the same concurrency) posting the
  same stored bodies to the same sink, with nothing recorded;
- the ceiling: bare asyncio sockets writing the same requests, no HTTP client at all;
- ``hookyard replay --url SINK`` (the real CLI, a subprocess) on SQLite, then on
  PostgreSQL (a throwaway database ``hookyard_bench_replay``, dropped afterwards):
  unsigned, and re-signed with ``standard-webhooks``. Every replay writes its batch, a
  dispatch row and an attempt row per event.

Events are realistic, incompressible JSON bodies of 1-2 KB inserted through the store's
group commit before timing starts. The replay rate is the batch's own (batch created →
finished, as ``GET /api/replays/{id}`` reports it); the command rate adds process start,
selection and shutdown. After each run the sink's order-free digest of the bodies it
received is checked against the stored bodies: byte-identical or the run fails.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import PG_ADMIN, free_port, pg_admin, pg_reachable

from hookyard.ids import new_id
from hookyard.models import CapturedRequest, Submission, Verdict
from hookyard.store import open_store

HERE = Path(__file__).resolve().parent
PG_DATABASE = "hookyard_bench_replay"
TARGET = 2000.0  # events/s
MOD = 1 << 256
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Row:
    variant: str
    events: int
    seconds: float
    rate: float
    command_rate: float | None = None
    checked: bool = True


def body(rng: random.Random, index: int) -> bytes:
    items = [
        {
            "sku": f"SKU-{rng.getrandbits(40):010x}",
            "qty": rng.randint(1, 9),
            "price": rng.randint(100, 99_999),
            "note": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(40)),
        }
        for _ in range(rng.randint(5, 12))
    ]
    document = {
        "id": f"evt_{index:08d}_{rng.getrandbits(48):012x}",
        "type": rng.choice(["order.created", "order.paid", "invoice.sent"]),
        "created": 1_700_000_000 + index,
        "data": {"customer": f"cus_{rng.getrandbits(64):016x}", "items": items},
    }
    return json.dumps(document).encode()


def submission(payload: bytes, index: int) -> Submission:
    request = CapturedRequest(
        id=new_id(),
        source="bench",
        received_us=time.time_ns() // 1000,
        remote_addr="127.0.0.1",
        method="POST",
        path="/in/bench",
        query_string=b"",
        headers=((b"Content-Type", b"application/json"), (b"X-Event-Id", b"evt_%d" % index)),
        body=payload,
        body_sha256=hashlib.sha256(payload).hexdigest(),
        content_type="application/json",
    )
    return Submission(
        request=request,
        verdict=Verdict(status="unsigned", reason="no scheme"),
        provider_event_id=f"evt_{index}",
        event_type="order.created",
        dedup_window_us=3_600_000_000,
    )


async def fill(database: str, bodies: list[bytes]) -> None:
    store = open_store(database, queue_size=len(bodies) + 1)
    await store.start()
    try:
        for start in range(0, len(bodies), 2000):
            chunk = bodies[start : start + 2000]
            await asyncio.gather(
                *(store.submit(submission(b, start + i)) for i, b in enumerate(chunk))
            )
    finally:
        await store.close()


def digest(bodies: list[bytes]) -> int:
    total = 0
    for item in bodies:
        total = (total + int.from_bytes(hashlib.sha256(item).digest(), "big")) % MOD
    return total


def sink_stats(sink: str) -> dict[str, int]:
    data = httpx.get(f"{sink}/_stats", timeout=10).json()
    return {k: int(v) for k, v in data.items()}


def reset(sink: str) -> None:
    httpx.post(f"{sink}/_reset", timeout=10)


async def baseline(sink: str, bodies: list[bytes], concurrency: int) -> float:
    """Plain httpx posting the bodies with replay-like headers; returns seconds.

    Each worker gets its own client with one connection: httpx's best case here (one
    shared pool of many connections was several times slower in this setting).
    """
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    for _ in range(concurrency):
        queue.put_nowait(None)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": "evt_1",
        "X-Hookyard-Replay-Of": "01HZX3Y4Z5A6B7C8D9E0F1G2H3",
    }

    async def work() -> None:
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            while (item := await queue.get()) is not None:
                response = await client.post(f"{sink}/hook", content=item, headers=headers)
                response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(work() for _ in range(concurrency)))
    return time.perf_counter() - started


async def ceiling(sink: str, bodies: list[bytes], concurrency: int) -> float:
    """Bare asyncio streams writing each request and reading each answer: the sink's and
    the loopback's own limit, with no HTTP client at all. Returns seconds."""
    url = httpx.URL(sink)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    for _ in range(concurrency):
        queue.put_nowait(None)

    async def work() -> None:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        while (item := await queue.get()) is not None:
            writer.write(
                b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"X-Hookyard-Replay-Of: x\r\nContent-Length: %d\r\n\r\n%s" % (len(item), item)
            )
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            await reader.readexactly(2)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(work() for _ in range(concurrency)))
    return time.perf_counter() - started


def replay(
    database: str, sink: str, concurrency: int, *, signed: bool
) -> tuple[dict[str, object], float]:
    command = [
        sys.executable,
        "-m",
        "hookyard",
        "replay",
        "--db",
        database,
        "--source",
        "bench",
        "--url",
        f"{sink}/hook",
        "--concurrency",
        str(concurrency),
        "--json",
    ]
    if signed:
        command += ["--sign-scheme", "standard-webhooks", "--sign-secret", SECRET]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"replay failed ({done.returncode}):\n{done.stderr[-3000:]}")
    batch: dict[str, object] = json.loads(done.stdout)
    return batch, elapsed


def check(sink: str, bodies: list[bytes], expected: int, *, replays: bool) -> bool:
    stats = sink_stats(sink)
    ok = stats["requests"] == len(bodies) and stats["digest"] == expected
    if replays:
        ok = ok and stats["replays"] == len(bodies)
    if not ok:
        print(
            f"  !! sink saw {stats['requests']} requests; bodies identical: "
            f"{stats['digest'] == expected}",
            flush=True,
        )
    return ok


def run_backend(
    name: str, database: str, sink: str, bodies: list[bytes], expected: int, concurrency: int
) -> list[Row]:
    print(f"{name}: storing {len(bodies)} events", flush=True)
    asyncio.run(fill(database, bodies))
    rows = []
    for signed in (False, True):
        reset(sink)
        batch, elapsed = replay(database, sink, concurrency, signed=signed)
        assert batch["delivered"] == len(bodies), batch
        seconds = float(batch["seconds"])  # type: ignore[arg-type]
        label = f"hookyard replay, {name}" + (", re-signed" if signed else "")
        rows.append(
            Row(
                label,
                len(bodies),
                seconds,
                len(bodies) / seconds,
                command_rate=len(bodies) / elapsed,
                checked=check(sink, bodies, expected, replays=True),
            )
        )
        print(f"  {label}: {rows[-1].rate:,.0f} events/s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    load = os.getloadavg()
    rng = random.Random(7)
    bodies = [body(rng, i) for i in range(args.events)]
    expected = digest(bodies)
    port = free_port()
    sink = f"http://127.0.0.1:{port}"
    sink_process = subprocess.Popen(
        [sys.executable, str(HERE / "sink.py"), str(port)], stdout=subprocess.DEVNULL
    )
    rows: list[Row] = []
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                reset(sink)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("the sink did not start") from None
                time.sleep(0.05)
        print(
            f"{args.events} events of {sum(map(len, bodies)) // len(bodies)} bytes on average, "
            f"concurrency {args.concurrency}",
            flush=True,
        )
        seconds = asyncio.run(baseline(sink, bodies, args.concurrency))
        rows.append(
            Row(
                "baseline: plain httpx, nothing recorded",
                len(bodies),
                seconds,
                len(bodies) / seconds,
                checked=check(sink, bodies, expected, replays=False),
            )
        )
        print(f"  baseline: {rows[-1].rate:,.0f} events/s", flush=True)
        reset(sink)
        seconds = asyncio.run(ceiling(sink, bodies, args.concurrency))
        rows.append(
            Row(
                "ceiling: bare sockets, no HTTP client",
                len(bodies),
                seconds,
                len(bodies) / seconds,
                checked=check(sink, bodies, expected, replays=True),
            )
        )
        print(f"  ceiling: {rows[-1].rate:,.0f} events/s", flush=True)
        with tempfile.TemporaryDirectory(prefix="hookyard-bench-replay-") as tmp:
            rows += run_backend(
                "SQLite", f"sqlite:///{tmp}/bench.db", sink, bodies, expected, args.concurrency
            )
        if args.no_postgres:
            pass
        elif not pg_reachable():
            print(f"PostgreSQL not reachable at {PG_ADMIN}: skipped", flush=True)
        else:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            asyncio.run(pg_admin(f'CREATE DATABASE "{PG_DATABASE}"'))
            try:
                database = PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"
                rows += run_backend(
                    "PostgreSQL", database, sink, bodies, expected, args.concurrency
                )
            finally:
                asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    finally:
        sink_process.terminate()
        sink_process.wait(timeout=10)
    report(rows, load)


def report(rows: list[Row], load: tuple[float, float, float]) -> None:
    base = rows[0].rate
    print()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"{'variant':<42} {'events':>7} {'seconds':>8} {'events/s':>9} "
        f"{'x baseline':>10} {'command/s':>10} {'bytes ok':>8}"
    )
    for row in rows:
        command = f"{row.command_rate:,.0f}" if row.command_rate else "-"
        print(
            f"{row.variant:<42} {row.events:>7} {row.seconds:>8.2f} {row.rate:>9,.0f} "
            f"{row.rate / base:>10.2f} {command:>10} {'yes' if row.checked else 'NO':>8}"
        )
    replays = [row for row in rows if row.variant.startswith("hookyard")]
    if replays:
        worst = min(r.rate for r in replays)
        verdict = "met" if worst >= TARGET else "NOT met"
        print(f"\ntarget >= {TARGET:,.0f} events/s replayed: {verdict} (slowest {worst:,.0f}/s)")
    if not all(r.checked for r in rows):
        raise SystemExit("some bodies did not arrive byte-identical")


if __name__ == "__main__":
    main()
