"""Mirror benchmark: ingest req/s with a mirror (sample_rate = 1, to a local sink) against
the same ingest without one, in one run, on each backend; then how fast the lane copies.

Usage: ./run bench mirror [--duration 10] [--rounds 2] [--connections 32] [--no-postgres]
       [--no-sqlite]

The variants alternate (none then mirror, mirror then none, ...) so drift on this
machine hits both; the summary gives the ratio of the best round of each and the median
of the rounds' own ratios. The lane runs in serve's child process,
as in production, and reads the event log while wrk posts. After wrk stops, the run
waits for the lane to drain and reports copies/s from the sink's receipt times (first to
last copy) and how many of the stored events were copied (all, unless the lane lagged
past max_lag and skipped some, which it counts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import common
import httpx
from common import free_port, pg_database, wait_ready

HERE = Path(__file__).resolve().parent
POST = HERE.parent / "ingest" / "post.lua"
SINK = HERE.parent / "deliver" / "sink.py"
BASE = """
[server]
queue_size = 20000
allow_networks = ["127.0.0.0/8"]
access_log = false
[sources.bench]
scheme = "none"
id_header = "X-Event-Id"
"""
MIRROR = """
[mirrors.staging]
sources = ["bench"]
url = "http://127.0.0.1:{port}/staging"
sample_rate = 1
"""


def serve(workdir: Path, db: str, config: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    path = workdir / f"bench-{port}.toml"
    path.write_text(config)
    command = [sys.executable, "-m", "hookyard", "serve", "--config", str(path), "--db", db]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
    return proc, port


def wait_for_lane(db: str, seconds: float = 60) -> None:
    """Until the lane child has started and beaten once (its row in ``mirror_lanes``),
    so the child's own start-up (imports, store, migrations check) is not in the run."""

    async def beaten() -> bool:
        if db.startswith("sqlite:///"):
            with contextlib.closing(sqlite3.connect(db.removeprefix("sqlite:///"))) as file:
                try:
                    rows = file.execute("SELECT 1 FROM mirror_lanes").fetchall()
                except sqlite3.OperationalError:
                    return False
                return bool(rows)
        server = await asyncpg.connect(db)
        try:
            return bool(await server.fetchval("SELECT count(*) FROM mirror_lanes"))
        finally:
            await server.close()

    deadline = time.monotonic() + seconds
    while not asyncio.run(beaten()):
        if time.monotonic() > deadline:
            raise SystemExit("the mirror lane did not start")
        time.sleep(0.2)
    time.sleep(0.5)


def ingest(port: int, duration: int, connections: int) -> dict[str, float]:
    data = common.run_wrk(POST, f"http://127.0.0.1:{port}/in/bench", duration, connections)
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p99_ms": data["p99_us"] / 1000,
        "ok": data["requests"] - data["non2xx"],
    }


def sink_stats(sink_port: int) -> tuple[int, list[int]]:
    stats = httpx.get(f"http://127.0.0.1:{sink_port}/_stats").json()
    dump = httpx.get(f"http://127.0.0.1:{sink_port}/_dump", timeout=30).text
    times = [int(line.split()[0]) for line in dump.splitlines() if line]
    return int(stats["unique"]), times


def drain(sink_port: int, expected: int, seconds: float = 120) -> tuple[int, list[int]]:
    """Wait until the sink holds ``expected`` copies or stops growing for five seconds."""
    last, still_since = -1, time.monotonic()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        unique, _ = sink_stats(sink_port)
        if unique >= expected:
            break
        if unique != last:
            last, still_since = unique, time.monotonic()
        elif time.monotonic() - still_since > 5:
            break
        time.sleep(0.5)
    return sink_stats(sink_port)


def round_trip(
    workdir: Path, db: str, sink_port: int, mirrored: bool, args: argparse.Namespace
) -> dict[str, Any]:
    os.sync()
    config = BASE + (MIRROR.format(port=sink_port) if mirrored else "")
    httpx.post(f"http://127.0.0.1:{sink_port}/_reset")
    proc, port = serve(workdir, db, config)
    try:
        if mirrored:
            wait_for_lane(db)
        before = common.cpu_seconds_by_role()
        result: dict[str, Any] = dict(ingest(port, args.duration, args.connections))
        during = common.cpu_seconds_by_role()
        if mirrored:
            result["copies_during"], _ = sink_stats(sink_port)
            ended = time.monotonic()
            copies, times = drain(sink_port, int(result["ok"]))
            result["drained_s"] = time.monotonic() - ended
            span = (max(times) - min(times)) / 1e9 if len(times) > 1 else float("nan")
            result["copies"] = copies
            result["copies_per_s"] = len(times) / span if span else float("nan")
        result["cpu"] = cpu_split(before, during, args.duration)
    finally:
        proc.terminate()
        proc.wait()
    return result


def cpu_split(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """Where the CPU went while wrk posted: cores used by each role."""
    roles = ("serve", "postgres", "lane", "wrk", "sink", "idle", "waited")
    used = {role: (after.get(role, 0.0) - before.get(role, 0.0)) / seconds for role in roles}
    return " ".join(f"{role} {used[role]:.2f}" for role in roles if used[role] >= 0.005)


def bench_backend(
    label: str, db_for: Callable[[Path, int, bool], str], sink_port: int, args: argparse.Namespace
) -> None:
    best: dict[bool, dict[str, Any]] = {}
    paired: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(args.rounds):
            # Each round runs both, in turn first, so drift does not favour one.
            rates: dict[bool, float] = {}
            for mirrored in (False, True) if round_number % 2 == 0 else (True, False):
                db = db_for(Path(tmp), round_number, mirrored)
                result = round_trip(Path(tmp), db, sink_port, mirrored, args)
                tag = "mirror" if mirrored else "none"
                extra = ""
                if mirrored:
                    extra = (
                        f"  copies {int(result['copies'])}/{int(result['ok'])}"
                        f" ({int(result['copies_during'])} while wrk ran,"
                        f" the rest within {result['drained_s']:.1f} s)"
                        f"  lane {result['copies_per_s']:,.0f} copies/s"
                    )
                print(
                    f"  {label:<10} {tag:<7} round {round_number + 1}: "
                    f"{result['rps']:>8,.0f} req/s  p99 {result['p99_ms']:6.1f} ms{extra}"
                    f"  cores: {result['cpu']}",
                    flush=True,
                )
                rates[mirrored] = result["rps"]
                if mirrored not in best or result["rps"] > best[mirrored]["rps"]:
                    best[mirrored] = result
            paired.append(rates[True] / rates[False])
    ratio = best[True]["rps"] / best[False]["rps"]
    print(
        f"{label}: ingest with mirror / without = {ratio:.2f} best of each, "
        f"{statistics.median(paired):.2f} median of the rounds' ratios "
        f"({', '.join(f'{r:.2f}' for r in paired)}; target >= 0.95); "
        f"lane {best[True]['copies_per_s']:,.0f} copies/s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    sink_port = free_port()
    # The sink stands for a staging server on another machine: at the lowest priority it
    # takes only CPU that ingest leaves idle, as a separate machine's would take none.
    sink = subprocess.Popen(
        ["nice", "-n", "19", sys.executable, str(SINK), str(sink_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{sink_port}/_stats", sink)

        def sqlite_db(tmp: Path, round_number: int, mirrored: bool) -> str:
            return f"sqlite:///{tmp}/r{round_number}-{int(mirrored)}.db"

        if not args.no_sqlite:
            bench_backend("sqlite", sqlite_db, sink_port, args)
        if not args.no_postgres and common.pg_reachable():

            def pg_db(tmp: Path, round_number: int, mirrored: bool) -> str:
                return asyncio.run(pg_database("hookyard_bench_mirror"))

            bench_backend("postgres", pg_db, sink_port, args)
            asyncio.run(pg_database("hookyard_bench_mirror", drop=True))
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
