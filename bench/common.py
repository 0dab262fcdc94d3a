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
