"""Redaction through real processes, on SQLite and PostgreSQL: credentials never reach
the store, and a signed event's fields are replaced once it is old enough, by the
server in the background and by ``hookyard purge``; ``explain`` says why the signature
no longer verifies, and the body hash still names the bytes that arrived."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from hookyard.testing.signing import sign_github
from support.databases import fresh_database
from support.server import hookyard_command, start_server
from support.waiting import eventually

SECRET = "gh_webhook_secret"
BODY = b'{"action": "opened", "sender": {"login": "ada", "email": "ada@example.com"}, "n": 1.50}'
CONFIG = f"""
[server]
purge_interval = "{{interval}}"

[sources.gh]
scheme = "github"
secrets = ["{SECRET}"]
redact_fields = ["email", "/sender/login"]
redact_after = "1s"

[sources.plain]
scheme = "none"
"""


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request, tmp_path)


def post_signed(url: str) -> str:
    headers = dict(sign_github(BODY, SECRET))
    headers["Content-Type"] = "application/json"
    headers["X-GitHub-Delivery"] = "d-1"
    headers["X-GitHub-Event"] = "issues"
    answer = httpx.post(f"{url}/in/gh", content=BODY, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def cli(database: str, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hookyard_command(*args, "--config", str(config), "--db", database),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_credentials_are_never_stored_in_clear(database: str, tmp_path: Path) -> None:
    server = start_server(tmp_path, config=CONFIG.format(interval="1h"), database=database)
    try:
        answer = httpx.post(
            f"{server.url}/in/plain",
            content=b"{}",
            headers={"Authorization": "Bearer live_s3cr3t", "X-Api-Key": "k_live_42"},
            timeout=10,
        )
        assert answer.status_code == 202
        event_id = answer.json()["id"]
    finally:
        server.stop()
    assert server.config_path is not None
    shown = cli(database, server.config_path, "events", "show", event_id, "--json")
    assert shown.returncode == 0, shown.stderr
    headers = {name.lower(): value for name, value in json.loads(shown.stdout)["headers"]}
    assert "live_s3cr3t" not in shown.stdout and "k_live_42" not in shown.stdout
    assert headers["authorization"] == headers["x-api-key"] == "[redacted]"
    # The database itself holds the marker, not the credential.
    exported = tmp_path / "export"
    done = cli(
        database,
        server.config_path,
        "export",
        "--source",
        "plain",
        "--keep-credentials",
        str(exported),
    )
    assert done.returncode == 0, done.stderr
    dumped = b"".join(p.read_bytes() for p in exported.rglob("*") if p.is_file())
    assert b"live_s3cr3t" not in dumped and b"[redacted]" in dumped


def test_fields_are_redacted_in_the_background_and_explain_says_why(
    database: str, tmp_path: Path
) -> None:
    server = start_server(tmp_path, config=CONFIG.format(interval="1s"), database=database)
    try:
        event_id = post_signed(server.url)

        def redacted() -> dict[str, object] | None:
            event = httpx.get(f"{server.url}/api/events/{event_id}", timeout=5).json()
            return event if event.get("redacted") else None

        event = eventually(redacted, timeout=20, message="the body is redacted")
        body = httpx.get(f"{server.url}/api/events/{event_id}/body", timeout=5).content
    finally:
        server.stop()
    assert json.loads(body) == {
        "action": "opened",
        "sender": {"login": "[redacted]", "email": "[redacted]"},
        "n": 1.50,
    }
    assert b"1.50" in body
    assert event["verdict"] == "valid"
    assert event["body_sha256"] == hashlib.sha256(BODY).hexdigest()  # what arrived
    mark = event["redacted"]
    assert isinstance(mark, dict)
    assert mark["stored_body_sha256"] == hashlib.sha256(body).hexdigest()
    assert mark["replaced"] == 2
    assert server.config_path is not None
    explained = cli(database, server.config_path, "events", "explain", event_id, "--json")
    data = json.loads(explained.stdout)
    assert explained.returncode != 0 or not data["ok"]
    assert any("redacted" in note and "no longer verifies" in note for note in data["notes"])


def test_purge_redacts_too_and_a_dry_run_only_counts(database: str, tmp_path: Path) -> None:
    server = start_server(tmp_path, config=CONFIG.format(interval="1h"), database=database)
    try:
        event_id = post_signed(server.url)
    finally:
        server.stop()
    time.sleep(1.1)  # past redact_after
    assert server.config_path is not None
    dry = cli(database, server.config_path, "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would redact 1 bodies" in dry.stdout
    real = cli(database, server.config_path, "purge")
    assert real.returncode == 0, real.stderr
    assert "redacted 1 bodies" in real.stdout
    raw = cli(database, server.config_path, "events", "show", event_id, "--raw")
    assert b"ada@example.com" not in raw.stdout.encode()
    again = cli(database, server.config_path, "purge")
    assert "redacted 0 bodies" in again.stdout
