"""Encryption at rest on the ingest path: ``hookyard serve`` with ``encryption_key`` set
against the same server without it, on SQLite and PostgreSQL, in one run.

Usage: ./run bench encryption [--duration 10] [--rounds 2] [--connections 32] [--no-postgres]

Each round runs off and on for each backend (which goes first alternates by round), each
on a fresh database, so drift over the run hits both alike; the ratio on/off is taken
per round and summarised over the rounds.
The bodies are ingest's (2 KB JSON, unique ids) with random padding (``post.lua``;
``--body repeat`` for ingest's run of "x", which PostgreSQL compresses in clear). After each
variant it checks every 2xx is a stored row and, with the key, that every row is sealed
(``key_id`` set, no body in clear). It also times the sealing alone (both values of one
request, in process) to show what the hot path pays per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import common
from common import free_port, pg_database, wait_ready

from hookyard.keyring import Key, Keyring, generate_key, parse_key_material
from hookyard.store.payloads import seal_submission

HERE = Path(__file__).resolve().parent
POST_LUA = HERE / "post.lua"
TARGET = 0.9
CONFIG = """
[server]
queue_size = 20000
{key}
[sources.bench]
scheme = "none"
id_header = "X-Event-Id"
"""


def serve(workdir: Path, db: str, args: argparse.Namespace, key: str | None) -> dict[str, float]:
    os.sync()  # the previous variant's writes would slow this one's fsyncs
    port = free_port()
    line = 'encryption_key = "env:HOOKYARD_BENCH_KEY"' if key else ""
    (workdir / "bench.toml").write_text(CONFIG.format(key=line))
    env = {**os.environ, "HOOKYARD_BENCH_KEY": key or ""}
    command = [sys.executable, "-m", "hookyard", "serve", "--config", "bench.toml"]
    proc = subprocess.Popen(
        [*command, "--db", db, "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        url = f"http://127.0.0.1:{port}/in/bench"
        data = common.run_wrk(POST_LUA, url, args.duration, args.connections, (args.body,))
    finally:
        proc.terminate()
        proc.wait()
    rows, sealed, clear = stored(db)
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "ok": data["requests"] - data["non2xx"],
        "rows": rows,
        "sealed": sealed,
        "clear_bodies": clear,
    }


STORED_SQL = (
    "SELECT count(*), count(key_id), "
    "count(*) FILTER (WHERE position('order.created'::bytea in body) > 0) "
    "FROM events"
)
STORED_SQLITE = (
    "SELECT count(*), count(key_id), "
    "sum(CASE WHEN instr(body, CAST('order.created' AS BLOB)) > 0 THEN 1 ELSE 0 END) FROM events"
)


def stored(db: str) -> tuple[int, int, int]:
    """Rows, rows with a key id, rows whose body holds the clear text of the bench's body."""
    if db.startswith("sqlite:///"):
        with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
            a, b, c = conn.execute(STORED_SQLITE).fetchone()
            return int(a), int(b), int(c or 0)

    async def pg() -> tuple[int, int, int]:
        conn = await asyncpg.connect(db)
        try:
            row = await conn.fetchrow(STORED_SQL)
            assert row is not None
            return int(row[0]), int(row[1]), int(row[2])
        finally:
            await conn.close()

    return asyncio.run(pg())


def seal_cost_us(repeat: int = 20_000) -> float:
    """Microseconds to seal one bench request's header list and body (AES-256-GCM)."""
    sys.path.insert(0, str(HERE.parents[1] / "tests"))
    from support.factories import submission

    body = b'{"id":"evt_1","type":"order.created","data":{"pad":"' + b"x" * 1900 + b'"}}'
    headers = (
        (b"Host", b"127.0.0.1"),
        (b"Content-Type", b"application/json"),
        (b"X-Event-Id", b"evt_1"),
    )
    sub = submission(body, headers=headers)
    ring = Keyring((Key("bench", parse_key_material(generate_key())),))
    started = time.perf_counter()
    for _ in range(repeat):
        seal_submission(ring, sub)
    return (time.perf_counter() - started) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--body",
        choices=("random", "repeat"),
        default="random",
        help="padding of the 2 KB bodies: random text (default) or ingest's run of 'x'",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (bench/encryption/run.sh installs it)")
    key = generate_key()
    backends = ["SQLite"] + ([] if args.no_postgres else ["PostgreSQL"])
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for round_no in range(args.rounds):
            for backend in backends:
                # Alternate which goes first, so a trend in the machine's load is not
                # read as the cost of either.
                for mode in ("off", "on") if round_no % 2 == 0 else ("on", "off"):
                    name = f"hookyard_bench_encryption_{round_no}_{mode}"
                    if backend == "SQLite":
                        db = f"sqlite:///{workdir / (name + '.db')}"
                    else:
                        db = asyncio.run(pg_database(name))
                    try:
                        result = serve(workdir, db, args, key if mode == "on" else None)
                    finally:
                        if backend == "PostgreSQL":
                            asyncio.run(pg_database(name, drop=True))
                    runs.setdefault((backend, mode), []).append(result)
    report(runs, backends, args, load)


def report(
    runs: dict[tuple[str, str], list[dict[str, float]]],
    backends: list[str],
    args: argparse.Namespace,
    load: float,
) -> None:
    print(
        f"\nencryption at rest on ingest: 2 KB JSON ({args.body} padding), unique ids, "
        f"{args.connections} connections, "
        f"{args.duration}s each, {args.rounds} round(s), {os.cpu_count()} cores, load {load:.1f}"
    )
    print(
        f"{'variant':22} {'round':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'2xx':>9} "
        f"{'rows':>9} {'sealed':>9} {'clear':>6}"
    )
    problems = []
    for backend in backends:
        for mode in ("off", "on"):
            for index, r in enumerate(runs[(backend, mode)]):
                name = f"{backend}, key {mode}"
                counts = (int(r[k]) for k in ("ok", "rows", "sealed", "clear_bodies"))
                print(
                    f"{name:22} {index + 1:>5} {r['rps']:9.0f} {r['p50_ms']:8.2f} "
                    f"{r['p99_ms']:8.2f} " + "{:9d} {:9d} {:9d} {:6d}".format(*counts)
                )
                if not r["ok"] <= r["rows"] <= r["ok"] + args.connections:
                    problems.append(f"{name}: rows {int(r['rows'])} vs 2xx {int(r['ok'])}")
                if mode == "on" and (r["sealed"] != r["rows"] or r["clear_bodies"]):
                    problems.append(f"{name}: not every row sealed")
                if mode == "off" and r["sealed"]:
                    problems.append(f"{name}: rows sealed without a key")
    print(f"\n{'backend':12} {'on/off per round':>24} {'median':>7}  target >= {TARGET}")
    for backend in backends:
        ratios = [
            on["rps"] / off["rps"]
            for off, on in zip(runs[(backend, "off")], runs[(backend, "on")], strict=True)
        ]
        median = statistics.median(ratios)
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"{backend:12} {shown:>24} {median:7.2f}  {'met' if median >= TARGET else 'NOT met'}")
    print(f"\nsealing one request (header list + 2 KB body), in process: {seal_cost_us():.1f} µs")
    for problem in problems:
        print(f"!! {problem}")


if __name__ == "__main__":
    main()
