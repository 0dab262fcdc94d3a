"""Encryption at rest on the ingest path: ``hookyard serve`` with ``encryption_key`` set
against the same server without it, on SQLite and PostgreSQL, in one run.

Usage: ./run bench encryption [--slices 8] [--seconds 3] [--connections 32]
                              [--body random|repeat] [--no-postgres]

Both servers (key off, key on) run side by side on fresh databases of the same backend;
wrk loads one at a time, in short slices that alternate between them (which goes first
alternates too). Each off/on pair of slices is seconds apart, so the load other work puts
on the machine hits both alike; the figure is the median of the pairs' on/off ratios.
Bodies are 2 KB JSON with unique ids and random padding (``post.lua``; ``--body repeat``
for the ingest benchmark's run of "x", which PostgreSQL compresses in clear and a sealed
value never is). Beside req/s it reads each server's CPU time per request (from /proc),
which other work on the machine moves much less. Afterwards every 2xx must be a stored
row and, with the key, every row sealed (``key_id`` set, no body text in clear). It also
times the sealing alone (both values of one request, in process): what the hot path pays
per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import common
from common import free_port, pg_database, wait_ready

from hookyard.ids import new_id
from hookyard.keyring import PLAIN, Key, Keyring, generate_key, parse_key_material
from hookyard.models import CapturedRequest, Submission, Verdict
from hookyard.store import open_store
from hookyard.store.payloads import seal_submission

HERE = Path(__file__).resolve().parent
POST_LUA = HERE / "post.lua"
TARGET = 0.9
MODES = ("off", "on")
CONFIG = """
[server]
queue_size = 20000
{key}
[sources.bench]
scheme = "none"
id_header = "X-Event-Id"
"""


@dataclass
class Variant:
    """One running server and what wrk measured against it, slice by slice."""

    db: str
    proc: subprocess.Popen[bytes]
    port: int
    slices: list[dict[str, float]] = field(default_factory=list)


def start(workdir: Path, mode: str, db: str, key: str) -> Variant:
    port = free_port()
    config = workdir / f"{mode}.toml"
    line = 'encryption_key = "env:HOOKYARD_BENCH_KEY"' if mode == "on" else ""
    config.write_text(CONFIG.format(key=line))
    env = {**os.environ, "HOOKYARD_BENCH_KEY": key}
    command = [sys.executable, "-m", "hookyard", "serve", "--config", str(config)]
    proc = subprocess.Popen(
        [*command, "--db", db, "--port", str(port), "--no-worker"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
    return Variant(db, proc, port)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_slice(variant: Variant, args: argparse.Namespace, prefix: str) -> None:
    url = f"http://127.0.0.1:{variant.port}/in/bench"
    cpu = cpu_seconds(variant.proc.pid)
    data = common.run_wrk(POST_LUA, url, args.seconds, args.connections, (args.body, prefix))
    variant.slices.append(
        {
            "rps": data["requests"] / (data["duration_us"] / 1e6),
            "p50_ms": data["p50_us"] / 1000,
            "p99_ms": data["p99_us"] / 1000,
            "ok": data["requests"] - data["non2xx"],
            # Less moved by other work on the machine than req/s: what a request costs.
            "cpu_us": (cpu_seconds(variant.proc.pid) - cpu) / max(data["requests"], 1) * 1e6,
        }
    )


def bench_backend(
    workdir: Path, backend: str, args: argparse.Namespace, key: str
) -> dict[str, Variant]:
    dbs = {}
    for mode in MODES:
        name = f"hookyard_bench_encryption_{mode}"
        if backend == "SQLite":
            dbs[mode] = f"sqlite:///{workdir / (name + '.db')}"
        else:
            dbs[mode] = asyncio.run(pg_database(name))
    variants = {mode: start(workdir, mode, dbs[mode], key) for mode in MODES}
    try:
        for index in range(args.slices):
            order = MODES if index % 2 == 0 else MODES[::-1]
            for mode in order:
                load_slice(variants[mode], args, f"{index}x")
    finally:
        for variant in variants.values():
            variant.proc.terminate()
            variant.proc.wait()
    return variants


def rotate_beside_ingest(
    workdir: Path, db: str, args: argparse.Namespace, key: str
) -> dict[str, float]:
    """``hookyard keys rotate`` (the real CLI) sealing the clear events of ``db`` while a
    keyed server ingests into it under wrk's load: rotation events/s, and ingest during it."""
    os.sync()
    server = start(workdir, "on", db, key)
    env = {**os.environ, "HOOKYARD_BENCH_KEY": key}
    url = f"http://127.0.0.1:{server.port}/in/bench"
    wrk = subprocess.Popen(
        [
            *("wrk", "-t1", f"-c{args.connections}", "-d600s", "--timeout", "5s"),
            *("-s", str(POST_LUA), url, "--", args.body, "rotation"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1)  # ingest under load before the rotation starts
        started = time.perf_counter()
        rotation = subprocess.run(
            [
                sys.executable,
                "-m",
                "hookyard",
                "keys",
                "rotate",
                "--config",
                "on.toml",
                "--db",
                db,
                "--batch-size",
                str(args.batch_size),
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        seconds = time.perf_counter() - started
    finally:
        wrk.send_signal(signal.SIGINT)  # wrk stops and reports what it measured so far
        out, _ = wrk.communicate(timeout=60)
        server.proc.terminate()
        server.proc.wait()
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    data = json.loads(line[4:])
    done = next(
        (
            int(w)
            for ln in rotation.stdout.splitlines()
            if ln.startswith("re-encrypted ")
            for w in ln.split()[1:2]
        ),
        0,
    )
    rows, sealed, clear = stored(db)
    return {
        "exit": rotation.returncode,
        "resealed": done,
        "seconds": seconds,
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p99_ms": data["p99_us"] / 1000,
        "rows": rows,
        "unsealed": rows - sealed,
        "clear": clear,
    }


STORED_PG = (
    "SELECT count(*), count(key_id), "
    "count(*) FILTER (WHERE position('order.created'::bytea in body) > 0) FROM events"
)
STORED_SQLITE = (
    "SELECT count(*), count(key_id), "
    "sum(CASE WHEN instr(body, CAST('order.created' AS BLOB)) > 0 THEN 1 ELSE 0 END) FROM events"
)


def stored(db: str) -> tuple[int, int, int]:
    """Rows, rows with a key id, rows whose body holds the bench body's text in clear."""
    if db.startswith("sqlite:///"):
        with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
            a, b, c = conn.execute(STORED_SQLITE).fetchone()
            return int(a), int(b), int(c or 0)

    async def pg() -> tuple[int, int, int]:
        conn = await asyncpg.connect(db)
        try:
            row = await conn.fetchrow(STORED_PG)
            assert row is not None
            return int(row[0]), int(row[1]), int(row[2])
        finally:
            await conn.close()

    return asyncio.run(pg())


def seal_cost_us(repeat: int = 20_000) -> float:
    """Microseconds to seal one bench request's header list and body (AES-256-GCM)."""
    body = b'{"id":"evt_1","type":"order.created","data":{"pad":"' + b"q" * 1900 + b'"}}'
    headers = (
        (b"Host", b"127.0.0.1"),
        (b"Content-Type", b"application/json"),
        (b"X-Event-Id", b"evt_1"),
    )
    request = CapturedRequest(
        "01JBENCH", "bench", 0, "127.0.0.1", "POST", "/in/bench", b"", headers, body, "", ""
    )
    sub = Submission(request, Verdict(status="unsigned", reason=""), "evt_1", None, 0)
    ring = Keyring((Key("bench", parse_key_material(generate_key())),))
    started = time.perf_counter()
    for _ in range(repeat):
        seal_submission(ring, sub)
    return (time.perf_counter() - started) / repeat * 1e6


def submit_cost_us(workdir: Path, count: int = 20_000, rounds: int = 3) -> dict[str, float]:
    """CPU µs per ``submit`` on a SQLite store in this process, key off and on (best of
    ``rounds``): the store path alone, which other work on the machine moves least."""
    ring = Keyring((Key("bench", parse_key_material(generate_key())),))
    body = os.urandom(1000).hex().encode()
    headers = ((b"Host", b"127.0.0.1"), (b"Content-Type", b"application/json"))

    async def one(keyring: Keyring, path: Path) -> float:
        subs = [
            Submission(
                CapturedRequest(
                    new_id(),
                    "bench",
                    0,
                    "127.0.0.1",
                    "POST",
                    "/in/bench",
                    b"",
                    headers,
                    body,
                    "",
                    "application/json",
                ),
                Verdict(status="unsigned", reason=""),
                None,
                None,
                0,
            )
            for _ in range(count)
        ]
        store = open_store(f"sqlite:///{path}", keyring=keyring)
        await store.start()
        started = time.process_time()
        for i in range(0, count, 256):
            await asyncio.gather(*(store.submit(sub) for sub in subs[i : i + 256]))
        cpu = time.process_time() - started
        await store.close()
        return cpu / count * 1e6

    best = {"off": float("inf"), "on": float("inf")}
    for index in range(rounds):
        for mode, keyring in (("off", PLAIN), ("on", ring)):
            cost = asyncio.run(one(keyring, workdir / f"submit-{mode}-{index}.db"))
            best[mode] = min(best[mode], cost)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=8, help="off/on pairs per backend")
    parser.add_argument("--seconds", type=int, default=3, help="length of one slice")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--no-rotation", action="store_true", help="skip keys rotate beside a loaded server"
    )
    parser.add_argument("--batch-size", type=int, default=200, help="keys rotate --batch-size")
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
    load = os.getloadavg()[0]
    results: dict[str, dict[str, Variant]] = {}
    counts: dict[tuple[str, str], tuple[int, int, int]] = {}
    rotations: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for backend in backends:
            os.sync()  # the previous backend's writes would slow this one's fsyncs
            results[backend] = bench_backend(workdir, backend, args, key)
            for mode, variant in results[backend].items():
                counts[(backend, mode)] = stored(variant.db)
            if not args.no_rotation:
                rotations[backend] = rotate_beside_ingest(
                    workdir, results[backend]["off"].db, args, key
                )
            if backend == "PostgreSQL":
                for mode in MODES:
                    asyncio.run(pg_database(f"hookyard_bench_encryption_{mode}", drop=True))
        submit = submit_cost_us(workdir)
    report(results, counts, args, load)
    report_rotations(results, rotations)
    print(
        f"store path in process (SQLite, best of 3 x 20,000 submits): "
        f"{submit['off']:.1f} µs CPU a submit off, {submit['on']:.1f} on "
        f"(+{submit['on'] - submit['off']:.1f})"
    )


def report(
    results: dict[str, dict[str, Variant]],
    counts: dict[tuple[str, str], tuple[int, int, int]],
    args: argparse.Namespace,
    load: float,
) -> None:
    print(
        f"\nencryption at rest on ingest: 2 KB JSON ({args.body} padding), unique ids, "
        f"{args.connections} connections, {args.slices} off/on pairs of {args.seconds}s slices "
        f"per backend, {os.cpu_count()} cores, load {load:.1f} at start"
    )
    print(
        f"{'variant':20} {'req/s med':>10} {'min-max':>13} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'cpu µs/req':>10} {'2xx':>8} {'rows':>8} {'sealed':>8} {'clear':>6}"
    )
    problems = []
    for backend, variants in results.items():
        for mode, variant in variants.items():
            rps = [s["rps"] for s in variant.slices]
            ok = int(sum(s["ok"] for s in variant.slices))
            rows, sealed, clear = counts[(backend, mode)]
            name = f"{backend}, key {mode}"
            print(
                f"{name:20} {statistics.median(rps):10.0f} "
                f"{f'{min(rps):.0f}-{max(rps):.0f}':>13} "
                f"{statistics.median(s['p50_ms'] for s in variant.slices):7.2f} "
                f"{statistics.median(s['p99_ms'] for s in variant.slices):7.2f} "
                f"{statistics.median(s['cpu_us'] for s in variant.slices):10.1f} "
                f"{ok:8d} {rows:8d} {sealed:8d} {clear:6d}"
            )
            if not ok <= rows <= ok + args.connections * args.slices:
                problems.append(f"{name}: rows {rows} vs 2xx {ok}")
            if mode == "on" and (sealed != rows or clear):
                problems.append(f"{name}: not every row sealed")
            if mode == "off" and sealed:
                problems.append(f"{name}: rows sealed without a key")
    print(
        f"\n{'backend':12} {'req/s on/off':>13} {'pairs min-max':>14} "
        f"{'cpu/req off/on':>15}  target >= {TARGET} (req/s)"
    )
    for backend, variants in results.items():
        pairs = list(zip(variants["off"].slices, variants["on"].slices, strict=True))
        ratios = [on["rps"] / off["rps"] for off, on in pairs]
        cpu = statistics.median(off["cpu_us"] / on["cpu_us"] for off, on in pairs)
        median = statistics.median(ratios)
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        verdict = "met" if median >= TARGET else "NOT met"
        print(f"{backend:12} {median:13.2f} {spread:>14} {cpu:15.2f}  {verdict}")
    print(f"\nsealing one request (header list + 2 KB body), in process: {seal_cost_us():.1f} µs")
    for problem in problems:
        print(f"!! {problem}")


def report_rotations(
    results: dict[str, dict[str, Variant]], rotations: dict[str, dict[str, float]]
) -> None:
    if not rotations:
        return
    print(
        "\nkeys rotate (the CLI) sealing the key-off server's events while a keyed server "
        "ingests into the same database under wrk"
    )
    print(
        f"{'backend':12} {'events':>8} {'s':>6} {'events/s':>9} {'exit':>5} "
        f"{'ingest req/s':>12} {'x slices':>8} {'p99 ms':>7} {'unsealed':>8}"
    )
    for backend, r in rotations.items():
        keyed = statistics.median(s["rps"] for s in results[backend]["on"].slices)
        print(
            f"{backend:12} {int(r['resealed']):8d} {r['seconds']:6.1f} "
            f"{r['resealed'] / r['seconds']:9.0f} {int(r['exit']):5d} {r['rps']:12.0f} "
            f"{r['rps'] / keyed:8.2f} {r['p99_ms']:7.2f} {int(r['unsealed']):8d}"
        )
        if r["exit"] or r["unsealed"] or r["clear"]:
            print(f"!! {backend}: the rotation left events unsealed, or failed")


if __name__ == "__main__":
    main()
