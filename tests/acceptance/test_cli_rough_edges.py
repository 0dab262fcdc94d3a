"""Rough edges a new user hit, each through the real CLI as a subprocess."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from support.server import hookyard_command, start_server
from support.sink import Reply, ScriptedServer
from support.waiting import eventually

pytestmark = pytest.mark.slow


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hookyard_command(*args), capture_output=True, text=True, timeout=30, cwd=cwd
    )


def test_what_is_not_found_is_reported_with_the_database_it_looked_in(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'here.db'}"
    for args, message in [
        (("events", "show", "01NOSUCHEVENT"), "no event with id '01NOSUCHEVENT'"),
        (("events", "explain", "01NOSUCHEVENT"), "no event with id '01NOSUCHEVENT'"),
        (("replay", "01NOSUCHEVENT", "--url", "http://127.0.0.1:9/"), "no event with id"),
        (("replay", "show", "01NOSUCHBATCH"), "no replay batch '01NOSUCHBATCH'"),
        (("destinations", "pause", "app"), "no destination 'app' (destinations: none configured)"),
    ]:
        done = cli(*args, "--db", db)
        assert done.returncode == 2, (args, done.stderr)
        [line] = done.stderr.splitlines()
        assert line.startswith(f"hookyard: error: {message}") and line.endswith(f" in {db}")


def test_the_default_database_is_named_too(tmp_path: Path) -> None:
    done = cli("events", "show", "01NOSUCHEVENT", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "hookyard: error: no event with id '01NOSUCHEVENT' in sqlite:///hookyard.db"
    )


def test_a_database_password_is_masked_where_it_is_named(pg_database: str) -> None:
    with_password = pg_database.replace("postgres@", "postgres:hunter2@")
    done = cli("events", "show", "01NOSUCHEVENT", "--db", with_password)
    assert done.returncode == 2 and "hunter2" not in done.stderr
    assert "postgres:***@" in done.stderr


def test_list_commands_never_cut_an_id_however_narrow_the_terminal(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    sink.then(Reply(422))  # not retryable: dead at once
    server = start_server(tmp_path, config=DEAD_CONFIG.format(url=sink.url()))
    db = ("--db", f"sqlite:///{tmp_path / 'hookyard.db'}")
    assert server.config_path is not None
    try:
        event_id = httpx.post(f"{server.url}/in/demo", content=b'{"type": "a.b"}').json()["id"]
        dead = eventually(lambda: httpx.get(f"{server.url}/api/dlq").json()["dispatches"])
        dispatch_id = dead[0]["id"]
        replayed = cli("replay", event_id, "--to", "sink", "--config", str(server.config_path), *db)
        assert replayed.returncode in (0, 1), replayed.stderr
        batch_id = httpx.get(f"{server.url}/api/replays").json()["batches"][0]["id"]
    finally:
        server.stop()
    narrow = {**os.environ, "COLUMNS": "40"}
    for args, ids in [
        (("events", "list"), [event_id]),
        (("dlq", "list"), [dispatch_id, event_id]),
        (("replay", "list"), [batch_id]),
    ]:
        done = subprocess.run(
            hookyard_command(*args, *db), capture_output=True, text=True, timeout=30, env=narrow
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        for wanted in ids:
            assert any(wanted in line for line in lines), (args, wanted, done.stdout)


DEAD_CONFIG = """
[server]
allow_networks = ["127.0.0.0/8"]

[sources.demo]
scheme = "none"

[destinations.sink]
url = "{url}"
"""


def test_read_only_commands_never_import_a_python_handler(tmp_path: Path) -> None:
    """The handler's module is on no PYTHONPATH here; only delivering commands need it."""
    marker = tmp_path / "imported"
    config = tmp_path / "hookyard.toml"
    config.write_text(
        f"""
[server]
database = "sqlite:///{tmp_path / "h.db"}"

[sources.demo]
scheme = "none"

[destinations.local]
handler = "hy_only_elsewhere:handle"
"""
    )
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "hy_only_elsewhere.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef handle(event):\n    pass\n"
    )
    where = ("--config", str(config))
    for args in [
        ("events", "list"),
        ("dlq", "list"),
        ("replay", "list"),
        ("audit", "list"),
        ("destinations", "list"),
        ("migrate",),
    ]:
        done = cli(*args, *where)
        assert done.returncode == 0, (args, done.stderr)
    done = cli("events", "show", "01NOSUCHEVENT", *where)
    assert done.returncode == 2 and "no event with id" in done.stderr
    assert not marker.exists()
    worker = cli("worker", *where)
    assert worker.returncode == 2
    assert worker.stderr.startswith("hookyard: error: ") and "hy_only_elsewhere" in worker.stderr
    assert len(worker.stderr.splitlines()) == 1
    # With the module on its path, the worker imports it (and so would deliver).
    found = subprocess.Popen(
        hookyard_command("worker", *where),
        env={**os.environ, "PYTHONPATH": str(tmp_path / "elsewhere")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        eventually(marker.exists, timeout=20)
    finally:
        found.terminate()
        found.wait(timeout=30)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in done.stderr.splitlines() if not ln.startswith("{")]  # JSON logs
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'p.db'}")
    assert done.returncode == 2
    assert one_line_error(done) == (
        f"hookyard: error: cannot listen on 127.0.0.1:{port}: address already in use; "
        "is another hookyard running? choose another with --port"
    )


def test_an_unreachable_database_at_start_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://postgres:hunter2@127.0.0.1:{port}/hookyard"
    config = tmp_path / "w.toml"
    config.write_text('[destinations.d]\nurl = "https://example.com/"\n')
    for args in (("serve", "--port", "0"), ("worker", "--config", str(config)), ("migrate",)):
        done = cli(*args, "--db", url)
        assert done.returncode == 2, (args, done.stderr)
        line = one_line_error(done)
        assert line.startswith(f"hookyard: error: cannot connect to PostgreSQL at 127.0.0.1:{port}")
        assert "Connection refused" in line and "hunter2" not in line


def test_a_database_file_that_cannot_be_written_is_one_line_and_exit_2() -> None:
    # /proc refuses new files to everyone, root included (a chmod 000 would not stop root).
    for args in (("serve", "--port", "0"), ("migrate",)):
        done = cli(*args, "--db", "sqlite:////proc/hookyard-test.db")
        assert done.returncode == 2, (args, done.stderr)
        assert one_line_error(done) == (
            "hookyard: error: cannot open database /proc/hookyard-test.db: unable to open "
            "database file (does its directory exist, and may this user write there?)"
        )


GZIP_CONFIG = """
[server]
allow_networks = ["127.0.0.0/8"]

[sources.shop]
scheme = "none"
id_field = "id"
type_field = "type"

[destinations.orders]
url = "{url}"
events = ["order.*"]
"""


def test_a_gzip_sender_is_deduplicated_routed_and_delivered_as_it_sent(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    body = gzip.compress(b'{"id": "evt_9", "type": "order.paid", "total": 12}')
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    server = start_server(tmp_path, config=GZIP_CONFIG.format(url=sink.url()))
    assert server.config_path is not None
    try:
        first = httpx.post(f"{server.url}/in/shop", content=body, headers=headers)
        assert first.status_code == 202
        event_id = first.json()["id"]
        again = httpx.post(f"{server.url}/in/shop", content=body, headers=headers)
        assert again.status_code == 200 and again.json() == {"id": event_id, "duplicate": True}
        stored = httpx.get(f"{server.url}/api/events/{event_id}").json()
        assert (stored["provider_event_id"], stored["event_type"]) == ("evt_9", "order.paid")
        assert httpx.get(f"{server.url}/api/events/{event_id}/body").content == body
        eventually(lambda: len(sink.received) == 1)
        [got] = sink.received
        assert got.body == body  # the bytes as they arrived, labelled as they arrived
        assert (got.header("Content-Encoding"), got.header("Content-Type")) == (
            "gzip",
            "application/json",
        )
        replayed = cli(
            "replay", event_id, "--to", "orders", "--config", str(server.config_path), cwd=tmp_path
        )
        assert replayed.returncode == 0, replayed.stderr
        eventually(lambda: len(sink.received) == 2)
        assert sink.received[1].header("Content-Encoding") == "gzip"
        assert sink.received[1].body == body
    finally:
        server.stop()


def test_sigterm_logs_one_line_when_draining_starts_and_one_when_done(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    sink.then(Reply(200, delay=1.5))  # in flight when the SIGTERM comes
    server = start_server(tmp_path, config=DEAD_CONFIG.format(url=sink.url()))
    try:
        httpx.post(f"{server.url}/in/demo", content=b"{}")
        eventually(lambda: len(sink.received) == 1)
    finally:
        assert server.stop(signal.SIGTERM) == 0
    lines = [json.loads(ln) for ln in server.logs().splitlines() if ln.startswith("{")]
    draining = [ln for ln in lines if ln["msg"] == "draining"]
    drained = [ln for ln in lines if ln["msg"] == "drained"]
    assert len(draining) == 1 and len(drained) == 1
    assert draining[0]["signal"] == "SIGTERM"
    assert (draining[0]["deliveries_in_flight"], draining[0]["replays_running"]) == (1, 0)
    assert drained[0]["deliveries_finished"] == 1 and drained[0]["leases_released"] == 0
    assert drained[0]["seconds"] >= 0 and "writes_committed" in drained[0]
    assert lines.index(draining[0]) < lines.index(drained[0])


SIGNED = """
[sources.app]
scheme = "standard-webhooks"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
"""


def test_the_signed_example_runs_as_pasted_with_curl(tmp_path: Path) -> None:
    """``hookyard sign -o`` writes what ``curl -H @FILE`` reads: no value to copy by hand."""
    server = start_server(tmp_path, config=SIGNED)
    try:
        script = f"""
set -e
echo '{{"type": "invoice.paid", "id": "evt_1"}}' > body.json
{" ".join(hookyard_command())} sign --scheme standard-webhooks \\
    --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --body-file body.json -o headers.txt
curl -s http://127.0.0.1:{server.port}/in/app -H @headers.txt --data-binary @body.json
"""
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        event_id = json.loads(done.stdout)["id"]
        stored = httpx.get(f"{server.url}/api/events/{event_id}").json()
        assert (stored["verdict"], stored["event_type"]) == ("valid", "invoice.paid")
    finally:
        server.stop()
    body = str(tmp_path / "body.json")
    refused = cli("sign", "--scheme", "hmac", "--secret", "s", "--body-file", body, "-o", "/proc/h")
    assert refused.returncode == 2
    assert one_line_error(refused).startswith("hookyard: error: --output: cannot write /proc/h")
