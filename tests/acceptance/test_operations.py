"""The real ``hookyard serve``: /readyz, /metrics and a canary that comes back."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from support.netguard import ALLOW_LOOPBACK
from support.server import start_server
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
