"""``hookyard purge`` and the background purge of ``serve``, through real processes, on
SQLite and PostgreSQL: old events go, recent ones and those still to deliver stay, a
dry run deletes nothing, and a server beside a purge answers every request."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from hookyard.store import open_store
from support.databases import fresh_database
from support.factories import submission
from support.server import hookyard_command, start_server
from support.waiting import eventually

DAY_US = 86_400 * 1_000_000


def seed(database: str, *, old: int, recent: int = 0, pending: int = 0) -> list[str]:
    """``old`` events received 40 days ago, ``pending`` such ones with a dispatch still
    to deliver, and ``recent`` ones from an hour ago; returns the pending ones' ids."""

    async def run() -> list[str]:
        store = open_store(database)
        await store.start()
        try:
            now = time.time_ns() // 1000
            long_ago = now - 40 * DAY_US
            subs = [submission(received_us=long_ago + i) for i in range(old)]
            subs += [submission(received_us=now - 3600 * 10**6) for _ in range(recent)]
            waiting = [
                submission(received_us=long_ago, destinations=("nowhere",)) for _ in range(pending)
            ]
            await asyncio.gather(*(store.submit(s) for s in subs + waiting))
            return [s.request.id for s in waiting]
        finally:
            await store.close()

    return asyncio.run(run())


def count(database: str) -> int:
    async def run() -> int:
        store = open_store(database)
        await store.start()
        try:
            return await store.count_events()
        finally:
            await store.close()

    return asyncio.run(run())


def purge(
    database: str, *args: str, config: Path | None = None
) -> subprocess.CompletedProcess[str]:
    extra = ["--config", str(config)] if config is not None else []
    return subprocess.run(
        hookyard_command("purge", "--db", database, *extra, *args),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request, tmp_path)


def test_dry_run_counts_and_a_run_deletes_old_events_only(database: str) -> None:
    waiting = seed(database, old=1200, recent=5, pending=2)
    dry = purge(database, "--older-than", "30d", "--dry-run", "--batch", "100")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would delete 1,200 events")
    assert count(database) == 1207
    real = purge(database, "--older-than", "30d", "--batch", "100", "--json")
    assert real.returncode == 0, real.stderr
    result = json.loads(real.stdout)
    assert result["events"] == 1200 and result["candidates"] == 1202 and not result["dry_run"]
    assert count(database) == 7
    again = purge(database, "--older-than", "30d")
    assert again.stdout.startswith("deleted 0 events")
    assert len(waiting) == 2


def test_progress_is_shown_on_stderr(database: str, tmp_path: Path) -> None:
    seed(database, old=300)
    done = purge(database, "--older-than", "30d", "--batch", "1", "--pause", "0.01")
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("purge: looked at")]
    assert lines and "of 300 events" in lines[0]
    assert done.stdout.startswith("deleted 300 events")


def test_the_configured_retention_applies_per_source(database: str, tmp_path: Path) -> None:
    config = tmp_path / "hookyard.toml"
    config.write_text(
        '[server]\nretention = "30d"\n\n[sources.demo]\nscheme = "none"\nretention = "keep"\n'
        '\n[sources.other]\nscheme = "none"\n'
    )
    seed(database, old=10)  # all of source "demo"
    kept = purge(database, config=config)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("deleted 0 events") and count(database) == 10
    forced = purge(database, "--older-than", "30d", config=config)
    assert forced.stdout.startswith("deleted 10 events")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--older-than", "0"), "--older-than: must be more than 0"),
        (("--older-than", "soon"), "--older-than: expected a duration"),
        (("--older-than", "99999999999w"), "--older-than: duration must be at most"),
        (("--dead-older-than", "-3d"), "--dead-older-than: expected a duration"),
        ((), "nothing to purge: no retention is configured"),
        (("--older-than", "1d", "--batch", "0"), "Invalid value for '--batch'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    done = purge(f"sqlite:///{tmp_path / 'h.db'}", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_retention_in_config_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "hookyard.toml"
    config.write_text('[server]\nretention = "forever"\n')
    done = purge(f"sqlite:///{tmp_path / 'h.db'}", config=config)
    assert done.returncode == 2
    assert "server.retention: expected a duration" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_purge_beside_a_busy_server_fails_no_request(database: str, tmp_path: Path) -> None:
    seed(database, old=3000)
    server = start_server(tmp_path, config='[sources.demo]\nscheme = "none"\n', database=database)
    statuses: list[int] = []
    stop = threading.Event()

    def post() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                statuses.append(client.post(f"{server.url}/in/demo", content=b"{}").status_code)

    posters = [threading.Thread(target=post) for _ in range(4)]
    try:
        for thread in posters:
            thread.start()
        done = purge(database, "--older-than", "30d", "--batch", "200")
        stop.set()
        for thread in posters:
            thread.join()
    finally:
        stop.set()
        server.stop()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("deleted 3,000 events")
    assert statuses and set(statuses) == {202}
    assert count(database) == len(statuses)


def test_serve_purges_in_the_background(database: str, tmp_path: Path) -> None:
    seed(database, old=50, recent=3)
    config = (
        '[server]\nretention = "30d"\npurge_interval = "1s"\n\n[sources.demo]\nscheme = "none"\n'
    )
    server = start_server(tmp_path, config=config, database=database)
    try:
        eventually(lambda: count(database) == 3, timeout=20, message="old events purged")
        assert "purge done" in server.logs()
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["postgres"])
def test_on_postgres_a_second_purge_waits_its_turn(backend: str, pg_url: str) -> None:
    seed(pg_url, old=5)

    async def hold_lock_and_purge() -> subprocess.CompletedProcess[str]:
        conn = await asyncpg.connect(pg_url)
        try:
            from hookyard.store.postgres.retention import PURGE_LOCK

            await conn.execute("SELECT pg_advisory_lock($1)", PURGE_LOCK)
            return await asyncio.to_thread(purge, pg_url, "--older-than", "30d")
        finally:
            await conn.close()

    blocked = asyncio.run(hold_lock_and_purge())
    assert blocked.returncode == 1
    assert "another process is purging this database" in blocked.stderr
    assert count(pg_url) == 5
    assert purge(pg_url, "--older-than", "30d").stdout.startswith("deleted 5 events")
