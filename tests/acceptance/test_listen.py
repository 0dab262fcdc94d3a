"""``hookyard listen`` against a real ``hookyard serve`` and real local receivers, on SQLite
and PostgreSQL (issue 19): bytes and signatures intact, backfill then live without a gap
or a repeat at the seam, nothing skipped when ``listen`` is killed or the server drops
the connection, ``--map`` routing, a receiver that is down, and the one-line errors."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hookyard.server import GRACEFUL_SHUTDOWN_SECONDS
from hookyard.signatures.base import SignedMessage
from hookyard.signatures.registry import create_scheme
from support.databases import fresh_database
from support.fastsink import FastSink, running_fast_sink
from support.server import RunningServer, free_port, hookyard_command, start_server
from support.waiting import eventually

TOKEN = "listen-test-token-0123456789abcdef"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CONFIG = f"""
[server]
admin_token = "{TOKEN}"

[sources.demo]
scheme = "none"
type_field = "type"
"""


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    database = fresh_database(request, tmp_path)
    running = start_server(tmp_path, config=CONFIG, database=database)
    yield running
    running.stop()


@pytest.fixture
def receiver() -> Iterator[FastSink]:
    with running_fast_sink() as sink:
        yield sink


@dataclass
class Listener:
    process: subprocess.Popen[bytes]
    out: Path
    err: Path

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


_STARTED: list[Listener] = []


@pytest.fixture(autouse=True)
def _no_listener_left() -> Iterator[None]:
    """Every ``listen`` a test starts is stopped, whatever the test's outcome."""
    yield
    while _STARTED:
        _STARTED.pop().stop(signal.SIGKILL)


def start_listen(server: RunningServer, workdir: Path, *args: str, ready: bool = True) -> Listener:
    n = len(list(workdir.glob("listen-*.out")))
    out, err = workdir / f"listen-{n}.out", workdir / f"listen-{n}.err"
    env = {**os.environ, "HOOKYARD_TOKEN": TOKEN}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            hookyard_command("listen", "--from", server.url, "--heartbeat", "1", *args),
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
    listener = Listener(process, out, err)
    _STARTED.append(listener)
    if ready:
        eventually(lambda: "ready:" in listener.stderr() or process.poll() is not None, timeout=20)
        assert process.poll() is None, listener.stderr()
    return listener


def post(
    server: RunningServer, bodies: list[bytes], content_type: str = "application/json"
) -> list[str]:
    ids = []
    with httpx.Client(base_url=server.url) as client:
        for body in bodies:
            response = client.post("/in/demo", content=body, headers={"content-type": content_type})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    return ids


def bodies(count: int, prefix: str = "evt", event_type: str = "thing.happened") -> list[bytes]:
    # Key order, spacing and unicode a re-serialiser would change; bytes must stay as sent.
    return [
        b'{ "type":"%s",  "n": %d, "z": 1, "a": "\\u00e9 %s-%d" }'
        % (event_type.encode(), i, prefix.encode(), i)
        for i in range(count)
    ]


def received_ids(sink: FastSink) -> list[str]:
    return [s.header("x-hookyard-id") or "" for s in sink.seen]


def test_forwards_500_byte_exact_signed_and_recorded_as_local(
    server: RunningServer, receiver: FastSink, tmp_path: Path
) -> None:
    sent = bodies(500)
    ids = post(server, sent)
    listener = start_listen(
        server,
        tmp_path,
        "--forward-to",
        receiver.url(),
        "--since",
        "1h",
        "--sign-with",
        f"standard-webhooks:{SECRET}",
        "--name",
        "dev",
        "--json",
    )
    eventually(lambda: len(receiver.seen) >= 500, timeout=30)
    assert listener.stop() == 0
    assert received_ids(receiver) == ids  # in order, each once
    assert sorted(s.sha256 for s in receiver.seen) == sorted(
        hashlib.sha256(b).hexdigest() for b in sent
    )
    scheme = create_scheme("standard-webhooks", {})
    for seen in receiver.seen:
        assert seen.header("content-type") == "application/json"
        assert seen.header("idempotency-key") == seen.header("x-hookyard-id")
        headers = tuple((k.encode(), v.encode()) for k, v in seen.headers.items())
        verdict = scheme.verify(
            SignedMessage(headers, seen.body),
            [SECRET],
            now=float(seen.header("webhook-timestamp") or 0),
        )
        assert verdict.status == "valid", verdict.reason
    lines = listener.stdout().splitlines()
    assert len(lines) == 500 and '"status_code": 200' in lines[0]
    auth = {"authorization": f"Bearer {TOKEN}"}
    record = httpx.get(f"{server.url}/api/events/{ids[0]}", headers=auth).json()
    [local] = record["dispatches"]
    assert (local["destination"], local["replay_of"], local["status"]) == (
        "local:dev",
        ids[0],
        "delivered",
    )
    cursor = httpx.get(f"{server.url}/api/listeners/dev", headers=auth).json()["cursor"]
    assert cursor == ids[-1]


def test_since_backfill_then_live_without_gap_or_repeat(
    server: RunningServer, receiver: FastSink, tmp_path: Path
) -> None:
    stored = post(server, bodies(150, "old"))
    live: list[str] = []
    listener = start_listen(server, tmp_path, "--forward-to", receiver.url(), "--since", "1h")
    # Live events arrive while the backfill is still being forwarded: the seam.
    sender = threading.Thread(target=lambda: live.extend(post(server, bodies(100, "new"))))
    sender.start()
    sender.join()
    eventually(lambda: len(receiver.seen) >= 250, timeout=30)
    listener.stop()
    assert received_ids(receiver) == stored + live


def test_killed_and_restarted_listen_skips_nothing(
    server: RunningServer, receiver: FastSink, tmp_path: Path
) -> None:
    first = post(server, bodies(300, "a"))
    args = ("--forward-to", receiver.url(), "--name", "laptop")
    listener = start_listen(server, tmp_path, *args, "--since", "1h")
    eventually(lambda: len(receiver.seen) >= 100, timeout=30)
    # No goodbye: the cursor is whatever was reported last (at the least, where the run
    # started, which a listen reports before it forwards anything).
    listener.stop(signal.SIGKILL)
    second = post(server, bodies(50, "b"))  # while the laptop sleeps
    restarted = start_listen(server, tmp_path, *args)  # no --since: resumes from the cursor
    eventually(lambda: set(first + second) <= set(received_ids(receiver)), timeout=30)
    restarted.stop()
    seen = received_ids(receiver)
    assert set(seen) == set(first + second)
    # Repeats only of what was forwarded but not yet reported when it was killed: one run
    # of events right after the cursor, each sent twice at most.
    repeated = sorted({i for i in seen if seen.count(i) > 1})
    assert all(seen.count(i) == 2 for i in repeated)
    if repeated:
        start = first.index(repeated[0])
        assert first[start : start + len(repeated)] == repeated


def test_connection_cut_by_the_server_skips_nothing(
    server: RunningServer, receiver: FastSink, tmp_path: Path
) -> None:
    listener = start_listen(server, tmp_path, "--forward-to", receiver.url())
    before = post(server, bodies(20, "before"))
    eventually(lambda: len(receiver.seen) >= 20, timeout=20)
    server.stop(signal.SIGKILL)
    eventually(lambda: "connection lost" in listener.stderr(), timeout=10)
    again = start_server(
        server.log_path.parent,
        config=CONFIG,
        database=_database_of(server),
        port=server.port,
    )
    try:
        after = post(again, bodies(20, "after"))
        eventually(lambda: len(receiver.seen) >= 40, timeout=30)
        assert "reconnected" in listener.stderr()
        listener.stop()
        assert received_ids(receiver) == before + after
    finally:
        again.stop()


def _database_of(server: RunningServer) -> str:
    args = server.process.args
    assert isinstance(args, list)
    return str(args[args.index("--db") + 1])


def test_map_routes_by_type(server: RunningServer, receiver: FastSink, tmp_path: Path) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text('"invoice.*" = "/billing"\n"customer.created" = "/customers?x=1"\n')
    listener = start_listen(
        server, tmp_path, "--forward-to", receiver.url("/hooks"), "--map", str(routes)
    )
    post(server, bodies(1, event_type="invoice.paid"))
    post(server, bodies(1, event_type="customer.created"))
    post(server, bodies(1, event_type="other.thing"))
    eventually(lambda: len(receiver.seen) >= 3, timeout=20)
    listener.stop()
    assert [s.path for s in receiver.seen] == ["/billing", "/customers?x=1", "/hooks"]


def test_a_receiver_down_is_said_and_listen_goes_on(
    server: RunningServer, receiver: FastSink, tmp_path: Path
) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(f'"broken.*" = "http://127.0.0.1:{free_port()}/down"\n')
    listener = start_listen(server, tmp_path, "--forward-to", receiver.url(), "--map", str(routes))
    [down] = post(server, bodies(1, event_type="broken.one"))
    [fine] = post(server, bodies(1, event_type="fine.two"))
    eventually(lambda: len(receiver.seen) >= 1 and fine in listener.stdout(), timeout=20)
    listener.stop()
    lines = listener.stdout().splitlines()
    [down_line] = [line for line in lines if down in line]
    assert "ConnectError" in down_line
    [fine_line] = [line for line in lines if fine in line]
    assert " 200 " in fine_line
    auth = {"authorization": f"Bearer {TOKEN}"}
    record = httpx.get(f"{server.url}/api/events/{down}", headers=auth).json()
    assert [d["status"] for d in record["dispatches"]] == ["failed"]


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_bad_token_unreachable_from_and_bad_map_exit_2_with_one_line(
    server: RunningServer, receiver: FastSink, tmp_path: Path
) -> None:
    def run(*args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HOOKYARD_TOKEN": token}
        return subprocess.run(
            hookyard_command("listen", "--forward-to", receiver.url(), *args),
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )

    missing = tmp_path / "missing.toml"
    not_toml = tmp_path / "bad.toml"
    not_toml.write_text("this is = = not toml")
    not_a_path = tmp_path / "number.toml"
    not_a_path.write_text('"invoice.*" = 3\n')
    cases = [
        (run("--from", server.url, token="wrong"), "token was refused"),
        (run("--from", f"http://127.0.0.1:{free_port()}"), "cannot reach it"),
        (run("--from", server.url, "--map", str(missing)), "cannot read it"),
        (run("--from", server.url, "--map", str(not_toml)), "not valid TOML"),
        (run("--from", server.url, "--map", str(not_a_path)), "must map to a path or URL"),
        (run("--from", server.url, "--sign-with", "nope"), "--sign-with"),
        (run("--from", server.url, "--since", "soon"), "--since"),
    ]
    for result, text in cases:
        assert result.returncode == 2, (text, result.stderr)
        assert result.stderr.count("\n") == 1 and text in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_tail_prints_stored_then_live_events(server: RunningServer, tmp_path: Path) -> None:
    stored = post(server, bodies(3, "t"))
    out, err = tmp_path / "tail.out", tmp_path / "tail.err"
    env = {**os.environ, "HOOKYARD_TOKEN": TOKEN}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            hookyard_command("tail", "--from", server.url, "--since", "1h", "--source", "demo"),
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
    try:
        eventually(lambda: "ready:" in err.read_text(), timeout=20)
        live = post(server, bodies(2, "u"))
        eventually(lambda: all(i in out.read_text() for i in stored + live), timeout=20)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split() == ["time", "source", "type", "id", "verdict", "status"]
    assert [line.split()[3] for line in lines[1:]] == stored + live
    wrong = subprocess.run(
        hookyard_command("tail", "--from", server.url, "--token", "wrong"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert wrong.returncode == 2 and "token was refused" in wrong.stderr
    assert wrong.stderr.count("\n") == 1


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_the_server_stops_at_once_with_streams_open(
    server: RunningServer, receiver: FastSink, tmp_path: Path
) -> None:
    listener = start_listen(server, tmp_path, "--forward-to", receiver.url())
    try:
        started = time.monotonic()
        assert server.stop() == 0
        # The streams end when the server is told to stop, not when its grace runs out.
        assert time.monotonic() - started < GRACEFUL_SHUTDOWN_SECONDS - 2
        eventually(lambda: "connection lost" in listener.stderr(), timeout=10)
    finally:
        listener.stop()


def test_generated_secret_headers_and_content_type(
    server: RunningServer, receiver: FastSink, tmp_path: Path
) -> None:
    listener = start_listen(
        server, tmp_path, "--forward-to", receiver.url(), "--headers", "X-Dev: laptop"
    )
    [secret] = re.findall(r"secret is (whsec_\S+)", listener.stderr())
    form = b"a=1&b=%C3%A9&a=2"
    [event_id] = post(server, [form], content_type="application/x-www-form-urlencoded")
    eventually(lambda: receiver.seen, timeout=20)
    listener.stop()
    [seen] = receiver.seen
    assert seen.body == form and seen.header("x-hookyard-id") == event_id
    assert seen.header("content-type") == "application/x-www-form-urlencoded"
    assert seen.header("x-dev") == "laptop"
    headers = tuple((k.encode(), v.encode()) for k, v in seen.headers.items())
    scheme = create_scheme("standard-webhooks", {})
    now = float(seen.header("webhook-timestamp") or 0)
    assert scheme.verify(SignedMessage(headers, form), [secret], now=now).status == "valid"
    assert listener.stderr().count(secret) == 1  # printed once


def test_a_listen_stopped_before_any_event_resumes_from_where_it_started(
    server: RunningServer, receiver: FastSink, tmp_path: Path
) -> None:
    args = ("--forward-to", receiver.url(), "--name", "fresh")
    start_listen(server, tmp_path, *args).stop(signal.SIGKILL)  # ready, then gone at once
    missed = post(server, bodies(20, "while-down"))
    restarted = start_listen(server, tmp_path, *args)
    eventually(lambda: set(missed) <= set(received_ids(receiver)), timeout=30)
    restarted.stop()
    assert sorted(received_ids(receiver)) == sorted(missed)
