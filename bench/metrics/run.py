"""Metrics cost: ingest req/s with ``[server] metrics`` on vs off, in one run.

Usage: ./run bench metrics [--duration 10] [--connections 32] [--rounds 3] [--postgres]

Prints req/s and the server's CPU per request (/proc), per variant and per pair.

The two variants alternate (off, on, off, on, ...) so that drift on a shared machine
falls on both alike; the figures to read are the medians of the pairs' ratios (target
>= 0.97). Both run the same config with a destination, so the backlog sampler (off the
hot path, on in both) reads the growing backlog every 5 s; nothing delivers it
(``--no-worker``): what is measured is ingest alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import common
from common import free_port, pg_database, wait_ready

HERE = Path(__file__).resolve().parent
POST_LUA = HERE.parent / "ingest" / "post.lua"
CONFIG = """
[server]
queue_size = 20000
metrics = {metrics}
sample_interval = "5s"
allow_networks = ["127.0.0.0/8"]
[sources.bench]
scheme = "none"
id_header = "X-Event-Id"
[destinations.sink]
url = "http://127.0.0.1:9/unused"
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one(
    workdir: Path, db: str, metrics: bool, duration: int, connections: int
) -> tuple[float, float]:
    """req/s, and the server's CPU microseconds per request."""
    os.sync()
    config = workdir / f"bench-{metrics}.toml"
    config.write_text(CONFIG.format(metrics=str(metrics).lower()))
    port = free_port()
    cmd = [sys.executable, "-m", "hookyard", "serve", "--no-worker", "--config", str(config)]
    cmd += ["--db", db, "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        cpu_before = cpu_seconds(proc.pid)
        data = common.run_wrk(POST_LUA, f"http://127.0.0.1:{port}/in/bench", duration, connections)
        cpu = cpu_seconds(proc.pid) - cpu_before
    finally:
        common.stop(proc)
    if data["non2xx"] or data["connect"] or data["timeout"]:
        print(f"!! errors with metrics={metrics}: {data}")
    rps: float = data["requests"] / (data["duration_us"] / 1e6)
    return rps, cpu * 1e6 / max(1, data["requests"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (bench/metrics/run.sh installs it)")
    load = os.getloadavg()[0]
    off: list[tuple[float, float]] = []
    on: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for index in range(args.rounds):
            for metrics, figures in ((False, off), (True, on)):
                if args.postgres:
                    db = asyncio.run(pg_database("hookyard_bench_metrics"))
                else:
                    db = f"sqlite:///{workdir / f'bench-{index}-{metrics}.db'}"
                try:
                    figures.append(one(workdir, db, metrics, args.duration, args.connections))
                finally:
                    if args.postgres:
                        asyncio.run(pg_database("hookyard_bench_metrics", drop=True))
    report(off, on, args, load)


def report(
    off: list[tuple[float, float]],
    on: list[tuple[float, float]],
    args: argparse.Namespace,
    load: float,
) -> None:
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"\nmetrics cost: hookyard on {backend}, 2 KB JSON, {args.connections} connections, "
        f"{args.duration}s a run, {args.rounds} rounds alternating, load {load:.2f} at start"
    )
    print(f"{'variant':12} {'median req/s':>13} {'median µs CPU/req':>18}  runs (req/s)")
    for name, figures in (("metrics off", off), ("metrics on", on)):
        runs = " ".join(f"{rps:.0f}" for rps, _ in figures)
        rps = statistics.median(r for r, _ in figures)
        cpu = statistics.median(c for _, c in figures)
        print(f"{name:12} {rps:13.0f} {cpu:18.1f}  {runs}")
    # Each "on" run against the "off" run just before it: drift on a shared machine
    # moves both of a pair alike, so the median of the pairs is the steadier figure.
    pairs = [b[0] / a[0] for a, b in zip(off, on, strict=True)]
    cpu_pairs = [a[1] / b[1] for a, b in zip(off, on, strict=True)]
    print(f"\nreq/s on / off, per pair: {' '.join(f'{p:.3f}' for p in pairs)}")
    print(f"median of pairs: req/s {statistics.median(pairs):.3f}, ", end="")
    print(f"CPU per request off / on {statistics.median(cpu_pairs):.3f} (target >= 0.97)")


if __name__ == "__main__":
    main()
