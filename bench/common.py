"""What every benchmark's ``run.py`` needs: ports, processes, wrk, PostgreSQL, percentiles.

The ``run.sh`` scripts put ``bench/`` on ``PYTHONPATH``, so each ``run.py`` imports this
as ``common``. Everything here is plain plumbing; what a benchmark measures stays in its
own directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

PG_ADMIN = os.environ.get("HOOKYARD_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(
    url: str, process: subprocess.Popen[bytes], log: Path | None = None, seconds: float = 20
) -> None:
    """Poll ``url`` until it answers; stop the benchmark if ``process`` exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise SystemExit(f"{url}: process exited with {process.returncode}\n{tail}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit(f"{url}: did not start within {seconds:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, a bounded wait for a graceful exit, then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_wrk(
    script: Path,
    url: str,
    duration: float,
    connections: int,
    script_args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One wrk run with a Lua ``script`` that prints ``WRK {json}`` when done; its figures."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{int(duration)}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    if script_args:
        command += ["--", *script_args]
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    data: dict[str, Any] = json.loads(line[4:])
    return data


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


async def pg_admin(sql: str) -> None:
    """Run one statement on the admin database (``HOOKYARD_BENCH_PG``)."""
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_reachable() -> bool:
    try:
        asyncio.run(pg_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


async def pg_database(name: str, drop: bool = False) -> str:
    """A fresh, empty database ``name`` (or, with ``drop``, none); its URL."""
    await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if not drop:
        await pg_admin(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def cpu_seconds_by_role() -> dict[str, float]:
    """CPU seconds (user + system) used so far by the processes of a benchmark run,
    grouped by role: PostgreSQL, wrk, ``hookyard serve``, the mirror lane child, the sink.
    The difference of two snapshots is where a run's CPU went."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        role = _role(command)
        if role is None:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        totals[role] = totals.get(role, 0.0) + used
    # wrk has exited by the time a run ends: it counts among this process's waited-for
    # children (it is the only one a benchmark waits for while serve runs).
    times = os.times()
    totals["wrk"] = totals.get("wrk", 0.0) + times.children_user + times.children_system
    idle = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    totals["idle"] = (int(idle[4]) + int(idle[5])) / ticks  # idle, iowait (all CPUs)
    pressure = Path("/proc/pressure/cpu")
    if pressure.exists():  # time some task waited for a CPU (Linux PSI), in seconds
        some = pressure.read_text().split("\n", 1)[0]
        totals["waited"] = int(some.rsplit("total=", 1)[1]) / 1e6
    return totals


def _role(command: str) -> str | None:
    if command.startswith("postgres") or "/bin/postgres " in command:
        return "postgres"
    if command.startswith("wrk"):
        return "wrk"
    if "hookyard mirror" in command:
        return "lane"
    if "hookyard serve" in command:
        return "serve"
    if "sink.py" in command:
        return "sink"
    return None
