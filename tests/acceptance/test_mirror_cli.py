"""Mirroring through the real processes: serve (with its lane child), hookyard mirror,
report, gate and backfill, against real receivers on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookyard.mirror.process import NICENESS
from support.databases import fresh_database
from support.fastsink import running_fast_sink
from support.netguard import LOOPBACK_SERVER_TABLE
from support.server import RunningServer, hookyard_command, start_server
from support.sink import Received, Reply, ScriptedServer
from support.waiting import eventually

pytestmark = pytest.mark.slow


def config(production: str, staging: str, mirror: str = "", *, sources: str = '"demo"') -> str:
    return f"""
{LOOPBACK_SERVER_TABLE}
[sources.demo]
scheme = "none"
id_field = "id"
type_field = "type"

[sources.ok]
scheme = "none"
id_field = "id"
type_field = "type"

[destinations.app]
url = "{production}"
retry = {{ schedule = ["100ms"], jitter = false, max_attempts = 2 }}

[mirrors.staging]
sources = [{sources}]
url = "{staging}"
compare_with = "app"
ignore = ["Date"]
# The suite keeps the CPUs busy; the lane's wait for headroom has tests of its own.
max_cpu_pressure = 1
{mirror}
"""


def lane_children(parent: int) -> list[tuple[int, int]]:
    """(pid, nice value) of each ``hookyard mirror`` child of ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # After the name: state, ppid, ... and the nice value is the 17th.
        if int(fields[1]) == parent and b"mirror" in command:
            found.append((int(entry.name), int(fields[16])))
    return found


def post(server: RunningServer, source: str, event_id: str, event_type: str) -> None:
    body = json.dumps({"id": event_id, "type": event_type, "data": {"n": event_id}})
    response = httpx.post(f"{server.url}/in/{source}", content=body)
    assert response.status_code == 202, response.text


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hookyard_command(*args), cwd=cwd, capture_output=True, text=True, timeout=120
    )


def mirror_of(received: list[Received]) -> list[str]:
    return [r.header("X-Hookyard-Mirror-Of") or "" for r in received]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request, tmp_path)


@pytest.fixture
def staging() -> Iterator[ScriptedServer]:
    from support.sink import running_sink

    with running_sink() as server:
        yield server


def test_serve_mirrors_reports_and_gates(
    tmp_path: Path, database: str, sink: ScriptedServer, staging: ScriptedServer
) -> None:
    """Staging fails every `order.refunded`; production answers everything 200."""
    staging.answer = lambda r: (
        Reply(500, body=b'{"error": "boom"}')
        if b"refunded" in r.body
        else Reply(200, body=b'{"ok": true}')
    )
    server = start_server(
        tmp_path,
        config=config(sink.url(), staging.url("/{source}"), sources='"demo", "ok"'),
        database=database,
    )
    try:
        # The lanes run in serve's child, which lowers its CPU priority as it starts.
        assert NICENESS == 10
        eventually(
            lambda: [n for _, n in lane_children(server.process.pid)] == [NICENESS], timeout=20
        )
        for i in range(12):
            post(server, "demo", f"evt_p{i}", "order.paid")
        for i in range(3):
            post(server, "demo", f"evt_r{i}", "order.refunded")
        for i in range(10):
            post(server, "ok", f"evt_o{i}", "order.paid")
        eventually(lambda: len(staging.received) == 25 and len(sink.received) == 25, timeout=30)
        config_path = str(server.config_path)

        def reported() -> dict[str, object] | None:
            result = cli(
                "mirror",
                "report",
                "staging",
                "--json",
                "--config",
                config_path,
                "--db",
                database,
                cwd=tmp_path,
            )
            assert result.returncode == 0, result.stderr
            document: dict[str, object] = json.loads(result.stdout)
            return document if document["compared"] == 25 else None

        report = eventually(reported, timeout=20)
        assert report["discrepancies"] == 3 and report["sent"] == 25
        groups = report["groups"]
        assert isinstance(groups, list)
        first = groups[0]
        assert (first["source"], first["event_type"], first["production"], first["staging"]) == (
            "demo",
            "order.refunded",
            "200",
            "500",
        )
        assert first["regression"] and first["count"] == 3 and len(first["examples"]) == 3
        shown = cli("events", "show", first["examples"][0], "--db", database, cwd=tmp_path)
        assert shown.returncode == 0 and "order.refunded" in shown.stdout

        api = httpx.get(f"{server.url}/api/mirrors/staging/report", params={"since": "1h"})
        assert api.status_code == 200 and api.json()["discrepancies"] == 3
        assert httpx.get(f"{server.url}/api/mirrors/nope/report").status_code == 404

        diffed = cli(
            "mirror",
            "report",
            "staging",
            "--diff",
            "--json",
            "--config",
            config_path,
            "--db",
            database,
            cwd=tmp_path,
        )
        differences = json.loads(diffed.stdout)["body_differences"]
        assert len(differences) == 25  # every staging body differs from production's "ok"

        text = cli("mirror", "report", "--config", config_path, "--db", database, cwd=tmp_path)
        assert "REGRESSION" in text.stdout and "order.refunded" in text.stdout

        gate = [
            "mirror",
            "gate",
            "staging",
            "--since",
            "1h",
            "--config",
            config_path,
            "--db",
            database,
        ]
        failing = cli(*gate, "--max-rate", "0.05", "--min-events", "10", cwd=tmp_path)
        assert failing.returncode == 1 and "FAIL: 3 of 25 discrepant" in failing.stdout
        passing = cli(
            *gate, "--max-rate", "0.05", "--min-events", "10", "--source", "ok", cwd=tmp_path
        )
        assert passing.returncode == 0, passing.stdout
        too_few = cli(*gate, "--max-rate", "1", "--min-events", "100", cwd=tmp_path)
        assert too_few.returncode == 1 and "fewer than --min-events 100" in too_few.stdout

        def exported() -> str | None:
            text = httpx.get(f"{server.url}/metrics").text
            return text if 'outcome="5xx"} 3.0' in text else None

        metrics = eventually(exported, timeout=20)  # the watch reads the lane every 5 s
        assert 'hookyard_mirror_copies_total{mirror="staging",outcome="2xx"} 22.0' in metrics
        assert 'hookyard_mirror_lane_up{mirror="staging"} 1.0' in metrics
    finally:
        server.stop()


def test_a_killed_lane_resumes_from_its_cursor(
    tmp_path: Path, sink: ScriptedServer, staging: ScriptedServer
) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    server = start_server(
        tmp_path,
        config=config(sink.url(), staging.url()),
        database=database,
        extra_args=("--no-mirror",),
    )
    config_path = str(server.config_path)

    def lane() -> subprocess.Popen[bytes]:
        log = (tmp_path / "lane.log").open("ab")
        return subprocess.Popen(
            hookyard_command("mirror", "--config", config_path, "--db", database),
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    try:
        process = lane()
        for i in range(5):
            post(server, "demo", f"evt_a{i}", "a")
        eventually(lambda: len(staging.received) == 5, timeout=20)
        time.sleep(0.5)  # let the batch's rows and cursor commit
        process.send_signal(signal.SIGKILL)
        process.wait()
        for i in range(5):
            post(server, "demo", f"evt_b{i}", "b")
        time.sleep(1.5)
        assert len(staging.received) == 5  # no lane, no copies
        process = lane()
        eventually(lambda: len(staging.received) == 10, timeout=20)
        time.sleep(0.5)
        sent = mirror_of(staging.received)
        assert len(set(sent)) == 10 == len(sent)  # every event once: none lost, none twice
        process.terminate()
        assert process.wait(timeout=15) == 0
    finally:
        server.stop()


def _hanging_listener() -> socket.socket:
    """Accepts connections (the kernel does) and never answers one."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    return listener


def _ingest_latencies(server: RunningServer, n: int, prefix: str) -> list[float]:
    times = []
    with httpx.Client() as client:
        for i in range(n):
            body = json.dumps({"id": f"{prefix}{i}", "type": "a"})
            started = time.perf_counter()
            response = client.post(f"{server.url}/in/demo", content=body)
            times.append(time.perf_counter() - started)
            assert response.status_code == 202
    return times


def test_a_hanging_staging_leaves_ingest_and_production_untouched(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    listener = _hanging_listener()
    hanging = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        with_mirror = tmp_path / "with"
        without = tmp_path / "without"
        with_mirror.mkdir()
        without.mkdir()
        server = start_server(
            with_mirror, config=config(sink.url(), hanging, "timeout_seconds = 1")
        )
        try:
            eventually(lambda: "hookyard mirror: staging" in server.logs(), timeout=20)
            mirrored = _ingest_latencies(server, 150, "m")
            eventually(lambda: len(sink.received) == 150, timeout=30)  # production unharmed
            config_path = str(server.config_path)

            def logged() -> dict[str, object] | None:
                args = ("mirror", "report", "staging", "--json", "--config", config_path)
                document: dict[str, object] = json.loads(cli(*args, cwd=with_mirror).stdout)
                return document if document["sent"] else None

            document = eventually(logged, timeout=30)
        finally:
            server.stop()
        plain_config = config(sink.url(), hanging).split("[mirrors.staging]")[0]
        baseline_server = start_server(without, config=plain_config)
        try:
            baseline = _ingest_latencies(baseline_server, 150, "b")
        finally:
            baseline_server.stop()
    finally:
        listener.close()
    # Compared with the same ingest without a mirror, in the same run: a lane blocked on
    # staging would add its timeout (1 s) to requests, not a fraction of a millisecond.
    assert statistics.median(mirrored) < 3 * statistics.median(baseline) + 0.002
    groups = document["groups"]
    assert isinstance(groups, list) and groups[0]["staging"].startswith("error:")


def test_backfill_of_1000_events(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    with running_fast_sink() as staging_sink:
        cfg = config("http://127.0.0.1:9/unused", staging_sink.url(), "rate = 2000")
        server = start_server(
            tmp_path, config=cfg, database=database, extra_args=("--no-mirror", "--no-worker")
        )
        try:
            with httpx.Client() as client:
                for i in range(1000):
                    body = json.dumps({"id": f"evt_{i}", "type": "a"})
                    assert client.post(f"{server.url}/in/demo", content=body).status_code == 202
        finally:
            server.stop()
        result = cli(
            "mirror",
            "backfill",
            "staging",
            "--since",
            "1h",
            "--config",
            str(server.config_path),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "backfilled 1000 event(s) through mirror staging: 1000 2xx"
        assert len({s.headers["x-hookyard-mirror-of"] for s in staging_sink.seen}) == 1000
        report = cli(
            "mirror",
            "report",
            "staging",
            "--json",
            "--config",
            str(server.config_path),
            cwd=tmp_path,
        )
        assert json.loads(report.stdout)["sent"] == 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("mirror", "report", "nope"), "hookyard: error: no mirror 'nope' (mirrors: staging)"),
        (
            ("mirror", "backfill", "staging"),
            "hookyard: error: --since is required (e.g. --since 24h)",
        ),
        (("mirror", "report", "--since", "soon"), "hookyard: error: --since: "),
        (
            ("mirror", "backfill", "staging", "--since", "1h", "--source", "ok"),
            "--source 'ok' is not mirrored by 'staging'",
        ),
        (("mirror", "gate", "staging"), "Missing option '--max-rate'"),
    ],
)
def test_mistakes_get_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    path = tmp_path / "hookyard.toml"
    path.write_text(config("https://app.example/", "https://staging.example/"))
    result = cli(
        *args, "--config", str(path), "--db", f"sqlite:///{tmp_path / 'h.db'}", cwd=tmp_path
    )
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert (
        len([line for line in result.stderr.splitlines() if line.strip()]) <= 3
    )  # usage hint at most


def test_mirror_without_mirrors_or_config(tmp_path: Path) -> None:
    path = tmp_path / "plain.toml"
    path.write_text('[sources.demo]\nscheme = "none"\n')
    nothing = cli("mirror", "--config", str(path), cwd=tmp_path)
    assert (nothing.returncode, nothing.stderr.strip()) == (
        2,
        "hookyard: error: no [mirrors] configured in this config file",
    )
    bare = cli("mirror", cwd=tmp_path)
    assert bare.returncode == 2 and "--config is required" in bare.stderr
    misplaced = cli("mirror", "--config", str(path), "report", cwd=tmp_path)
    assert misplaced.returncode == 2 and "after the subcommand" in misplaced.stderr
