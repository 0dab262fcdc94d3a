"""The real ``hookyard`` command: start-up, config errors, admin API, shutdown and crash safety."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from hookyard.signatures import create_scheme
from support.databases import fresh_database
from support.server import RunningServer, free_port, hookyard_command, start_server
from support.waiting import eventually

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SIGNED_CONFIG = f"""
[sources.app]
scheme = "standard-webhooks"
secrets = ["{SECRET}"]
"""


def run_cli(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hookyard_command(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def test_serve_without_config_uses_sqlite_in_cwd_and_a_demo_source(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        response = httpx.post(f"{server.url}/in/demo", json={"type": "hello"})
        assert response.status_code == 202
        assert (tmp_path / "hookyard.db").exists()
        time.sleep(0.2)
        logs = server.logs()
        assert f"listening on http://127.0.0.1:{server.port}" in logs
        assert f"curl -i -X POST http://127.0.0.1:{server.port}/in/demo" in logs
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("[server]\nport = 'eighty'", "server.port: must be an integer"),
        ("[sources.x]\nscheme = 'martian'", "sources.x: unknown scheme 'martian'"),
        (
            "[sources.x]\nsecrets = ['env:HOOKYARD_TEST_UNSET_VAR']",
            "environment variable HOOKYARD_TEST_UNSET_VAR is not set",
        ),
    ],
)
def test_bad_config_fails_at_start_with_one_line_and_exit_2(
    tmp_path: Path, config: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(config)
    result = run_cli("serve", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr and str(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_unknown_top_level_table_fails_at_start_naming_file_table_and_known_ones(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[sources.demo]\n\n[mirror]\nurl = 'https://staging.example/'\n")
    result = run_cli("serve", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"hookyard: error: {path}: mirror: unknown section "
        "(known: server, sources, destinations, alerts, mirrors, canary)"
    )


def test_missing_config_file_and_bad_db_flag(tmp_path: Path) -> None:
    missing = run_cli("serve", "--config", "nope.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.toml: file not found" in missing.stderr
    bad_db = run_cli("serve", "--db", "mysql://x", cwd=tmp_path)
    assert bad_db.returncode == 2 and "--db: unsupported database" in bad_db.stderr
    assert "Traceback" not in missing.stderr + bad_db.stderr


def test_unreachable_postgres_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    result = run_cli("migrate", "--db", f"postgresql://postgres@127.0.0.1:{port}/x", cwd=tmp_path)
    assert result.returncode == 2  # a start that cannot happen, as a port in use
    assert "cannot connect to PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_command(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    first = run_cli("migrate", "--db", db, cwd=tmp_path)
    assert first.returncode == 0 and "applied migrations 1" in first.stdout
    again = run_cli("migrate", "--db", db, cwd=tmp_path)
    assert again.returncode == 0 and "up to date" in again.stdout


def test_admin_api_requires_the_token_when_configured(tmp_path: Path) -> None:
    config = '[server]\nadmin_token = "s3cret-token"\n[sources.demo]\n'
    server = start_server(tmp_path, config=config)
    try:
        event_id = httpx.post(f"{server.url}/in/demo", content=b"hi").json()["id"]
        assert httpx.get(f"{server.url}/api/events").status_code == 401
        wrong = httpx.get(f"{server.url}/api/events", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
        auth = {"Authorization": "Bearer s3cret-token"}
        assert (
            httpx.get(f"{server.url}/api/events/{event_id}", headers=auth).json()["id"] == event_id
        )
        body = httpx.get(f"{server.url}/api/events/{event_id}/body", headers=auth)
        assert body.content == b"hi"
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # health stays open
        assert "hookyard_ingest_requests_total" in httpx.get(f"{server.url}/metrics").text
    finally:
        server.stop()


def test_admin_api_bad_queries_are_400_and_unknown_ids_404(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        for query, detail in [
            ("limit=0", "limit"),
            ("limit=abc", "limit"),
            ("since=whenever", "since"),
            ("verdict=maybe", "verdict"),
        ]:
            response = httpx.get(f"{server.url}/api/events?{query}")
            assert response.status_code == 400, query
            assert response.json()["error"] == "bad_query" and detail in response.json()["detail"]
        for query, detail in [
            ("limit=0", "limit: expected an integer from 1 to 1000"),
            ("until=whenever", "until: expected an ISO time"),
        ]:
            response = httpx.get(f"{server.url}/api/dlq?{query}")
            assert response.status_code == 400, query
            assert response.json()["error"] == "bad_query" and detail in response.json()["detail"]
        assert httpx.get(f"{server.url}/api/events/01UNKNOWN").status_code == 404
        assert httpx.get(f"{server.url}/api/events/01UNKNOWN/body").status_code == 404
        assert httpx.get(f"{server.url}/api/nothing-here").status_code == 404
    finally:
        server.stop()


def test_every_request_logs_one_json_line(tmp_path: Path) -> None:
    import json

    server = start_server(tmp_path)
    try:
        event_id = httpx.post(f"{server.url}/in/demo", json={"type": "a.b"}).json()["id"]
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]
    entry = next(line for line in lines if line.get("event_id") == event_id)
    assert entry["source"] == "demo" and entry["event_type"] == "a.b"
    assert entry["verdict"] == "unsigned" and entry["outcome"] == "accepted"
    assert isinstance(entry["latency_ms"], float)


class Load:
    """Signed requests from several threads; remembers every id that was acknowledged."""

    def __init__(self, server: RunningServer, threads: int = 6) -> None:
        self.server = server
        self.acked: list[str] = []
        self.stop = threading.Event()
        self.scheme = create_scheme("standard-webhooks")
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def _run(self, n: int) -> None:
        with httpx.Client(timeout=5) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                body = b'{"type": "load.test", "n": %d, "pad": "%s"}' % (i, b"x" * 1500)
                headers = dict(
                    self.scheme.sign(body, SECRET, msg_id=f"msg_{n}_{i}_{time.time_ns()}")
                )
                try:
                    response = client.post(
                        f"{self.server.url}/in/app", content=body, headers=headers
                    )
                except httpx.HTTPError:
                    continue
                if response.status_code == 202:
                    self.acked.append(response.json()["id"])

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def missing_ids(server: RunningServer, ids: list[str]) -> list[str]:
    missing = []
    with httpx.Client(timeout=10) as client:
        for event_id in ids:
            if client.get(f"{server.url}/api/events/{event_id}").status_code != 200:
                missing.append(event_id)
    return missing


@pytest.fixture(params=["sqlite", "postgres"])
def durable_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request, tmp_path, "crash.db")


@pytest.mark.slow
def test_kill_9_mid_load_loses_no_acknowledged_request(tmp_path: Path, durable_db: str) -> None:
    server = start_server(tmp_path, config=SIGNED_CONFIG, database=durable_db)
    with Load(server) as load:
        try:
            eventually(
                lambda: len(load.acked) >= 300,
                timeout=10,
                message="300 acknowledged requests before the kill",
            )
        finally:
            server.process.send_signal(signal.SIGKILL)  # mid-load, no chance to flush
            server.process.wait()
    acked = list(load.acked)
    assert len(acked) >= 300
    restarted = start_server(tmp_path, config=SIGNED_CONFIG, database=durable_db)
    try:
        assert missing_ids(restarted, acked) == []
    finally:
        restarted.stop()


@pytest.mark.slow
def test_sigterm_drains_and_exits_0(tmp_path: Path, durable_db: str) -> None:
    server = start_server(tmp_path, config=SIGNED_CONFIG, database=durable_db)
    with Load(server) as load:
        try:
            eventually(
                lambda: len(load.acked) >= 200,
                timeout=10,
                message="200 acknowledged requests before the SIGTERM",
            )
        finally:
            code = server.stop(signal.SIGTERM)
    assert code == 0, server.logs()[-2000:]
    acked = list(load.acked)
    restarted = start_server(tmp_path, config=SIGNED_CONFIG, database=durable_db)
    try:
        assert missing_ids(restarted, acked) == []
    finally:
        restarted.stop()
