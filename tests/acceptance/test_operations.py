"""The real ``hookyard serve``: /readyz, /metrics and a canary that comes back."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from support.netguard import ALLOW_LOOPBACK
from support.server import free_port, hookyard_command, start_server
from support.sink import ScriptedServer
from support.waiting import eventually


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_canary_goes_round_and_never_reaches_a_real_destination(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    config = f"""
[server]
{ALLOW_LOOPBACK}
sample_interval = "200ms"

[sources.shop]
scheme = "none"

[destinations.app]
url = "{sink.url()}"

[canary]
interval = "300ms"
timeout = "5s"
"""
    server = start_server(tmp_path, config=config, database=f"sqlite:///{tmp_path / 'h.db'}")
    try:
        ready = httpx.get(f"{server.url}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        loops = {loop["name"] for loop in ready.json()["checks"]["loops"]["loops"]}
        assert {"claim-loop", "backlog-sampler", "canary"} <= loops

        def came_back() -> float:
            return samples(server.url).get(("hookyard_canary_delivered_total", ()), 0.0) >= 3

        eventually(came_back, timeout=20, message="the canary did not come back")
        assert httpx.post(f"{server.url}/in/shop", content=b'{"type": "a"}').status_code == 202
        eventually(lambda: len(sink.received) == 1, message="the real event was not delivered")
        seen = samples(server.url)
        assert seen[("hookyard_canary_last_delivered_timestamp_seconds", ())] > 0
        assert seen[("hookyard_canary_round_trip_seconds_count", ())] >= 3
        assert (
            "hookyard_dispatches",
            (("destination", "app"), ("state", "pending")),
        ) in seen
        # The sink only ever saw the real event: canaries go to the built-in sink alone.
        assert [json.loads(r.body) for r in sink.received] == [{"type": "a"}]
        assert all(r.header("X-Hookyard-Source") != "hookyard-canary" for r in sink.received)
    finally:
        assert server.stop() == 0
    assert "canary failing" not in server.logs()
    assert "source 'hookyard-canary'" not in server.logs()  # not one for providers


def test_a_worker_serves_its_metrics_when_asked_and_says_so_in_one_line_when_it_cannot(
    tmp_path: Path, sink: ScriptedServer
) -> None:
    config_path = tmp_path / "hookyard.toml"
    config_path.write_text(
        f'[server]\n{ALLOW_LOOPBACK}\n[sources.shop]\nscheme = "none"\n'
        f'[destinations.app]\nurl = "{sink.url()}"\n'
    )
    database = f"sqlite:///{tmp_path / 'w.db'}"
    port = free_port()
    args = ("worker", "--config", str(config_path), "--db", database)
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        hookyard_command(*args, "--metrics-port", str(port)), stdout=log, stderr=log
    )
    try:

        def loops() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            try:
                return samples(f"http://127.0.0.1:{port}")
            except httpx.HTTPError:
                return None

        seen = eventually(loops, message="the worker serves no /metrics")
        assert seen[("hookyard_loop_healthy", (("loop", "claim-loop"),))] == 1
        # The port is taken now: a second worker says so in one line, exit 2.
        taken = subprocess.run(
            hookyard_command(*args, "--metrics-port", str(port)),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert taken.returncode == 2
        assert f"--metrics-port {port}: cannot listen" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        log.close()
