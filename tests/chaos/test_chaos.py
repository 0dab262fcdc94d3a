"""Faults under load: nothing acknowledged is lost, nothing is delivered twice at once.

Each test runs the real ``hookyard serve`` (and ``hookyard worker``) as subprocesses,
posts unique events at about 150 a second, breaks something, mends it, and then asks
the ledger: every 202 stored, every stored event delivered, no overlapping deliveries
of one event, and no answer outside the deliberate ones (never a 500).
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from support.chaos import Load, Receiver, config, receiver
from support.private_pg import available, private_postgres
from support.server import RunningServer, hookyard_command, start_server
from support.waiting import eventually


def stored_ids(database: str) -> set[str]:
    if database.startswith("sqlite:///"):
        with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
            return {row[0] for row in conn.execute("SELECT id FROM events")}

    async def fetch() -> set[str]:
        conn = await asyncpg.connect(database)
        try:
            return {row[0] for row in await conn.fetch("SELECT id FROM events")}
        finally:
            await conn.close()

    return asyncio.run(fetch())


def ready(server: RunningServer) -> int:
    try:
        return httpx.get(f"{server.url}/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def assert_nothing_lost(load: Load, database: str, deliveries: Receiver) -> None:
    acked = load.acked
    assert acked, "nothing was acknowledged"
    missing = acked - stored_ids(database)
    assert not missing, f"{len(missing)} acknowledged requests were not stored"
    deliveries.wait_delivered(acked, timeout=60)
    assert deliveries.overlapping() == []


@pytest.mark.skipif(available() is not None, reason=str(available()))
def test_postgres_restarted_under_ingest_and_delivery_load(tmp_path: Path) -> None:
    with private_postgres() as pg, receiver() as sink:
        server = start_server(tmp_path, config=config(sink.url), database=pg.url)
        try:
            with Load(f"{server.url}/in/chaos", rate=150) as load:
                load.wait_for(100)
                assert ready(server) == 200
                pg.stop("fast")  # every connection ends, new ones are refused
                eventually(lambda: ready(server) == 503, message="ready with the database down")
                time.sleep(2)
                during = load.statuses()
                pg.start()
                eventually(lambda: ready(server) == 200, timeout=30, message="not ready again")
                load.wait_for(len(load.acked) + 150)  # ingest is back without a restart
            statuses = load.statuses()
            assert set(statuses) <= {202, 503}, statuses  # never a 500
            assert during[503] > 0, during  # the outage was answered, not hidden
            assert all(a.retry_after for a in load.answers if a.status == 503)
            assert load.errors == []  # the server itself stayed up
            assert_nothing_lost(load, pg.url, sink)
        finally:
            assert server.stop() == 0
    logs = server.logs()
    assert logs.count('"msg":"claim-loop failing"') <= 1
    assert "Traceback" not in logs


def test_a_destination_down_then_back_drains_on_schedule(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    schedule = ["200ms", "500ms", "1s", "2s"]
    with receiver() as sink:
        text = config(sink.url, retry=str(schedule).replace("'", '"')).replace(
            "jitter = false }", "jitter = false, max_attempts = 30 }"
        )
        server = start_server(tmp_path, config=text, database=database)
        try:
            with Load(f"{server.url}/in/chaos", rate=150) as load:
                load.wait_for(100)
                sink.down()  # connections refused
                time.sleep(8)
                sink.up()
                load.wait_for(len(load.acked) + 100)
            assert set(load.statuses()) == {202}
            assert_nothing_lost(load, database, sink)
        finally:
            assert server.stop() == 0
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        rows = conn.execute(
            "SELECT dispatch_id, number, started_us, latency_ms FROM attempts "
            "ORDER BY dispatch_id, number"
        ).fetchall()
    waits = [0.2, 0.5, 1.0, 2.0]
    retried = 0
    for before, after in itertools.pairwise(rows):
        if before[0] != after[0]:
            continue
        retried += 1
        ended_us = before[2] + before[3] * 1000
        due = waits[min(before[1], len(waits)) - 1]
        # Never sooner than the schedule says (a little slack for the clock's rounding).
        assert after[2] - ended_us >= due * 1_000_000 - 5_000, (before, after)
    assert retried > 50  # the outage made many deliveries wait and retry


def test_a_worker_killed_mid_send_is_redelivered_after_its_lease(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    with receiver(hold=1.0) as sink:
        server = start_server(
            tmp_path, config=config(sink.url), database=database, extra_args=("--no-worker",)
        )
        log = (tmp_path / "worker.log").open("wb")
        worker_args = ["worker", "--config", str(server.config_path), "--db", database]
        worker_args += ["--lease-seconds", "3"]
        first = subprocess.Popen(hookyard_command(*worker_args), stdout=log, stderr=log)
        try:
            with Load(f"{server.url}/in/chaos", rate=40) as load:
                load.wait_for(20)
                # Deliveries take a second each: kill the worker while some are in flight.
                eventually(lambda: sink.started_count() >= 5, message="no delivery started")
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=10)
                cut = time.monotonic()
                second = subprocess.Popen(hookyard_command(*worker_args), stdout=log, stderr=log)
                load.wait_for(len(load.acked) + 20)
            try:
                assert_nothing_lost(load, database, sink)
            finally:
                second.send_signal(signal.SIGTERM)
                assert second.wait(timeout=30) == 0
        finally:
            if first.poll() is None:
                first.kill()
            log.close()
            assert server.stop() == 0
    again = [d for d in sink.deliveries if d.started > cut]
    counts: dict[str, int] = {}
    for delivery in sink.deliveries:
        counts[delivery.event_id] = counts.get(delivery.event_id, 0) + 1
    # What the killed worker had in flight reached the receiver, was never recorded, and
    # went out again once its lease ran out: redelivered, one after the other.
    redelivered = [event_id for event_id, n in counts.items() if n > 1]
    assert redelivered, "nothing was redelivered after the kill"
    assert all(any(d.event_id == event_id for d in again) for event_id in redelivered)


def test_sigterm_under_load_drains_and_exits_0(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    with receiver(hold=0.05) as sink:
        server = start_server(tmp_path, config=config(sink.url), database=database)
        with Load(f"{server.url}/in/chaos", rate=150) as load:
            load.wait_for(200)
            assert server.stop(signal.SIGTERM) == 0
            time.sleep(0.3)
        assert set(load.statuses()) <= {202, 503}
        # Everything acknowledged was committed before the process exited...
        assert not load.acked - stored_ids(database)
        # ...and is delivered by the next process on the same database.
        again = start_server(tmp_path, config=config(sink.url), database=database)
        try:
            assert_nothing_lost(load, database, sink)
        finally:
            assert again.stop() == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> object:
    """A 32 MiB tmpfs: a disk that fills up, and gets space back."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_sqlite_disk_full_answers_503_and_resumes_when_space_returns(
    tmp_path: Path, small_disk: Path
) -> None:
    database = f"sqlite:///{small_disk / 'hookyard.db'}"
    filler = small_disk / "filler"
    with receiver() as sink:
        server = start_server(tmp_path, config=config(sink.url), database=database)
        try:
            with Load(f"{server.url}/in/chaos", rate=150) as load:
                load.wait_for(100)
                with filler.open("wb") as handle:  # take every byte left
                    try:
                        while True:
                            handle.write(b"\0" * 65536)
                            handle.flush()
                    except OSError:
                        pass
                eventually(
                    lambda: load.statuses()[503] >= 20, timeout=20, message="no 503 on a full disk"
                )
                filler.unlink()
                before = len(load.acked)
                load.wait_for(before + 100, timeout=30)  # resumed by itself
            statuses = load.statuses()
            assert set(statuses) <= {202, 503}, statuses
            assert all(a.retry_after for a in load.answers if a.status == 503)
            assert_nothing_lost(load, database, sink)
        finally:
            assert server.stop() == 0
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert server.logs().count('"msg":"store writes failing"') <= 3


def test_the_database_file_locked_by_another_process_for_seconds(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    path = database.removeprefix("sqlite:///")
    hold = (
        "import sqlite3, sys, time\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "conn.execute('ROLLBACK')\n"
    )
    with receiver() as sink:
        server = start_server(tmp_path, config=config(sink.url), database=database)
        try:
            with Load(f"{server.url}/in/chaos", rate=150) as load:
                load.wait_for(100)
                locker = subprocess.Popen(
                    [sys.executable, "-c", hold, path, "4"], stdout=subprocess.PIPE
                )
                assert locker.stdout is not None and locker.stdout.readline() == b"locked\n"
                acked_at_lock = len(load.acked)
                time.sleep(2)
                # Nothing can commit while the lock is held: requests wait for it.
                assert len(load.acked) <= acked_at_lock + 2 * load.threads
                assert locker.wait(timeout=20) == 0
                load.wait_for(len(load.acked) + 100)
            statuses = load.statuses()
            assert set(statuses) <= {202, 503}, statuses
            assert_nothing_lost(load, database, sink)
        finally:
            assert server.stop() == 0
