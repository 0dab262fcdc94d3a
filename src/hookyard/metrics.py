"""Prometheus metrics, served at ``GET /metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INGEST_REQUESTS = Counter(
    "hookyard_ingest_requests_total", "Ingest requests by outcome", ["outcome"]
)
INGEST_LATENCY = Histogram(
    "hookyard_ingest_latency_seconds",
    "Time from first byte to response, including the durable commit",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


_outcome_counters: dict[str, Counter] = {}


def count_ingest(outcome: str, seconds: float) -> None:
    counter = _outcome_counters.get(outcome)
    if counter is None:
        counter = _outcome_counters[outcome] = INGEST_REQUESTS.labels(outcome)
    counter.inc()
    INGEST_LATENCY.observe(seconds)


HTTP_REFUSED = Counter(
    "hookyard_http_refused_total",
    "Connections and requests the server refused before the app saw them, by reason",
    ["reason"],
)


def count_refusal(reason: str) -> None:
    HTTP_REFUSED.labels(reason).inc()
