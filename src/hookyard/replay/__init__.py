"""Replay: send stored events again, byte-identical, to a destination or to any URL.

A replay run is a recorded **batch** (what selected the events, the target, the
total, counters of delivered / failed / skipped, running → done). Each replayed
event becomes one dispatch row of its original event (``replay_of`` and
``batch_id`` set) with its one attempt, so ``GET /api/events/{id}`` of the original
shows every replay of it.

What goes on the wire is what ``delivery.sender.build_request`` builds for the
target: the stored body untouched, the original's idempotency key (the provider's
event id, else hookyard's), ``X-Hookyard-Replay-Of: ORIGINAL_ID``, and, when the
target signs, a fresh signature and timestamp. A Python handler that already
processed an event's key is skipped unless ``force``.

Design choice: a replay runs in the process that started it (the CLI, or a
background task of the server for ``POST /api/replays``), not through the worker
queue. Each event is attempted once, under an optional rate limit, with bounded
concurrency; failures are counted and kept in the batch (their dispatch rows have
status ``failed``), never retried on their own and never put in the dead-letter
queue. Replay dispatches are written with terminal statuses, so no worker claims
them and the original event's own status is left as it was. Results are written in
groups (one transaction per few hundred), which is what lets a bulk replay keep up
with a fast receiver.

The package follows those steps: ``plan`` (the target and the selection, checked),
``runner`` (the ``Replayer``: select, send, write results in groups, heartbeats) and
``batches`` (the server's background runs and the batch as JSON). Every name is
importable from ``hookyard.replay`` itself too.
"""

from __future__ import annotations

from hookyard.filtering import filter_from_params
from hookyard.replay.batches import (
    STALE_AFTER_SECONDS,
    ReplayManager,
    batch_json,
    failure_json,
    preview_json,
    shown_status,
)
from hookyard.replay.plan import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    MAX_IDS,
    ReplayPlan,
    ReplayTarget,
    describe_url,
    plan_from_json,
    resolve_target,
)
from hookyard.replay.runner import (
    FLUSH_ROWS,
    FLUSH_SECONDS,
    HEARTBEAT_SECONDS,
    LOAD_CHUNK,
    PREVIEW_COUNT,
    SELECT_PAGE,
    ProgressCallback,
    Replayer,
    Tally,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "FLUSH_ROWS",
    "FLUSH_SECONDS",
    "HEARTBEAT_SECONDS",
    "LOAD_CHUNK",
    "MAX_CONCURRENCY",
    "MAX_IDS",
    "PREVIEW_COUNT",
    "SELECT_PAGE",
    "STALE_AFTER_SECONDS",
    "ProgressCallback",
    "ReplayManager",
    "ReplayPlan",
    "ReplayTarget",
    "Replayer",
    "Tally",
    "batch_json",
    "describe_url",
    "failure_json",
    "filter_from_params",
    "plan_from_json",
    "preview_json",
    "resolve_target",
    "shown_status",
]
