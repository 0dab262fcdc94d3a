"""Every Prometheus metric hookyard exports, served at ``GET /metrics``.

This module is the one place a metric is defined: one block per area (process, ingest,
store, dispatch backlog, delivery, replay, loops, canary, alerts), each a few metric
objects and the small functions the code calls to update them. To add a metric, add it
to its area's block (or a new block) with the ``hookyard_`` prefix, and list it in
docs/operations.md. Label values are bounded by configuration, never taken from a
request: source and destination names as configured, outcome words from a fixed set,
loop names. No event id, no URL, no header.

Code calls these functions, not the metric objects. The ingest path, the hottest, keeps
plain numbers that a collector reads at scrape time (see its block).
"""

from __future__ import annotations

import platform
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Info
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from hookyard import __version__
from hookyard.mirror.records import NOT_SENT_REASONS, LaneHealth

# -- process ---------------------------------------------------------------------------

UP = Gauge("hookyard_up", "1 while this hookyard process runs")
UP.set(1)
BUILD = Info("hookyard_build", "hookyard version and Python it runs on")
BUILD.info({"version": __version__, "python": platform.python_version()})
STARTED = Gauge("hookyard_start_time_seconds", "When this process started (Unix time)")
STARTED.set(time.time())

# -- ingest ----------------------------------------------------------------------------
#
# The ingest path runs on the event loop alone, so its figures are plain Python numbers,
# turned into metric families when scraped (``_IngestCollector``): an increment here costs
# about a tenth of prometheus_client's locked Counter and Histogram (measured: 2.8 µs a
# request with those, a few per cent of ingest's CPU; bench/metrics).

#: The source label of a request to a name that is not configured: the name is the
#: client's choice, and a label value must not be.
UNKNOWN_SOURCE = "(unknown)"
INGEST_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class LoopHistogram:
    """A histogram for one thread's use (no lock): bucket counts and a sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        cumulative, buckets = 0, []
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            cumulative += count
            buckets.append((bound, cumulative))
        return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=self.sum)


_ingest_counts: dict[tuple[str, str], int] = {}
_body_bytes: dict[str, int] = {}
_ingest_latency = LoopHistogram(INGEST_LATENCY_BUCKETS)


def count_ingest(outcome: str, seconds: float, source: str = UNKNOWN_SOURCE) -> None:
    key = (source, outcome)
    _ingest_counts[key] = _ingest_counts.get(key, 0) + 1
    _ingest_latency.observe(seconds)


def observe_body(source: str, size: int) -> None:
    _body_bytes[source] = _body_bytes.get(source, 0) + size


class _IngestCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "hookyard_ingest_requests",
            "Ingest requests by source and outcome (accepted, duplicate, rejected, overloaded, "
            "store_unavailable, unstorable, too_large, unknown_source, ...)",
            labels=["source", "outcome"],
        )
        for (source, outcome), count in list(_ingest_counts.items()):
            requests.add_metric([source, outcome], count)
        yield requests
        body = CounterMetricFamily(
            "hookyard_ingest_body_bytes",
            "Bytes of request bodies taken, by source",
            labels=["source"],
        )
        for source, size in list(_body_bytes.items()):
            body.add_metric([source], size)
        yield body
        yield _ingest_latency.family(
            "hookyard_ingest_latency_seconds",
            "Time from first byte to response, including the durable commit",
        )


REGISTRY.register(_IngestCollector())


HTTP_REFUSED = Counter(
    "hookyard_http_refused_total",
    "Connections and requests the server refused before the app saw them, by reason",
    ["reason"],
)


def count_refusal(reason: str) -> None:
    HTTP_REFUSED.labels(reason).inc()


# -- store -----------------------------------------------------------------------------

COMMIT_BATCH = Histogram(
    "hookyard_store_commit_batch_size",
    "Requests written by one group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
COMMIT_SECONDS = Histogram(
    "hookyard_store_commit_seconds",
    "Time one group commit took (statements and fsync)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
COMMIT_FAILURES = Counter(
    "hookyard_store_commit_failures_total", "Group commits that failed as a whole"
)
WRITE_QUEUE = Gauge(
    "hookyard_store_write_queue_depth", "Writes taken by the store and not yet committed"
)
WRITER_STALLED = Gauge(
    "hookyard_store_writer_stalled_seconds",
    "Seconds writes have waited with none settled (0 when none wait)",
)


def observe_commit(size: int, seconds: float) -> None:
    COMMIT_BATCH.observe(size)
    COMMIT_SECONDS.observe(seconds)


def watch_store(pending: Callable[[], int], stalled: Callable[[], float]) -> None:
    """Read the write queue at scrape time (the store of this process's app)."""
    WRITE_QUEUE.set_function(pending)
    WRITER_STALLED.set_function(stalled)


# -- dispatch backlog (sampled from the store, see hookyard.sampler) --------------------

DISPATCHES = Gauge(
    "hookyard_dispatches",
    "Dispatches by destination and state (pending, retrying, in_flight, dead, disabled), "
    "sampled from the store",
    ["destination", "state"],
)
OLDEST_DUE = Gauge(
    "hookyard_oldest_due_dispatch_age_seconds",
    "Age of the oldest dispatch that is due and not yet delivered, by destination "
    "(0 when none is due), sampled from the store",
    ["destination"],
)
SAMPLED_AT = Gauge(
    "hookyard_backlog_sampled_timestamp_seconds",
    "When this process last sampled the dispatch backlog (only the sampling process sets it)",
)
SAMPLED_STATES = ("pending", "retrying", "in_flight", "dead", "disabled")


def set_backlog(
    counts: dict[tuple[str, str], int], oldest_age: dict[str, float], destinations: Iterable[str]
) -> None:
    for destination in destinations:
        for state in SAMPLED_STATES:
            DISPATCHES.labels(destination, state).set(counts.get((destination, state), 0))
        OLDEST_DUE.labels(destination).set(oldest_age.get(destination, 0.0))
    SAMPLED_AT.set(time.time())


# -- delivery --------------------------------------------------------------------------

ATTEMPTS = Counter(
    "hookyard_attempts_total",
    "Delivery attempts by destination, decision (delivered, retrying, dead, disabled, "
    "dry_run) and result class (2xx ... 5xx, or the error kind: connect, timeout, ...)",
    ["destination", "decision", "result"],
)
DELIVERY_LATENCY = Histogram(
    "hookyard_delivery_latency_seconds",
    "Time one delivery attempt took, by destination",
    ["destination"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
END_TO_END = Histogram(
    "hookyard_end_to_end_seconds",
    "From receipt by ingest to a successful delivery, by destination",
    ["destination"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600),
)
CIRCUIT = Gauge(
    "hookyard_circuit_state",
    "Circuit breaker per destination: 0 closed, 1 half open, 2 open",
    ["destination"],
)
DISABLED = Gauge(
    "hookyard_destination_disabled", "1 while a destination is disabled", ["destination"]
)
CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def result_class(status_code: int | None, error_kind: str | None) -> str:
    """``2xx`` … ``5xx`` for an answer, else the error kind (a fixed set: connect, timeout,
    network, protocol, invalid_request, handler, handler_rejected), else ``none``."""
    if status_code is not None:
        return f"{min(max(status_code // 100, 1), 5)}xx"
    return error_kind or "none"


def count_attempt(
    destination: str,
    decision: str,
    status_code: int | None,
    error_kind: str | None,
    seconds: float,
) -> None:
    ATTEMPTS.labels(destination, decision, result_class(status_code, error_kind)).inc()
    if status_code is not None or error_kind is not None:
        DELIVERY_LATENCY.labels(destination).observe(seconds)


def observe_delivered(destination: str, seconds_since_receipt: float) -> None:
    END_TO_END.labels(destination).observe(max(0.0, seconds_since_receipt))


def set_circuit(destination: str, state: str) -> None:
    CIRCUIT.labels(destination).set(CIRCUIT_VALUES.get(state, 0))


def set_disabled(destination: str, disabled: bool) -> None:
    DISABLED.labels(destination).set(1 if disabled else 0)


# -- replay ----------------------------------------------------------------------------

REPLAY_BATCHES = Counter(
    "hookyard_replay_batches_total",
    "Replay batches started through the API, and how they ended (done, failed, cancelled)",
    ["status"],
)


def count_replay(status: str) -> None:
    REPLAY_BATCHES.labels(status).inc()


# -- supervised loops ------------------------------------------------------------------

LOOP_FAILURES = Counter(
    "hookyard_loop_failures_total",
    "Passes of a background loop that failed (and were retried after a backoff)",
    ["loop"],
)
LOOP_HEALTHY = Gauge(
    "hookyard_loop_healthy", "1 while a background loop runs and is not failing", ["loop"]
)


def count_loop_failure(loop: str) -> None:
    LOOP_FAILURES.labels(loop).inc()


def set_loop_healthy(loop: str, healthy: bool) -> None:
    LOOP_HEALTHY.labels(loop).set(1 if healthy else 0)


# -- canary ----------------------------------------------------------------------------

CANARY_SENT = Counter("hookyard_canary_sent_total", "Canary events sent to ingest")
CANARY_DELIVERED = Counter(
    "hookyard_canary_delivered_total", "Canary events that came back through delivery"
)
CANARY_LAST = Gauge(
    "hookyard_canary_last_delivered_timestamp_seconds",
    "When a canary event last came back through delivery (Unix time; 0 before the first)",
)
CANARY_ROUND_TRIP = Histogram(
    "hookyard_canary_round_trip_seconds",
    "From sending a canary event to ingest to its arrival at the built-in sink",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def canary_delivered(round_trip: float) -> None:
    CANARY_DELIVERED.inc()
    CANARY_LAST.set(time.time())
    CANARY_ROUND_TRIP.observe(round_trip)


# -- alerts ----------------------------------------------------------------------------

ALERTS_SENT = Counter(
    "hookyard_alerts_sent_total",
    "Notices posted to the [alerts] webhook, by kind (dispatch.dead, backlog, "
    "backlog.recovered, dead_letters.summary)",
    ["kind"],
)


def count_alert(kind: str) -> None:
    ALERTS_SENT.labels(kind).inc()


# -- mirrors ---------------------------------------------------------------------------
# The lanes run in their own process; serve's MirrorWatch reads what they store and sets
# ``MIRROR_HEALTH.health`` every few seconds, and a scrape reads it from here.


class MirrorCollector(Collector):
    """``hookyard_mirror_*`` from the last health the watch read (one per process)."""

    def __init__(self) -> None:
        self.health: dict[str, LaneHealth] = {}

    def collect(self) -> Iterator[Metric]:
        copies = CounterMetricFamily(
            "hookyard_mirror_copies",
            "Mirror copies sent, by mirror and outcome (2xx..5xx, error)",
            labels=["mirror", "outcome"],
        )
        dropped = CounterMetricFamily(
            "hookyard_mirror_dropped",
            "Mirror candidates not sent, by mirror and reason",
            labels=["mirror", "reason"],
        )
        lag = GaugeMetricFamily(
            "hookyard_mirror_lag_seconds",
            "How far behind the event log the lane is",
            labels=["mirror"],
        )
        up = GaugeMetricFamily(
            "hookyard_mirror_lane_up",
            "1 while the mirror's lane records heartbeats",
            labels=["mirror"],
        )
        for health in self.health.values():
            for outcome, count in sorted(health.counts.items()):
                family = dropped if outcome in NOT_SENT_REASONS else copies
                family.add_metric([health.mirror, outcome], count)
            lag.add_metric([health.mirror], health.lag_seconds)
            up.add_metric([health.mirror], 1.0 if health.up else 0.0)
        yield from (copies, dropped, lag, up)


MIRROR_HEALTH = MirrorCollector()
REGISTRY.register(MIRROR_HEALTH)
