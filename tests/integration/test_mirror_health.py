"""Lane health: judged from what the lane stores, exported to Prometheus, alerted on stalls
(never on staging's 5xx), through a real alert receiver."""

from __future__ import annotations

import json

from prometheus_client import generate_latest

from hookyard.clock import now_us
from hookyard.config import settings_from_mapping
from hookyard.delivery.alerts import AlertConfig
from hookyard.mirror.health import MirrorWatch, judge
from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState
from hookyard.mirror.settings import Mirror
from hookyard.store.base import Store
from support.netguard import LOOPBACK
from support.sink import ScriptedServer


def mirror(name: str = "staging", **keys: object) -> Mirror:
    table = {"sources": ["demo"], "url": "https://staging.example/", **keys}
    data = {"sources": {"demo": {}}, "mirrors": {name: table}}
    return settings_from_mapping(data, "cfg.toml").mirrors[name]


def test_judge() -> None:
    m = mirror(alert_after="60s")
    now = now_us()
    fresh = MirrorLaneState("staging", None, now - 2_000_000, {"2xx": 3}, lag_us=0)
    assert judge(m, fresh, now_us=now, watching_since_us=now).stalled is None
    assert judge(m, fresh, now_us=now, watching_since_us=now).up
    silent = MirrorLaneState("staging", None, now - 61_000_000)
    assert judge(m, silent, now_us=now, watching_since_us=now).stalled == "not running"
    quiet = MirrorLaneState("staging", None, now - 30_000_000)
    health = judge(m, quiet, now_us=now, watching_since_us=now)
    assert not health.up and health.stalled is None  # down a while, not yet an alert
    behind = MirrorLaneState("staging", None, now, lag_us=90_000_000)
    assert judge(m, behind, now_us=now, watching_since_us=now).stalled == "lagging"
    # A lane that never ran gets alert_after from when the watch began.
    assert judge(m, None, now_us=now, watching_since_us=now - 10_000_000).stalled is None
    assert judge(m, None, now_us=now, watching_since_us=now - 70_000_000).stalled == "not running"


def copy(event_id: str, status: int) -> MirrorCopyRecord:
    return MirrorCopyRecord("staging", event_id, "demo", "a", 1, 1, status_code=status)


async def test_watch_alerts_on_a_stall_and_its_recovery_not_on_5xx(
    store: Store, sink: ScriptedServer
) -> None:
    m = mirror(alert_after="1s")
    watch = MirrorWatch(
        store,
        {"staging": m},
        alerts=AlertConfig(url=sink.url("/alerts"), timeout_seconds=5),
        policy=LOOPBACK,
    )
    await watch.start()
    try:
        now = now_us()
        await store.record_mirror_copies(
            "staging",
            [copy("01A", 503), copy("01B", 500)],
            cursor=MirrorCursor(1, "01B"),
            now_us=now,
            lag_us=0,
        )
        await watch.check()
        assert sink.received == []  # staging's 5xx is the report's business, not an alert
        metrics = generate_latest().decode()
        assert 'hookyard_mirror_copies_total{mirror="staging",outcome="5xx"} 2.0' in metrics
        assert 'hookyard_mirror_lane_up{mirror="staging"} 1.0' in metrics

        await store.record_mirror_copies("staging", [], cursor=None, now_us=now - 5_000_000)
        await watch.check()
        await store.record_mirror_copies(
            "staging", [copy("01C", 200)], cursor=None, now_us=now_us(), lag_us=0
        )
        await watch.check()
    finally:
        await watch.stop()
    notices = [json.loads(r.body) for r in sink.received]
    kinds = [n["type"] for n in notices]
    assert kinds == ["hookyard.mirror.stalled", "hookyard.mirror.recovered"]
    assert notices[0]["mirror"] == "staging" and notices[0]["reason"] == "not running"


async def test_dropped_candidates_are_their_own_metric(store: Store) -> None:
    m = mirror("drops")
    await store.record_mirror_copies(
        "drops",
        [
            MirrorCopyRecord("drops", "01A", "demo", "a", 1, 1, reason="rate_limited"),
            MirrorCopyRecord("drops", "01B", "demo", "a", 1, 1, reason="lagging"),
        ],
        cursor=None,
        now_us=now_us(),
    )
    watch = MirrorWatch(store, {"drops": m}, alerts=None, policy=LOOPBACK)
    await watch.check()
    metrics = generate_latest().decode()
    assert 'hookyard_mirror_dropped_total{mirror="drops",reason="rate_limited"} 1.0' in metrics
    assert 'hookyard_mirror_dropped_total{mirror="drops",reason="lagging"} 1.0' in metrics
