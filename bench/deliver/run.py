"""Delivery benchmark, end to end: load generator → hookyard ingest → store → worker → sink.

Usage: ./run bench deliver [--duration 15] [--rates 500,2000] [--connections 32]
           [--max-in-flight 32] [--layout one|split|both] [--no-postgres] [--no-sqlite]
           [--timeline]

One run measures, on the same box and in the same minutes:

- the baseline: the sink's own capacity (wrk straight at it) and the load generator
  posting straight to it at each fixed rate (what the generator and sink cost alone);
- hookyard in each ``--layout``: one process (``hookyard serve`` ingests and delivers)
  and two (``serve --no-worker`` beside ``hookyard worker``, one per core), on SQLite, then
  on PostgreSQL (a throwaway database ``hookyard_bench_deliver``, dropped afterwards), each
  with one destination pointing at the sink: a fixed-rate phase per ``--rates`` entry
  (open-loop Python generator, bench/deliver/loadgen.py) and a max-rate phase (wrk,
  bench/deliver/post.lua), each followed by a bounded wait for the backlog to drain.

Latency is received → delivered: hookyard's own receipt time (``events.received_us``,
what ``GET /api/events/{id}`` shows) to the sink's receipt of the delivery, matched on
``X-Hookyard-Id``; sent → delivered adds ingest (generator's send time, fixed-rate
phases). Sustained throughput is delivered events over first receipt → last delivery
of the max-rate phase, i.e. the rate the whole pipeline kept up including its drain.
Everything runs on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import common
import httpx
from common import free_port, percentile, pg_database, stop, wait_ready

HERE = Path(__file__).resolve().parent
PG_DATABASE = "hookyard_bench_deliver"
TARGET_SUSTAINED = 2000.0  # events/s, each backend
TARGET_P99_MS = 100.0  # received → delivered, at TARGET_P99_RATE
TARGET_P99_RATE = 500.0
CONFIG = """
[server]
queue_size = 20000
allow_networks = ["127.0.0.0/8"]  # the sink listens on this machine

[sources.bench]
scheme = "none"
id_header = "X-Event-Id"

[destinations.sink]
url = "http://127.0.0.1:{sink_port}/hook"
max_in_flight = {max_in_flight}
timeout_seconds = 10
"""


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of processes, all threads (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL server process on this machine, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found[int(entry.name)] = cpu_seconds([int(entry.name)])
            except OSError:
                continue
    return found


def cpu_since(before: dict[int, float]) -> float:
    """PostgreSQL CPU since ``before`` (processes started since count from zero)."""
    return sum(spent - before.get(pid, 0.0) for pid, spent in postgres_cpu().items())


# -- the sink ------------------------------------------------------------------------------


class Sink:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "sink.py"), str(self.port)],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_ready(f"{self.url}/_stats", self.process)
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def reset(self) -> None:
        self.client.post("/_reset").raise_for_status()

    def stats(self) -> dict[str, int]:
        data: dict[str, int] = self.client.get("/_stats").json()
        return data

    def dump(self) -> list[tuple[int, str]]:
        text = self.client.get("/_dump").text
        receipts = []
        for line in text.splitlines():
            ns, _, hookyard_id = line.partition(" ")
            receipts.append((int(ns), hookyard_id))
        return receipts

    def close(self) -> None:
        self.client.close()
        stop(self.process)


# -- load generators -----------------------------------------------------------------------


def run_loadgen(
    port: int, path: str, rate: float, duration: float, prefix: str, workdir: Path
) -> dict[str, Any]:
    out = workdir / f"loadgen-{prefix}.json"
    subprocess.run(
        [
            sys.executable,
            str(HERE / "loadgen.py"),
            "--port",
            str(port),
            "--path",
            path,
            "--rate",
            str(rate),
            "--duration",
            str(duration),
            "--connections",
            "64",
            "--prefix",
            prefix,
            "--out",
            str(out),
        ],
        check=True,
        timeout=duration + 120,
    )
    data: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return data


def run_wrk(port: int, path: str, duration: float, connections: int, prefix: str) -> dict[str, Any]:
    started_ns = time.time_ns()
    url = f"http://127.0.0.1:{port}{path}"
    data = common.run_wrk(HERE / "post.lua", url, duration, connections, (prefix,))
    data["start_ns"] = started_ns
    data["end_ns"] = started_ns + data["duration_us"] * 1000
    data["errors"] = data["connect"] + data["read"] + data["write"] + data["timeout"]
    return data


# -- the database --------------------------------------------------------------------------


class Database:
    """Read hookyard's own records of a run: receipt times, dispatch states."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _query(self, sql_sqlite: str, sql_pg: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite:///"):
            path = self.url.removeprefix("sqlite:///")
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
                conn.execute("PRAGMA busy_timeout = 10000")
                return list(conn.execute(sql_sqlite, params))

        async def pg() -> list[tuple[Any, ...]]:
            conn = await asyncpg.connect(self.url)
            try:
                return [tuple(r) for r in await conn.fetch(sql_pg, *params)]
            finally:
                await conn.close()

        return asyncio.run(pg())

    def received(self, prefix: str, since_us: int) -> dict[str, int]:
        """hookyard id → received_us of every event of one phase."""
        rows = self._query(
            "SELECT id, received_us FROM events WHERE received_us >= ? "
            "AND provider_event_id LIKE ?",
            "SELECT id, received_us FROM events WHERE received_us >= $1 "
            "AND provider_event_id LIKE $2",
            since_us,
            prefix + "-%",
        )
        return {row[0]: row[1] for row in rows}

    def count(self, prefix: str, since_us: int) -> int:
        rows = self._query(
            "SELECT count(*) FROM events WHERE received_us >= ? AND provider_event_id LIKE ?",
            "SELECT count(*) FROM events WHERE received_us >= $1 AND provider_event_id LIKE $2",
            since_us,
            prefix + "-%",
        )
        return int(rows[0][0])

    def dispatch_states(self) -> dict[str, int]:
        sql = "SELECT status, count(*) FROM dispatches GROUP BY status"
        return {row[0]: int(row[1]) for row in self._query(sql, sql)}


# -- phases --------------------------------------------------------------------------------


@dataclass
class Result:
    variant: str
    offered: str
    ingest_rps: float = float("nan")
    ingest_p99_ms: float = float("nan")
    delivered_rps: float = float("nan")  # deliveries during the load window / window
    sustained_rps: float = float("nan")  # delivered / (first receipt → last delivery)
    backlog_end: int = 0  # stored but not yet delivered when the load stopped
    drain_s: float = 0.0
    r2d: list[float] = field(default_factory=list)  # received → delivered, ms, sorted
    s2d: list[float] = field(default_factory=list)  # sent → delivered, ms, sorted
    non2xx: int = 0
    errors: int = 0
    duplicates: int = 0
    left: int = 0
    cpu_pct: float = float("nan")
    db_cpu_pct: float = float("nan")  # PostgreSQL server processes; nan on SQLite
    cpu_us_per_event: float = float("nan")  # hookyard + database CPU per event stored
    timeline: list[tuple[int, int, int]] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    log_errors: int = 0


def wait_drained(sink: Sink, db: Database, prefix: str, since_us: int, bound: float) -> float:
    """Seconds until the sink has every stored event of the phase (or ``bound`` passed)."""
    started = time.monotonic()
    expected = db.count(prefix, since_us)
    checked = started
    while time.monotonic() - started < bound:
        if sink.stats()["unique"] >= expected:
            # Requests in flight when the generator stopped may commit a little later.
            again = db.count(prefix, since_us)
            if again == expected:
                break
            expected = again
        time.sleep(0.1)
        if time.monotonic() - checked > 2:
            expected = db.count(prefix, since_us)
            checked = time.monotonic()
    return time.monotonic() - started


def hookyard_phase(
    name: str,
    rate: float | None,
    args: argparse.Namespace,
    sink: Sink,
    db: Database,
    port: int,
    pids: list[int],
    workdir: Path,
    prefix: str,
) -> Result:
    sink.reset()
    since_us = time.time_ns() // 1000
    cpu_before, wall_before = cpu_seconds(pids), time.monotonic()
    db_before = postgres_cpu() if db.url.startswith("postgresql") else None
    result = Result(name, f"{rate:.0f}/s" if rate else "max")
    if rate:
        gen = run_loadgen(port, "/in/bench", rate, args.duration, prefix, workdir)
        ok = [r for r in gen["records"] if 200 <= r[3] < 300]
        result.non2xx = len(gen["records"]) - len(ok)
        result.errors = gen["errors"]
        result.ingest_rps = len(ok) / args.duration
        result.ingest_p99_ms = percentile(sorted((r[2] - r[1]) / 1e6 for r in ok), 99)
        sent_ns = {r[4]: r[1] for r in ok}
    else:
        gen = run_wrk(port, "/in/bench", args.duration, args.connections, prefix)
        result.non2xx = gen["non2xx"]
        result.errors = gen["errors"]
        result.ingest_rps = (gen["requests"] - gen["non2xx"]) / (gen["duration_us"] / 1e6)
        result.ingest_p99_ms = gen["p99_us"] / 1000
        sent_ns = {}
    load_end_ns = gen["end_ns"]
    result.drain_s = wait_drained(sink, db, prefix, since_us, bound=max(60.0, 6 * args.duration))
    wall = time.monotonic() - wall_before
    spent = cpu_seconds(pids) - cpu_before
    result.cpu_pct = 100 * spent / wall
    if db_before is not None:
        db_spent = cpu_since(db_before)
        result.db_cpu_pct = 100 * db_spent / wall
        spent += db_spent
    stored = db.count(prefix, since_us)
    if stored:
        result.cpu_us_per_event = 1e6 * spent / stored

    received = db.received(prefix, since_us)
    receipts = sink.dump()
    first_delivery: dict[str, int] = {}
    mine = 0
    for ns, hookyard_id in receipts:
        if hookyard_id in received:
            mine += 1
            first_delivery.setdefault(hookyard_id, ns)
    result.duplicates = mine - len(first_delivery)
    result.left = len(received) - len(first_delivery)
    result.r2d = sorted((ns / 1000 - received[i]) / 1000 for i, ns in first_delivery.items())
    result.s2d = sorted((ns - sent_ns[i]) / 1e6 for i, ns in first_delivery.items() if i in sent_ns)
    window_s = (load_end_ns - gen["start_ns"]) / 1e9
    in_window = sum(1 for ns in first_delivery.values() if ns <= load_end_ns)
    result.delivered_rps = in_window / window_s
    result.backlog_end = len(received) - in_window
    if first_delivery and received:
        span_s = (max(first_delivery.values()) / 1000 - min(received.values())) / 1e6
        result.sustained_rps = len(first_delivery) / span_s
    result.timeline = timeline(received, first_delivery)
    return result


def timeline(received: dict[str, int], delivered: dict[str, int]) -> list[tuple[int, int, int]]:
    """Per second from the first receipt: (second, stored, delivered)."""
    if not received:
        return []
    origin = min(received.values())
    seconds: dict[int, list[int]] = {}
    for us in received.values():
        seconds.setdefault(int((us - origin) / 1e6), [0, 0])[0] += 1
    for ns in delivered.values():
        seconds.setdefault(int((ns / 1000 - origin) / 1e6), [0, 0])[1] += 1
    return [(s, seconds[s][0], seconds[s][1]) for s in sorted(seconds)]


def start_hookyard(
    db_url: str, args: argparse.Namespace, sink: Sink, workdir: Path, log: Path, split: bool
) -> tuple[list[subprocess.Popen[bytes]], int]:
    """``hookyard serve``; with ``split``, ``serve --no-worker`` plus ``hookyard worker``."""
    port = free_port()
    config = workdir / "deliver.toml"
    config.write_text(CONFIG.format(sink_port=sink.port, max_in_flight=args.max_in_flight))
    common = ["--config", str(config), "--db", db_url]
    serve = [sys.executable, "-m", "hookyard", "serve", *common, "--port", str(port)]
    # A directory nothing else writes to: the server's cwd is on its sys.path.
    quiet = workdir / "server-cwd"
    quiet.mkdir(exist_ok=True)
    procs = []
    with log.open("wb") as log_file:
        procs.append(
            subprocess.Popen(
                [*serve, "--no-worker"] if split else serve,
                cwd=quiet,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        )
        wait_ready(f"http://127.0.0.1:{port}/healthz", procs[0], log)
        if split:
            worker = [sys.executable, "-m", "hookyard", "worker", *common]
            procs.append(
                subprocess.Popen(worker, cwd=quiet, stdout=subprocess.DEVNULL, stderr=log_file)
            )
    return procs, port


def bench_hookyard(
    label: str,
    new_database: Callable[[str], str],
    args: argparse.Namespace,
    sink: Sink,
    workdir: Path,
    split: bool,
) -> list[Result]:
    """Each phase on a fresh database and fresh processes, so one phase's backlog never
    leaks into the next; a short warm-up (not reported) precedes each."""
    results = []
    warm_up = argparse.Namespace(**{**vars(args), "duration": 2})
    layout = "2 proc" if split else "1 proc"
    for rate in [*args.rates, None]:
        phase = f"{label}-{'split' if split else 'one'}-{'max' if rate is None else f'r{rate:.0f}'}"
        db_url = new_database(phase)
        db = Database(db_url)
        log = workdir / f"hookyard-{phase}.log"
        procs, port = start_hookyard(db_url, args, sink, workdir, log, split)
        pids = [p.pid for p in procs]
        try:
            hookyard_phase("warm-up", 200, warm_up, sink, db, port, pids, workdir, f"{phase}-w")
            result = hookyard_phase(
                f"hookyard {label} {layout}", rate, args, sink, db, port, pids, workdir, phase
            )
        finally:
            for proc in procs:
                stop(proc)
        result.states = db.dispatch_states()
        result.log_errors = count_errors(log)
        print(f"  {phase}: dispatch states at the end {result.states}", file=sys.stderr)
        results.append(result)
    return results


def count_errors(log: Path) -> int:
    errors = 0
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            if json.loads(line).get("level") in ("error", "critical"):
                errors += 1
    return errors


def bench_baseline(args: argparse.Namespace, sink: Sink, workdir: Path) -> list[Result]:
    results = []
    for rate in args.rates:
        sink.reset()
        gen = run_loadgen(sink.port, "/hook", rate, args.duration, f"base-r{rate:.0f}", workdir)
        ok = [r for r in gen["records"] if 200 <= r[3] < 300]
        result = Result(
            "sink alone",
            f"{rate:.0f}/s",
            non2xx=len(gen["records"]) - len(ok),
            errors=gen["errors"],
        )
        result.ingest_rps = result.delivered_rps = len(ok) / args.duration
        result.s2d = sorted((r[2] - r[1]) / 1e6 for r in ok)
        result.ingest_p99_ms = percentile(result.s2d, 99)
        results.append(result)
    sink.reset()
    gen = run_wrk(sink.port, "/hook", args.duration, args.connections, "base-max")
    result = Result("sink alone", "max", non2xx=gen["non2xx"], errors=gen["errors"])
    result.ingest_rps = result.delivered_rps = result.sustained_rps = (
        gen["requests"] - gen["non2xx"]
    ) / (gen["duration_us"] / 1e6)
    result.ingest_p99_ms = gen["p99_us"] / 1000
    results.append(result)
    return results


# -- report --------------------------------------------------------------------------------


def fmt(value: float, width: int, digits: int = 1) -> str:
    if value != value:  # NaN
        return f"{'-':>{width}}"
    return f"{value:{width}.{digits}f}"


def report(results: list[Result], args: argparse.Namespace, load: tuple[float, ...]) -> None:
    print(
        f"\ndeliver benchmark: ~1.8 KB JSON, unique event ids, one destination "
        f"(max_in_flight={args.max_in_flight}) on 127.0.0.1, {args.duration:g}s per phase, "
        f"fixed rates open-loop over 64 connections, max rate wrk -t1 -c{args.connections}; "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} at start"
    )
    print("r→d = hookyard received → sink received; s→d = generator sent → sink received (ms)")
    header = (
        f"{'variant':26} {'offered':>8} {'ingest/s':>9} {'in p99':>7} {'deliv/s':>8} "
        f"{'sustain/s':>9} {'backlog':>8} {'drain s':>7} {'r→d p50':>8} {'r→d p99':>8} "
        f"{'r→d max':>8} {'s→d p50':>8} {'s→d p99':>8} {'non2xx':>6} {'dup':>5} {'left':>5} "
        f"{'cpu%':>5} {'db%':>5} {'µs/ev':>6}"
    )
    print(header)
    for r in results:
        print(
            f"{r.variant:26} {r.offered:>8} {fmt(r.ingest_rps, 9, 0)} "
            f"{fmt(r.ingest_p99_ms, 7)} {fmt(r.delivered_rps, 8, 0)} "
            f"{fmt(r.sustained_rps, 9, 0)} {r.backlog_end:8d} {r.drain_s:7.1f} "
            f"{fmt(percentile(r.r2d, 50), 8)} {fmt(percentile(r.r2d, 99), 8)} "
            f"{fmt(r.r2d[-1] if r.r2d else float('nan'), 8)} "
            f"{fmt(percentile(r.s2d, 50), 8)} {fmt(percentile(r.s2d, 99), 8)} "
            f"{r.non2xx + r.errors:6d} {r.duplicates:5d} {r.left:5d} {fmt(r.cpu_pct, 5, 0)} "
            f"{fmt(r.db_cpu_pct, 5, 0)} {fmt(r.cpu_us_per_event, 6, 0)}"
        )
    print(
        "\ningest/s: 2xx answers per second; in p99: ingest response time; deliv/s: deliveries "
        "during the load window; sustain/s: delivered / (first receipt → last delivery); "
        "backlog: stored but undelivered when the load stopped; left: still undelivered when "
        "the bounded drain wait ended (not lost: they stay pending in the store); cpu%: the "
        "hookyard processes (all threads; 100 = one core) over load + drain; db%: the "
        "PostgreSQL server processes, likewise; µs/ev: hookyard + database CPU per event "
        "stored (ingest and delivery); 1 proc: "
        "`serve` ingests and delivers; 2 proc: `serve --no-worker` and `hookyard worker`"
    )
    if args.timeline:
        for r in results:
            if r.timeline and r.offered == "max":
                print(f"\n{r.variant} max rate, per second: stored / delivered / backlog")
                backlog = 0
                for second, stored, delivered in r.timeline:
                    backlog += stored - delivered
                    print(f"  {second:4d}s {stored:7d} {delivered:7d} {backlog:8d}")
    print(
        "\ntargets (figures are noisy: 2 shared cores, other work running; compare ratios "
        "within one run):"
    )
    sink_max = next(
        (r.ingest_rps for r in results if r.variant == "sink alone" and r.offered == "max"),
        float("nan"),
    )
    for backend in sorted({r.variant for r in results if r.variant.startswith("hookyard")}):
        mine = [r for r in results if r.variant == backend]
        best = max(mine, key=lambda r: r.sustained_rps if r.sustained_rps == r.sustained_rps else 0)
        met = "MET" if best.sustained_rps >= TARGET_SUSTAINED and not best.left else "NOT MET"
        print(
            f"  {backend}: sustained {best.sustained_rps:.0f} events/s (best phase, offered "
            f"{best.offered}; x{best.sustained_rps / sink_max:.2f} of the sink alone) "
            f">= {TARGET_SUSTAINED:.0f}: {met}"
        )
        slow = next((r for r in mine if r.offered == f"{TARGET_P99_RATE:.0f}/s"), None)
        if slow is not None:
            p99 = percentile(slow.r2d, 99)
            met = "MET" if p99 <= TARGET_P99_MS and not slow.left else "NOT MET"
            print(
                f"  {backend}: p99 received→delivered at {TARGET_P99_RATE:.0f}/s "
                f"{p99:.1f} ms <= {TARGET_P99_MS:.0f} ms: {met}"
            )
    print("\ndispatch states when each phase's server stopped (error-level log lines):")
    for r in results:
        if r.variant.startswith("hookyard"):
            print(f"  {r.variant} {r.offered}: {r.states} ({r.log_errors})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15, help="seconds per phase")
    parser.add_argument("--rates", default="500,2000", help="fixed-rate phases, events/s")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (max rate)")
    parser.add_argument("--max-in-flight", type=int, default=32, help="destination max_in_flight")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--timeline", action="store_true", help="per-second table, max rate")
    parser.add_argument(
        "--layout",
        choices=["one", "split", "both"],
        default="both",
        help="one process (serve), two (serve --no-worker + worker), or both in turn",
    )
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",") if r]
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (bench/deliver/run.sh installs it)")
    load = os.getloadavg()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sink = Sink(workdir)
        try:
            print("baseline: the sink alone", file=sys.stderr)
            results += bench_baseline(args, sink, workdir)
            splits = {"one": [False], "split": [True], "both": [False, True]}[args.layout]
            for split in splits:
                if not args.no_sqlite:
                    print("hookyard on SQLite", file=sys.stderr)
                    results += bench_hookyard(
                        "SQLite",
                        lambda phase: f"sqlite:///{workdir / phase}.db",
                        args,
                        sink,
                        workdir,
                        split,
                    )
                if not args.no_postgres:
                    print("hookyard on PostgreSQL", file=sys.stderr)
                    try:
                        results += bench_hookyard(
                            "PostgreSQL",
                            lambda _: asyncio.run(pg_database(PG_DATABASE)),
                            args,
                            sink,
                            workdir,
                            split,
                        )
                    finally:
                        asyncio.run(pg_database(PG_DATABASE, drop=True))
        finally:
            sink.close()
    report(results, args, load)


if __name__ == "__main__":
    main()
