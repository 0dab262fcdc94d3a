"""Purge benchmark: rows purged per second, and ingest latency while a purge runs.

Usage: ./run bench purge [--rows 1000000] [--rate 500] [--duration 20] [--batch 500]
           [--pause 0.05] [--no-sqlite] [--no-postgres]

For each backend the schema comes from ``hookyard migrate``; then ``--rows`` events
received 40 days ago are bulk-loaded with what a delivered event has: one delivered
dispatch, its attempt, and a dedup key whose window has passed (SQLite: ``executemany``
in one transaction; PostgreSQL: ``COPY`` into a throwaway ``hookyard_bench_purge``).
A ``hookyard serve`` process then takes fixed-rate ingest (``bench/deliver/loadgen.py``,
open loop, ``--rate`` requests/s) twice:

- **baseline**: ``--duration`` seconds of ingest, nothing else running;
- **purge**: the same ingest while ``hookyard purge --older-than 30d`` runs in its own
  process, until the purge ends (ingest keeps going for as long).

The table shows the purge's rows per second (events, and all rows: events, dispatches,
attempts, dedup keys), its wall time, and ingest p50/p99/max (scheduled send to full
answer, lateness included) in each phase, with the ratio purge/baseline. Every request
must be answered 202, and every event loaded must be gone at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from common import free_port, percentile, pg_database, pg_reachable, stop, wait_ready

from hookyard.clock import now_us
from hookyard.ids import UlidFactory
from hookyard.models import encode_headers

PG_DATABASE = "hookyard_bench_purge"
CHUNK = 20_000
DAY_US = 86_400 * 1_000_000
ROOT = Path(__file__).resolve().parents[2]
LOADGEN = ROOT / "bench" / "deliver" / "loadgen.py"
CONFIG = '[sources.bench]\nscheme = "none"\nid_field = "id"\n\n[server]\naccess_log = false\n'

EVENT_COLUMNS = (
    "id",
    "source",
    "received_us",
    "remote_addr",
    "method",
    "path",
    "query_string",
    "headers",
    "body",
    "body_sha256",
    "body_size",
    "content_type",
    "verdict",
    "verdict_reason",
    "verdict_detail",
    "secret_index",
    "provider_event_id",
    "event_type",
)
SQLITE_EXTRA = ("status", "duplicate_count")
DISPATCH_COLUMNS = (
    "id",
    "event_id",
    "destination",
    "status",
    "attempts",
    "created_us",
    "updated_us",
    "last_status_code",
)
ATTEMPT_COLUMNS = (
    "dispatch_id",
    "number",
    "started_us",
    "latency_ms",
    "status_code",
    "response_headers",
    "response_excerpt",
    "decision",
)
DEDUP_COLUMNS = ("source", "provider_event_id", "event_id", "first_seen_us", "expires_us")


@dataclass
class Phase:
    latencies_ms: list[float]
    statuses: dict[int, int]

    def pct(self, p: float) -> float:
        return percentile(sorted(self.latencies_ms), p)


@dataclass
class Result:
    backend: str
    load_s: float
    purge: dict[str, Any]
    baseline: Phase
    during: Phase
    left: int


def chunks(rows: int, base_us: int) -> Iterator[list[tuple[tuple[Any, ...], ...]]]:
    """Rows of events, dispatches, attempts and dedup keys, ``CHUNK`` events at a time."""
    ids = UlidFactory()
    headers = encode_headers(((b"Content-Type", b"application/json"), (b"User-Agent", b"b/1")))
    for start in range(0, rows, CHUNK):
        batch = []
        for i in range(start, min(rows, start + CHUNK)):
            t = base_us + i * 1000
            event_id = ids.new(now_ms=t // 1000)
            body = json.dumps({"id": f"evt_{i}", "type": "order.paid", "pad": "x" * 400}).encode()
            event = (
                event_id,
                "bench",
                t,
                "127.0.0.1",
                "POST",
                "/in/bench",
                b"",
                headers,
                body,
                hashlib.sha256(body).hexdigest(),
                len(body),
                "application/json",
                "unsigned",
                "",
                "{}",
                None,
                f"evt_{i}",
                "order.paid",
            )
            dispatch = (f"d{event_id}", event_id, "sink", "delivered", 1, t, t, 200)
            attempt = (f"d{event_id}", 1, t, 3.0, 200, "[]", b"ok", "delivered")
            dedup = ("bench", f"evt_{i}", event_id, t, t + 3600 * 1_000_000)
            batch.append((event, dispatch, attempt, dedup))
        yield [tuple(column) for column in zip(*batch, strict=True)]


def migrate(url: str) -> None:
    command = [sys.executable, "-m", "hookyard", "migrate", "--db", url]
    subprocess.run(command, check=True, capture_output=True, timeout=300)


def insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def load_sqlite(path: Path, rows: int, base_us: int) -> float:
    migrate(f"sqlite:///{path}")
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        for events, dispatches, attempts, dedup in chunks(rows, base_us):
            conn.executemany(
                insert("events", EVENT_COLUMNS + SQLITE_EXTRA),
                [(*e, "delivered", 0) for e in events],
            )
            conn.executemany(insert("dispatches", DISPATCH_COLUMNS), dispatches)
            conn.executemany(insert("attempts", ATTEMPT_COLUMNS), attempts)
            conn.executemany(insert("dedup_keys", DEDUP_COLUMNS), dedup)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


async def load_postgres(url: str, rows: int, base_us: int) -> float:
    await asyncio.to_thread(migrate, url)
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        for events, dispatches, attempts, dedup in chunks(rows, base_us):
            await conn.copy_records_to_table("events", records=events, columns=EVENT_COLUMNS)
            await conn.copy_records_to_table(
                "event_status",
                records=[(e[0], "delivered") for e in events],
                columns=("event_id", "status"),
            )
            await conn.copy_records_to_table(
                "dispatches", records=dispatches, columns=DISPATCH_COLUMNS
            )
            await conn.copy_records_to_table("attempts", records=attempts, columns=ATTEMPT_COLUMNS)
            await conn.copy_records_to_table("dedup_keys", records=dedup, columns=DEDUP_COLUMNS)
        for table in ("events", "event_status", "dispatches", "attempts", "dedup_keys"):
            await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()
    return time.perf_counter() - started


def hookyard(*args: str) -> list[str]:
    return [sys.executable, "-m", "hookyard", *args]


def ingest(
    port: int, rate: float, duration: float, out: Path, prefix: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(LOADGEN),
            "--port",
            str(port),
            "--rate",
            str(rate),
            "--duration",
            str(duration),
            "--connections",
            "32",
            "--prefix",
            prefix,
            "--out",
            str(out),
        ]
    )


def phase(out: Path, window: tuple[int, int] | None = None) -> Phase:
    """Latency of the requests scheduled inside ``window`` (wall-clock ns), or all."""
    data = json.loads(out.read_text())
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for scheduled, _sent, done, status, _id in data["records"]:
        if window is not None and not window[0] <= scheduled <= window[1]:
            continue
        statuses[status] = statuses.get(status, 0) + 1
        if done:
            latencies.append((done - scheduled) / 1e6)
    return Phase(latencies, statuses)


def measure(
    url: str, args: argparse.Namespace, workdir: Path, backend: str, load_s: float
) -> Result:
    config = workdir / "hookyard.toml"
    config.write_text(CONFIG)
    port = free_port()
    log = workdir / f"serve-{backend}.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            hookyard("serve", "--config", str(config), "--db", url, "--port", str(port)),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", server, log)
        base_out = workdir / f"baseline-{backend}.json"
        ingest(port, args.rate, args.duration, base_out, f"{backend}-base").wait()
        baseline = phase(base_out)
        during_out = workdir / f"during-{backend}.json"
        # Ingest long enough to outlast the purge; stopped once the purge is done.
        load = ingest(port, args.rate, 3600, during_out, f"{backend}-purge")
        time.sleep(2)  # past the generator's start-up
        began = time.time_ns()
        done = subprocess.run(
            hookyard(
                "purge",
                "--config",
                str(config),
                "--db",
                url,
                "--older-than",
                "30d",
                "--json",
                "--batch",
                str(args.batch),
                "--pause",
                str(args.pause),
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        ended = time.time_ns()
        load.terminate()  # the generator writes what it has on SIGTERM
        load.wait(timeout=60)
        if done.returncode != 0:
            raise SystemExit(f"purge failed: {done.stderr}")
        purge = json.loads(done.stdout)
        during = phase(during_out, (began, ended)) if during_out.exists() else Phase([], {})
    finally:
        stop(server)
    return Result(backend, load_s, purge, baseline, during, count_left(url))


def count_left(url: str) -> int:
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            n: int = conn.execute(
                "SELECT count(*) FROM events WHERE received_us < ?", (now_us() - 30 * DAY_US,)
            ).fetchone()[0]
            return n
        finally:
            conn.close()

    async def run() -> int:
        conn = await asyncpg.connect(url)
        try:
            left: int = await conn.fetchval(
                "SELECT count(*) FROM events WHERE received_us < $1", now_us() - 30 * DAY_US
            )
            return left
        finally:
            await conn.close()

    return asyncio.run(run())


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"\npurge of {args.rows:,} events beside ingest at {args.rate:g} req/s "
        f"(batch {args.batch}, pause {args.pause:g} s; load average {os.getloadavg()[0]:.2f})"
    )
    head = (
        f"{'backend':9} {'load s':>7} {'purge s':>8} {'events/s':>9} {'rows/s':>9} "
        f"{'left':>5} | {'phase':8} {'reqs':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'p99 x':>6} statuses"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        p = r.purge
        rows = p["events"] + p["dispatches"] + p["attempts"] + p["dedup_keys"]
        seconds = max(p["seconds"], 1e-9)
        left = f"{r.backend:9} {r.load_s:7.1f} {seconds:8.1f} {p['events'] / seconds:9,.0f} "
        left += f"{rows / seconds:9,.0f} {r.left:5} | "
        for name, ph in (("baseline", r.baseline), ("purge", r.during)):
            ratio = ph.pct(99) / r.baseline.pct(99) if r.baseline.latencies_ms else float("nan")
            print(
                f"{left if name == 'baseline' else ' ' * (len(left) - 2) + '| '}{name:8} "
                f"{len(ph.latencies_ms):6} {ph.pct(50):7.2f} {ph.pct(99):7.2f} "
                f"{max(ph.latencies_ms, default=float('nan')):7.1f} {ratio:6.2f} {ph.statuses}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--pause", type=float, default=0.05)  # hookyard purge's default
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    base_us = now_us() - 40 * DAY_US - args.rows * 1000
    results = []
    with tempfile.TemporaryDirectory(prefix="hookyard-bench-purge-") as tmp:
        workdir = Path(tmp)
        if not args.no_sqlite:
            path = workdir / "purge.db"
            print(f"loading {args.rows:,} events into SQLite ...", flush=True)
            load_s = load_sqlite(path, args.rows, base_us)
            results.append(measure(f"sqlite:///{path}", args, workdir, "sqlite", load_s))
            path.unlink()
        if not args.no_postgres and pg_reachable():
            url = asyncio.run(pg_database(PG_DATABASE))
            try:
                print(f"loading {args.rows:,} events into PostgreSQL ...", flush=True)
                load_s = asyncio.run(load_postgres(url, args.rows, base_us))
                results.append(measure(url, args, workdir, "postgres", load_s))
            finally:
                asyncio.run(pg_database(PG_DATABASE, drop=True))
    report(results, args)


if __name__ == "__main__":
    main()
