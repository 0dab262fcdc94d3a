"""Who can reach the admin API of a real ``hookyard serve``: start-up refusals and warnings,
and the Host, Origin and Content-Type checks on a running server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.server import RunningServer, free_port, hookyard_command, start_server

TOKEN = "s3cret-admin-token"


def serve(
    tmp_path: Path, config: str | None, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``serve`` that must fail at start: it never gets to listen."""
    command = ["serve", "--port", str(free_port()), *args]
    if config is not None:
        path = tmp_path / "hookyard.toml"
        path.write_text(config)
        command += ["--config", str(path)]
    return subprocess.run(
        hookyard_command(*command),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
        check=False,
    )


def one_line_exit_2(done: subprocess.CompletedProcess[str], *names: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for name in names:
        assert name in lines[0], lines[0]


@pytest.mark.parametrize(
    "token", ['""', '"   "', '"env:HY_TEST_EMPTY_TOKEN"', '"env:HY_TEST_BLANK_TOKEN"']
)
def test_an_empty_admin_token_is_refused_at_start(tmp_path: Path, token: str) -> None:
    env = {"HY_TEST_EMPTY_TOKEN": "", "HY_TEST_BLANK_TOKEN": " "}
    done = serve(tmp_path, f"[server]\nadmin_token = {token}\n", env=env)
    one_line_exit_2(done, "server.admin_token", "empty")
    assert not (tmp_path / "hookyard.db").exists()  # refused before touching anything


@pytest.mark.parametrize(
    ("config", "args"),
    [
        (None, ("--host", "0.0.0.0")),
        ('[server]\nhost = "0.0.0.0"\n', ()),
        ('[server]\nhost = "::"\n', ()),
        (None, ("--host", "")),
    ],
)
def test_no_token_off_loopback_is_refused_naming_both_keys(
    tmp_path: Path, config: str | None, args: tuple[str, ...]
) -> None:
    done = serve(tmp_path, config, *args)
    one_line_exit_2(done, "server.admin_token", "server.allow_open_admin", "loopback")


def warnings(server: RunningServer) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]
    return [e for e in entries if e["level"] == "warning" and "admin_token" in e["msg"]]


def test_no_token_on_loopback_starts_with_one_warning_line(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        assert httpx.get(f"{server.url}/api/events").status_code == 200
    finally:
        server.stop()
    (warning,) = warnings(server)
    assert warning["msg"].startswith("server.admin_token is not set: /api is open")
    assert warning["host"] == "127.0.0.1" and warning["port"] == server.port


def test_allow_open_admin_serves_off_loopback_and_still_warns(tmp_path: Path) -> None:
    config = "[server]\nallow_open_admin = true\n[sources.demo]\n"
    server = start_server(tmp_path, config=config, extra_args=("--host", "0.0.0.0"))
    try:
        assert httpx.get(f"{server.url}/api/events").status_code == 200
    finally:
        server.stop()
    assert len(warnings(server)) == 1


def test_a_token_means_no_warning_even_off_loopback(tmp_path: Path) -> None:
    config = f'[server]\nadmin_token = "{TOKEN}"\n[sources.demo]\n'
    server = start_server(tmp_path, config=config, extra_args=("--host", "0.0.0.0"))
    try:
        auth = {"Authorization": f"bearer {TOKEN}"}  # any case of the scheme word
        assert httpx.get(f"{server.url}/api/events", headers=auth).status_code == 200
        assert httpx.get(f"{server.url}/api/events").status_code == 401
    finally:
        server.stop()
    assert warnings(server) == []


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    workdir = tmp_path_factory.mktemp("guarded")
    config = (
        f'[server]\nadmin_token = "{TOKEN}"\nallowed_hosts = ["hooks.example.com"]\n'
        'allowed_origins = ["https://admin.example.com"]\n[sources.demo]\n'
    )
    server = start_server(workdir, config=config)
    yield server
    server.stop()


AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOT_A_PLAN = b'{"ids": ["01NOSUCHEVENT"]}'  # reaches the route: a 400 from the planner


def replay(server: RunningServer, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/replays", content=NOT_A_PLAN, headers={**AUTH, **headers}, timeout=10
    )


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", None],
)
def test_replays_accept_only_json(guarded: RunningServer, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = replay(guarded, headers)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_a_json_replay_from_the_same_or_an_allowed_origin_reaches_the_route(
    guarded: RunningServer,
) -> None:
    for origin in (None, guarded.url, "https://admin.example.com"):
        extra = {} if origin is None else {"Origin": origin}
        response = replay(guarded, {"Content-Type": "application/json", **extra})
        assert response.status_code == 400 and response.json()["error"] == "bad_request"


def test_a_replay_from_a_foreign_origin_is_403(guarded: RunningServer) -> None:
    response = replay(
        guarded, {"Content-Type": "application/json", "Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden_origin"


def test_a_foreign_host_is_421_and_a_configured_one_is_served(guarded: RunningServer) -> None:
    evil = httpx.get(f"{guarded.url}/api/events", headers={**AUTH, "Host": "evil.example"})
    assert evil.status_code == 421 and evil.json()["error"] == "misdirected_request"
    ok = httpx.get(f"{guarded.url}/api/events", headers={**AUTH, "Host": "hooks.example.com"})
    assert ok.status_code == 200
    # Probes and ingest are not the admin API: any Host reaches them.
    assert httpx.get(f"{guarded.url}/healthz", headers={"Host": "10.1.2.3"}).status_code == 200
    ingest = httpx.post(f"{guarded.url}/in/demo", json={}, headers={"Host": "evil.example"})
    assert ingest.status_code == 202
