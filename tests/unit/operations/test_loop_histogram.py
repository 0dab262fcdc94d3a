"""The ingest path's lock-free histogram exports what prometheus_client's would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.registry import Collector

from hookyard.metrics import LoopHistogram


def test_buckets_sum_and_count_match_prometheus_clients_own_histogram() -> None:
    bounds = (0.001, 0.01, 0.1, 1.0)
    values = [0.0005, 0.001, 0.0010001, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 30.0]
    ours = LoopHistogram(bounds)
    theirs_registry = CollectorRegistry()
    theirs = Histogram("probe_seconds", "probe", buckets=bounds, registry=theirs_registry)
    for value in values:
        ours.observe(value)
        theirs.observe(value)

    class Ours(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            yield ours.family("probe_seconds", "probe")

    ours_registry = CollectorRegistry()
    ours_registry.register(Ours())

    def lines(registry: CollectorRegistry) -> list[str]:
        text = generate_latest(registry).decode()
        return [line for line in text.splitlines() if line.startswith("probe_seconds_")]

    assert lines(ours_registry) == [
        line for line in lines(theirs_registry) if not line.startswith("probe_seconds_created")
    ]
    assert ours.counts == [2, 2, 2, 2, 2]  # a value on a bound counts in that bucket
