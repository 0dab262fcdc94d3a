"""Ingest benchmark: bare ASGI baseline vs hookyard on SQLite vs hookyard on PostgreSQL, one run.

Usage: ./run bench ingest [--duration 15] [--connections 32] [--no-postgres] [--repeats 5]
                          [--no-ceiling]
Prints req/s, p50, p99, rows stored vs 2xx counted, and the ratios to the baseline; then
the least any durable ingest can do on each backend (``minimal.py``), the ceiling for the
ratios, and a provider's retry storm against hookyard.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import common
from common import free_port, pg_database, wait_ready

HERE = Path(__file__).resolve().parent
CONFIG = """
[server]
queue_size = 20000
[sources.bench]
scheme = "none"
id_header = "X-Event-Id"
"""


def run_wrk(port: int, path: str, duration: int, connections: int) -> dict[str, float]:
    data = common.run_wrk(
        HERE / "post.lua", f"http://127.0.0.1:{port}{path}", duration, connections
    )
    ok = data["requests"] - data["non2xx"]
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "ok": ok,
        "errors": data["non2xx"] + data["connect"] + data["read"] + data["write"] + data["timeout"],
    }


def start(cmd: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bench_bare(workdir: Path, duration: int, connections: int) -> dict[str, float]:
    return bench_script(workdir, duration, connections, ["bare.py"])


def bench_minimal(workdir: Path, db: str, duration: int, connections: int) -> dict[str, float]:
    """The ceiling: body in, one row by group commit, 202 out (``minimal.py``)."""
    os.sync()  # as before each hookyard variant
    result = bench_script(workdir, duration, connections, ["minimal.py", db])
    result["rows"] = scalar(db, "SELECT count(*) FROM bodies", "SELECT count(*) FROM bodies")
    return result


def bench_script(
    workdir: Path, duration: int, connections: int, script: list[str]
) -> dict[str, float]:
    port = free_port()
    [name, *args] = script
    proc = start([sys.executable, str(HERE / name), str(port), *args], workdir)
    try:
        wait_ready(f"http://127.0.0.1:{port}/", proc)
        return run_wrk(port, "/in/bench", duration, connections)
    finally:
        proc.terminate()
        proc.wait()


def bench_hookyard(
    workdir: Path, db: str, duration: int, connections: int, repeat_duration: int
) -> dict[str, float]:
    # The previous variant's writes may still be on their way to disk; they would slow
    # this variant's fsyncs (measured: PostgreSQL p99 35-48 ms right after SQLite, 8 alone).
    os.sync()
    port = free_port()
    (workdir / "bench.toml").write_text(CONFIG)
    proc = start(
        [
            sys.executable,
            "-m",
            "hookyard",
            "serve",
            "--config",
            "bench.toml",
            "--db",
            db,
            "--port",
            str(port),
        ],
        workdir,
    )
    repeat: dict[str, float] = {}
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        result = run_wrk(port, "/in/bench", duration, connections)
        if repeat_duration:
            # A provider re-sending after an outage: wrk starts its ids from 1 again, so
            # every request repeats a stored event (as long as this phase sends fewer).
            time.sleep(1)  # the requests wrk left in flight are committed by now
            stored = count_rows(db)
            repeat = run_wrk(port, "/in/bench", repeat_duration, connections)
            repeat["new_rows"] = count_rows(db) - stored
    finally:
        proc.terminate()
        proc.wait()
    result["rows"] = count_rows(db)
    if repeat:
        repeat["counted"] = count_repeats(db)
        result.update({f"repeat_{key}": value for key, value in repeat.items()})
    return result


def count_rows(db: str) -> int:
    return scalar(db, "SELECT count(*) FROM events", "SELECT count(*) FROM events")


def count_repeats(db: str) -> int:
    """Repeats counted on their originals (in the status row on PostgreSQL)."""
    return scalar(
        db,
        "SELECT coalesce(sum(duplicate_count), 0) FROM events",
        "SELECT coalesce(sum(duplicate_count), 0) FROM event_status",
    )


def scalar(db: str, sqlite_sql: str, postgres_sql: str) -> int:
    if db.startswith("sqlite:///"):
        with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
            value: int = conn.execute(sqlite_sql).fetchone()[0]
            return value

    async def pg() -> int:
        conn = await asyncpg.connect(db)
        try:
            value: int = await conn.fetchval(postgres_sql)
            return value
        finally:
            await conn.close()

    return asyncio.run(pg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--no-ceiling",
        action="store_true",
        help="skip the minimal durable apps (minimal.py) that show the ceiling",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        metavar="SECONDS",
        help="then re-send the same ids for this long (a provider's retry storm); 0: skip",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (bench/ingest/run.sh installs it)")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results["a bare ASGI"] = bench_bare(workdir, args.duration, args.connections)
        results["b hookyard SQLite"] = bench_hookyard(
            workdir,
            f"sqlite:///{workdir / 'bench.db'}",
            args.duration,
            args.connections,
            args.repeats,
        )
        if not args.no_postgres:
            url = asyncio.run(pg_database("hookyard_bench"))
            try:
                results["c hookyard PostgreSQL"] = bench_hookyard(
                    workdir, url, args.duration, args.connections, args.repeats
                )
            finally:
                asyncio.run(pg_database("hookyard_bench", drop=True))
        if not args.no_ceiling:
            results["m1 minimal, SQLite"] = bench_minimal(
                workdir, f"sqlite:///{workdir / 'minimal.db'}", args.duration, args.connections
            )
            if not args.no_postgres:
                url = asyncio.run(pg_database("hookyard_bench_minimal"))
                try:
                    results["m2 minimal, PostgreSQL"] = bench_minimal(
                        workdir, url, args.duration, args.connections
                    )
                finally:
                    asyncio.run(pg_database("hookyard_bench_minimal", drop=True))
    report(results, args)


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    base = results["a bare ASGI"]["rps"]
    print(
        f"\ningest benchmark: 2 KB JSON, unique ids, {args.connections} connections, "
        f"{args.duration}s each, wrk -t1, {os.cpu_count()} cores"
    )
    print(
        f"{'variant':24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'2xx':>9} {'rows':>9} "
        f"{'errors':>7} {'x bare':>7}"
    )
    for name, r in results.items():
        rows = f"{int(r['rows'])}" if "rows" in r else "-"
        print(
            f"{name:24} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {int(r['ok']):9d} "
            f"{rows:>9} {int(r['errors']):7d} {r['rps'] / base:7.2f}"
        )
    print(
        "\nrows >= 2xx always; rows - 2xx <= connections (requests in flight when wrk stopped "
        "were committed but their answers not counted)"
    )
    for name, r in results.items():
        if "rows" in r and not (r["ok"] <= r["rows"] <= r["ok"] + args.connections):
            print(f"!! {name}: rows {int(r['rows'])} vs 2xx {int(r['ok'])}")
    report_repeats(results, args)


def report_repeats(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    storms = {name: r for name, r in results.items() if "repeat_rps" in r}
    if not storms:
        return
    print(
        f"\nretry storm: the same ids again for {args.repeats}s, every answer a 200 duplicate; "
        "counted = repeats recorded on the originals (>= 2xx), new = rows added (0)"
    )
    print(
        f"{'variant':24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'2xx':>9} {'counted':>9} "
        f"{'new':>5} {'x new ids':>10}"
    )
    for name, r in storms.items():
        ok, counted, new = (int(r[f"repeat_{k}"]) for k in ("ok", "counted", "new_rows"))
        print(
            f"{name:24} {r['repeat_rps']:9.0f} {r['repeat_p50_ms']:8.2f} {r['repeat_p99_ms']:8.2f} "
            f"{ok:9d} {counted:9d} {new:5d} {r['repeat_rps'] / r['rps']:10.2f}"
        )
        if r["repeat_new_rows"] or r["repeat_counted"] < r["repeat_ok"]:
            print(f"!! {name}: repeats stored as new events, or not all counted")


if __name__ == "__main__":
    main()
