"""Delivery through the real processes: serve, worker, dlq — with a real HTTP sink."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from support.netguard import LOOPBACK_SERVER_TABLE
from support.pg import truncate_postgres
from support.server import hookyard_command, start_server
from support.sink import Reply, ScriptedServer
from support.waiting import eventually

pytestmark = pytest.mark.slow


def config(sink_url: str, **extra: str) -> str:
    lines = "\n".join(f"{k} = {v}" for k, v in extra.items())
    return f"""
{LOOPBACK_SERVER_TABLE}
[sources.demo]
scheme = "none"
id_header = "X-Event-Id"

[destinations.sink]
url = "{sink_url}"
retry = {{ schedule = ["100ms"], jitter = false, max_attempts = 2 }}
{lines}
"""


def event(url: str, event_id: str) -> dict[str, object]:
    response = httpx.get(f"{url}/api/events/{event_id}")
    assert response.status_code == 200
    data: dict[str, object] = response.json()
    return data


def test_serve_delivers_dead_letters_and_retries_from_the_cli(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    sink.then(Reply(422, body=b"unprocessable"))
    server = start_server(tmp_path, config=config(sink.url()))
    try:
        event_id = httpx.post(f"{server.url}/in/demo", content=b'{"type": "a"}').json()["id"]
        eventually(lambda: event(server.url, event_id)["status"] == "dead")
        dlq = httpx.get(f"{server.url}/api/dlq").json()["dispatches"]
        assert [d["destination"] for d in dlq] == ["sink"]
        assert dlq[0]["attempt_log"][0]["status_code"] == 422
        assert dlq[0]["attempt_log"][0]["response_excerpt"] == "unprocessable"
        db = f"sqlite:///{tmp_path / 'hookyard.db'}"
        listed = subprocess.run(
            hookyard_command("dlq", "list", "--db", db, "--json"),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["dispatches"][0]["id"] == dlq[0]["id"]
        retried = subprocess.run(
            hookyard_command("dlq", "retry", "--db", db, "--destination", "sink"),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert retried.returncode == 0 and "1 dispatch(es) queued" in retried.stdout
        eventually(lambda: event(server.url, event_id)["status"] == "delivered")
        assert [r.header("X-Hookyard-Id") for r in sink.received] == [event_id, event_id]
        assert "dispatch dead-lettered" in server.logs()
    finally:
        server.stop()


def test_dlq_usage_errors_are_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    for args, message in [
        (("dlq", "retry", "--db", db), "give dispatch ids"),
        (("dlq", "retry", "--db", db, "--since", " "), "give dispatch ids"),  # not "all"
        (("dlq", "retry", "--db", db, "X", "--destination", "d"), "either dispatch ids or filters"),
        (("dlq", "list", "--db", db, "--since", "whenever"), "--since: expected an ISO time"),
        (("dlq", "retry", "--db", db, "01NOTDEAD"), "1 of the given ids are not dead dispatches"),
    ]:
        result = subprocess.run(hookyard_command(*args), capture_output=True, text=True, timeout=30)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_worker_without_destinations_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        hookyard_command("worker", "--db", f"sqlite:///{tmp_path / 'w.db'}"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "no [destinations] configured" in result.stderr


def start_worker(
    tmp_path: Path, config_path: Path, *args: str, log_path: Path | None = None
) -> subprocess.Popen[bytes]:
    log = (log_path or tmp_path / f"worker-{time.monotonic_ns()}.log").open("wb")
    return subprocess.Popen(
        hookyard_command("worker", "--config", str(config_path), *args),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def test_a_worker_beside_serve_no_worker_on_sqlite_delivers_at_once_and_logs_each_attempt(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    """Two processes on one SQLite file: the worker learns of new events from the other
    process's commits (no notifications in SQLite), well before its one-second poll."""
    database = f"sqlite:///{tmp_path / 'split.db'}"
    server = start_server(
        tmp_path, config=config(sink.url()), database=database, extra_args=("--no-worker",)
    )
    assert server.config_path is not None
    log_path = tmp_path / "worker.log"
    worker = start_worker(tmp_path, server.config_path, "--db", database, log_path=log_path)
    try:
        with httpx.Client() as client:
            client.post(f"{server.url}/in/demo", content=b"{}")  # the worker is up and idle
            eventually(lambda: len(sink.received) >= 1, timeout=20)
            time.sleep(0.5)
            waits = []
            for _ in range(8):
                before = len(sink.received)
                started = time.monotonic()
                client.post(f"{server.url}/in/demo", content=b"{}")
                eventually(lambda: len(sink.received) > before, timeout=10)  # noqa: B023
                waits.append(time.monotonic() - started)
                time.sleep(0.3)
        assert max(waits) < 0.5, waits  # a 1 s poll would show here
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        server.stop()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    attempts = [line for line in lines if line["msg"] == "attempt"]
    assert len(attempts) == 9
    assert {a["outcome"] for a in attempts} == {"delivered"}
    assert {a["status_code"] for a in attempts} == {200}
    assert all(a["level"] == "info" and a["destination"] == "sink" for a in attempts)
    sent = {r.header("X-Hookyard-Id") for r in sink.received}
    assert {a["event_id"] for a in attempts} == sent


def test_two_worker_processes_on_postgres_send_each_event_once(
    tmp_path: Path, sink: ScriptedServer, pg_database: str
) -> None:
    truncate_postgres(pg_database)
    server = start_server(
        tmp_path, config=config(sink.url()), database=pg_database, extra_args=("--no-worker",)
    )
    assert server.config_path is not None
    config_path = server.config_path
    config_path.write_text(
        config_path.read_text().replace("[server]", f'[server]\ndatabase = "{pg_database}"')
    )
    workers = [start_worker(tmp_path, config_path, "--concurrency", "8") for _ in range(2)]
    try:
        with httpx.Client() as client:
            ids = [
                client.post(f"{server.url}/in/demo", content=b"{}").json()["id"] for _ in range(120)
            ]
        eventually(lambda: len(sink.received) >= 120, timeout=30)
        time.sleep(0.5)
        sent = Counter(r.header("X-Hookyard-Id") for r in sink.received)
        assert sent == Counter(ids)  # every event once, none twice
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            assert w.wait(timeout=30) == 0
        server.stop()


def test_kill_9_of_a_worker_mid_delivery_is_redelivered_after_the_lease(
    tmp_path: Path, sink: ScriptedServer, pg_database: str
) -> None:
    truncate_postgres(pg_database)
    sink.then(Reply(200, delay=3.0))  # the first delivery hangs while we kill the worker
    server = start_server(
        tmp_path,
        config=config(sink.url(), timeout_seconds="10"),
        database=pg_database,
        extra_args=("--no-worker",),
    )
    assert server.config_path is not None
    config_path = server.config_path
    config_path.write_text(
        config_path.read_text().replace("[server]", f'[server]\ndatabase = "{pg_database}"')
    )
    first = start_worker(tmp_path, config_path, "--lease-seconds", "2")
    event_id = httpx.post(f"{server.url}/in/demo", content=b'{"n": 1}').json()["id"]
    try:
        eventually(lambda: len(sink.received) == 1)
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = start_worker(tmp_path, config_path, "--lease-seconds", "2")
        try:
            eventually(lambda: event(server.url, event_id)["status"] == "delivered", timeout=20)
            assert [r.header("X-Hookyard-Id") for r in sink.received] == [event_id, event_id]
            # The redelivery is the next attempt, and the lost one is recorded as such.
            assert [r.header("X-Hookyard-Attempt") for r in sink.received] == ["1", "2"]
            dispatch = event(server.url, event_id)["dispatches"][0]  # type: ignore[index]
            lost, done = dispatch["attempt_log"]
            assert (lost["number"], lost["error_class"]) == (1, "LeaseExpired")
            assert (done["number"], done["status_code"]) == (2, 200)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        server.stop()


def test_what_a_killed_worker_claimed_but_never_sent_goes_out_after_the_configured_lease(
    tmp_path: Path, sink: ScriptedServer, pg_database: str
) -> None:
    """``[server] lease_seconds`` reaches ``hookyard worker``; a live worker renews its
    claims, so a short lease is safe, and a killed one's are due again soon after it."""
    truncate_postgres(pg_database)
    sink.then(Reply(200, delay=4.0))  # the first send hangs; the rest wait their turn
    server = start_server(
        tmp_path,
        config=config(sink.url(), max_in_flight="1"),
        database=pg_database,
        extra_args=("--no-worker",),
    )
    assert server.config_path is not None
    config_path = server.config_path
    config_path.write_text(
        config_path.read_text().replace(
            "[server]", f'[server]\ndatabase = "{pg_database}"\nlease_seconds = 3'
        )
    )
    first = start_worker(tmp_path, config_path)
    with httpx.Client() as client:
        ids = [client.post(f"{server.url}/in/demo", content=b"{}").json()["id"] for _ in range(4)]
    try:
        eventually(lambda: len(sink.received) == 1)
        time.sleep(0.5)  # the other three are claimed by now, waiting for the one slot
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
        second = start_worker(tmp_path, config_path)
        try:
            for event_id in ids:
                eventually(lambda: event(server.url, event_id)["status"] == "delivered")  # noqa: B023
            assert time.monotonic() - killed_at < 20  # a 40 s lease would show here
            for event_id in ids:
                dispatch = event(server.url, event_id)["dispatches"][0]  # type: ignore[index]
                numbers = [(a["number"], a["error_class"]) for a in dispatch["attempt_log"]]
                assert numbers == [(1, "LeaseExpired"), (2, None)]
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        server.stop()
