"""Operator controls through the real processes: ``serve`` with a real HTTP sink, the
``hookyard destinations`` and ``dlq`` commands as subprocesses, and the admin API."""

from __future__ import annotations

import getpass
import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from support.netguard import LOOPBACK_SERVER_TABLE
from support.pg import truncate_postgres
from support.server import hookyard_command, start_server
from support.sink import Reply, ScriptedServer, running_sink
from support.waiting import eventually

pytestmark = pytest.mark.slow
JSON = {"content-type": "application/json"}


def config(sink_url: str, extra: str = "") -> str:
    return f"""
{LOOPBACK_SERVER_TABLE}
[sources.demo]
scheme = "none"

[destinations.sink]
url = "{sink_url}"
retry = {{ schedule = ["100ms"], jitter = false, max_attempts = 2 }}
{extra}
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(hookyard_command(*args), capture_output=True, text=True, timeout=30)


def status(url: str, event_id: str) -> str:
    found: str = httpx.get(f"{url}/api/events/{event_id}").json()["status"]
    return found


def test_pause_and_resume_from_the_cli_hold_and_release_deliveries(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    server = start_server(tmp_path, config=config(sink.url()))
    assert server.config_path is not None
    where = ("--config", str(server.config_path), "--db", f"sqlite:///{tmp_path / 'hookyard.db'}")
    try:
        paused = cli("destinations", "pause", "sink", *where)
        assert paused.returncode == 0, paused.stderr
        assert paused.stdout.strip() == "sink: active -> paused; 0 dispatch(es) held"
        event_id = httpx.post(f"{server.url}/in/demo", content=b"{}").json()["id"]
        eventually(lambda: status(server.url, event_id) == "paused")
        assert sink.received == []
        listed = cli("destinations", "list", *where, "--json")
        assert listed.returncode == 0, listed.stderr
        [view] = json.loads(listed.stdout)["destinations"]
        assert (view["name"], view["state"], view["backlog"]) == ("sink", "paused", 1)
        assert view["backlog_by_status"] == {"paused": 1}
        assert view["reason"] == f"paused by cli:{getpass.getuser()}" and view["since"]
        table = cli("destinations", "list", *where)
        assert "paused" in table.stdout and "sink" in table.stdout

        resumed = cli("destinations", "resume", "sink", *where)
        assert resumed.stdout.strip() == "sink: paused -> active; 1 dispatch(es) released"
        eventually(lambda: status(server.url, event_id) == "delivered")
        assert [r.header("X-Hookyard-Id") for r in sink.received] == [event_id]
        again = cli("destinations", "resume", "sink", *where)
        assert again.returncode == 0 and again.stdout.strip() == "sink: already active"

        unknown = cli("destinations", "pause", "nope", *where)
        assert unknown.returncode == 2
        assert (
            unknown.stderr.strip()
            == f"hookyard: error: no destination 'nope' (destinations: sink) in {where[-1]}"
        )
    finally:
        server.stop()


def test_a_410_disables_alerts_as_disabled_and_enable_sends_the_held_dispatches(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    sink.then(Reply(410, body=b"gone"))
    with running_sink() as alerts:
        server = start_server(
            tmp_path, config=config(sink.url(), f'[alerts]\nurl = "{alerts.url()}"\n')
        )
        db = f"sqlite:///{tmp_path / 'hookyard.db'}"
        try:
            first = httpx.post(f"{server.url}/in/demo", content=b"{}").json()["id"]
            eventually(lambda: status(server.url, first) == "disabled")
            second = httpx.post(f"{server.url}/in/demo", content=b"{}").json()["id"]
            eventually(lambda: status(server.url, second) == "disabled")  # held, not pending
            eventually(lambda: len(alerts.received) == 1)
            notice = json.loads(alerts.received[0].body)
            assert notice["type"] == "hookyard.dispatch.disabled"
            assert notice["status"] == "disabled" and notice["event_id"] == first
            [view] = httpx.get(f"{server.url}/api/destinations").json()["destinations"]
            assert view["state"] == "disabled" and "HTTP 410" in view["reason"]
            assert view["backlog"] == 2 and view["last_error"] is not None

            retried = cli("dlq", "retry", "--db", db, "--destination", "sink")
            assert retried.returncode == 0
            assert retried.stdout.strip() == "0 dispatch(es) queued for delivery"
            assert "is disabled (HTTP 410" in retried.stderr
            assert "its 2 held dispatch(es) are not dead letters" in retried.stderr
            assert "`hookyard destinations enable sink`" in retried.stderr

            api = f"{server.url}/api/destinations"
            refused = httpx.post(f"{api}/sink/resume", headers=JSON)
            assert refused.status_code == 409 and "enable" in refused.json()["detail"]
            assert httpx.post(f"{api}/nope/enable", headers=JSON).status_code == 404
            assert httpx.post(f"{api}/sink/explode", headers=JSON).status_code == 404
            assert httpx.get(f"{api}/sink/enable").status_code == 405
            enabled = httpx.post(f"{api}/sink/enable", headers=JSON)
            assert enabled.status_code == 200
            assert enabled.json() == {
                "name": "sink",
                "before": "disabled",
                "state": "active",
                "moved": 2,
            }
            eventually(lambda: status(server.url, first) == "delivered")
            eventually(lambda: status(server.url, second) == "delivered")
            attempts = sorted(
                (r.header("X-Hookyard-Id"), r.header("X-Hookyard-Attempt")) for r in sink.received
            )
            assert attempts == sorted([(first, "1"), (first, "2"), (second, "1")])
            logs = [json.loads(ln) for ln in server.logs().splitlines() if ln.startswith("{")]
            assert [ln["destination"] for ln in logs if ln["msg"] == "destination disabled"] == [
                "sink"
            ]
        finally:
            server.stop()


def test_a_410_seen_by_serve_stops_a_separate_worker_on_postgres(
    tmp_path: Path, sink: ScriptedServer, pg_database: str
) -> None:
    """The state is the database's: ``hookyard worker`` beside ``serve`` stops too."""
    truncate_postgres(pg_database)
    sink.then(Reply(410))
    text = config(sink.url()).replace("[server]", f'[server]\ndatabase = "{pg_database}"')
    server = start_server(tmp_path, config=text, database=pg_database)
    assert server.config_path is not None
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        hookyard_command("worker", "--config", str(server.config_path)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        first = httpx.post(f"{server.url}/in/demo", content=b"{}").json()["id"]
        eventually(lambda: status(server.url, first) == "disabled")
        later = [httpx.post(f"{server.url}/in/demo", content=b"{}").json()["id"] for _ in range(10)]
        for event_id in later:
            eventually(lambda: status(server.url, event_id) == "disabled")  # noqa: B023
        assert len(sink.received) == 1
        enabled = cli("destinations", "enable", "sink", "--config", str(server.config_path))
        assert enabled.stdout.strip() == "sink: disabled -> active; 11 dispatch(es) released"
        for event_id in [first, *later]:
            eventually(lambda: status(server.url, event_id) == "delivered")  # noqa: B023
        assert len(sink.received) == 12
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        server.stop()


def test_every_operator_action_is_in_the_audit_trail_with_its_actor(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    tokens = (
        "admin_tokens = ["
        '{ name = "ci", token = "env:HY_CI", role = "read" }, '
        '{ name = "oncall", token = "env:HY_OPS", role = "operate" }]'
    )
    text = config(sink.url()).replace("[server]", f"[server]\n{tokens}")
    env = {"HY_CI": "ci-t0ken", "HY_OPS": "ops-t0ken"}
    server = start_server(tmp_path, config=text, env=env)
    assert server.config_path is not None
    where = ("--config", str(server.config_path))
    user = f"cli:{getpass.getuser()}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            hookyard_command(*args),
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
            env=server.env,
        )

    try:
        ops = {"authorization": "Bearer ops-t0ken", **JSON}
        ci = {"authorization": "Bearer ci-t0ken", **JSON}
        api = f"{server.url}/api/destinations/sink"
        assert httpx.post(f"{api}/pause", headers=ci).status_code == 403
        assert httpx.post(f"{api}/pause", headers=ops).status_code == 200
        event_id = httpx.post(f"{server.url}/in/demo", content=b"{}").json()["id"]
        held = httpx.get(f"{server.url}/api/events/{event_id}", headers=ci)
        eventually(lambda: httpx.get(held.url, headers=ci).json()["status"] == "paused")
        assert run("destinations", "resume", "sink", *where).returncode == 0
        eventually(lambda: len(sink.received) == 1)
        replayed = run("replay", event_id, "--to", "sink", *where)
        assert replayed.returncode == 0, replayed.stderr
        assert run("dlq", "retry", "--destination", "sink", *where).returncode == 0

        listed = run("audit", "list", *where, "--json")
        assert listed.returncode == 0, listed.stderr
        entries = json.loads(listed.stdout)["entries"]
        assert [(e["actor"], e["action"], e["target"], e["count"]) for e in entries] == [
            (user, "dlq.retry", "sink", 0),
            (user, "replay", entries[1]["target"], 1),
            (user, "destination.resume", "sink", 1),
            ("oncall", "destination.pause", "sink", 0),
        ]
        assert entries[1]["detail"] == {"to": "sink", "filter": {"ids": [event_id]}}
        over_http = httpx.get(f"{server.url}/api/audit?limit=1", headers=ci).json()
        assert [e["id"] for e in over_http["entries"]] == [entries[0]["id"]]
        table = run("audit", "list", *where)
        assert "oncall" in table.stdout and "destination.pause" in table.stdout
        bad = run("audit", "list", *where, "--since", "whenever")
        assert bad.returncode == 2 and bad.stderr.startswith("hookyard: error: --since")
        assert "Traceback" not in bad.stderr
    finally:
        server.stop()


def test_replay_batches_are_listed_and_shown_from_the_cli(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    server = start_server(tmp_path, config=config(sink.url()))
    db = f"sqlite:///{tmp_path / 'hookyard.db'}"
    assert server.config_path is not None
    where = ("--config", str(server.config_path), "--db", db)
    try:
        event_id = httpx.post(f"{server.url}/in/demo", content=b"{}").json()["id"]
        eventually(lambda: status(server.url, event_id) == "delivered")
        done = cli("replay", event_id, "--to", "sink", *where, "--json")
        assert done.returncode == 0, done.stderr
        batch_id = json.loads(done.stdout)["id"]
        listed = cli("replay", "list", *where, "--json")
        assert listed.returncode == 0, listed.stderr
        [batch] = json.loads(listed.stdout)["batches"]
        assert (batch["id"], batch["status"], batch["delivered"]) == (batch_id, "done", 1)
        table = cli("replay", "list", *where)
        assert batch_id in table.stdout  # never cut, whatever the width
        shown = cli("replay", "show", batch_id, *where)
        assert shown.returncode == 0 and shown.stdout.startswith(f"batch {batch_id} done: 1 of 1")
        over_http = httpx.get(f"{server.url}/api/replays").json()["batches"]
        assert [b["id"] for b in over_http] == [batch_id]
        missing = cli("replay", "show", "01NOSUCHBATCH", "--db", db)
        assert missing.returncode == 2
        assert missing.stderr.strip() == f"hookyard: error: no replay batch '01NOSUCHBATCH' in {db}"
        helped = cli("replay", "--help")
        assert helped.returncode == 0 and "replay list" in helped.stdout
        assert "--to" in helped.stdout  # still the replay command's own help
    finally:
        server.stop()
