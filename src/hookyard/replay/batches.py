"""Replay batches as the server runs and shows them.

``ReplayManager`` runs the batches ``POST /api/replays`` starts, as background tasks of
the server; ``batch_json`` and its helpers are how the API and ``hookyard replay
--json`` show a batch, with a ``running`` batch not heard from for
``STALE_AFTER_SECONDS`` shown as ``interrupted``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from hookyard.clock import now_us
from hookyard.delivery.destinations import Destination
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.metrics import count_replay
from hookyard.models import DeliveryEvent, DispatchRecord, ReplayBatch
from hookyard.replay.plan import ReplayPlan, check_url_target, plan_from_json
from hookyard.replay.runner import HEARTBEAT_SECONDS, Replayer
from hookyard.store.base import ReplayStore
from hookyard.timeparse import iso_from_us

log = logging.getLogger("hookyard.replay")

#: Not heard from for this long, a running batch is shown as ``interrupted``.
STALE_AFTER_SECONDS = 6 * HEARTBEAT_SECONDS


class ReplayManager:
    """Replays started through the admin API, run as background tasks of the server.

    It is one of the app's services: ``stop`` cancels runs still going, and each
    cancelled batch is recorded as ``cancelled`` before the store closes.
    """

    def __init__(
        self,
        store: ReplayStore,
        destinations: Mapping[str, Destination],
        policy: NetPolicy | None = None,
    ) -> None:
        self.store = store
        self.destinations = destinations
        #: The server's SSRF policy: an API replay never gets the CLI's loopback allowance.
        self.policy = NetPolicy() if policy is None else policy
        self._runs: dict[str, asyncio.Task[ReplayBatch]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        runs = list(self._runs.values())
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)

    def plan(self, payload: object) -> tuple[ReplayPlan, bool]:
        return plan_from_json(payload, self.destinations)

    async def check(self, plan: ReplayPlan) -> None:
        """Refuse, with a ``UsageError`` naming the rule, a URL the guard would refuse."""
        await check_url_target(plan.target, self.policy)

    async def launch(self, plan: ReplayPlan) -> ReplayBatch:
        """Select, record the batch, and start sending in the background."""
        replayer = Replayer(self.store, policy=self.policy)
        ids = await replayer.select(plan)
        batch = await replayer.begin(plan, ids)
        task = asyncio.create_task(
            replayer.run(batch, plan, ids), name=f"hookyard-replay-{batch.id}"
        )
        self._runs[batch.id] = task
        count_replay("started")
        task.add_done_callback(lambda done: self._finished(batch.id, done))
        return batch

    def _finished(self, batch_id: str, task: asyncio.Task[ReplayBatch]) -> None:
        self._runs.pop(batch_id, None)
        if task.cancelled():
            count_replay("cancelled")
        elif task.exception() is not None:
            count_replay("failed")
            log.error("replay %s failed", batch_id, exc_info=task.exception())
        else:
            count_replay(task.result().status)

    @property
    def running(self) -> list[str]:
        return list(self._runs)


def shown_status(batch: ReplayBatch, at_us: int) -> str:
    """The stored status, except that a ``running`` batch not heard from for
    ``STALE_AFTER_SECONDS`` is ``interrupted``: its process ended without finishing it."""
    heard_us = batch.updated_us or batch.created_us
    if batch.status == "running" and at_us - heard_us > STALE_AFTER_SECONDS * 1_000_000:
        return "interrupted"
    return batch.status


def batch_json(
    batch: ReplayBatch, failures: Sequence[DispatchRecord] = (), *, at_us: int | None = None
) -> dict[str, Any]:
    """A batch as the API and ``--json`` show it; ``failures`` are some failed dispatches."""
    elapsed_us = (batch.finished_us or batch.updated_us or batch.created_us) - batch.created_us
    return {
        "id": batch.id,
        "status": shown_status(batch, now_us() if at_us is None else at_us),
        "created_at": iso_from_us(batch.created_us),
        "updated_at": iso_from_us(batch.updated_us),
        "finished_at": iso_from_us(batch.finished_us),
        "filter": batch.selection,
        "target": batch.target,
        "options": batch.options,
        "total": batch.total,
        "done": batch.done,
        "delivered": batch.delivered,
        "failed": batch.failed,
        "skipped": batch.skipped,
        "progress": round(batch.done / batch.total, 4) if batch.total else 1.0,
        "seconds": round(elapsed_us / 1e6, 3),
        "events_per_second": round(batch.done / (elapsed_us / 1e6), 1) if elapsed_us > 0 else None,
        "error": batch.error,
        "failures": [failure_json(d) for d in failures],
    }


def failure_json(dispatch: DispatchRecord) -> dict[str, Any]:
    last = dispatch.attempt_log[-1] if dispatch.attempt_log else None
    return {
        "dispatch_id": dispatch.id,
        "event_id": dispatch.event_id,
        "status_code": last.status_code if last else None,
        "error": (
            f"{last.error_class}: {last.error_message}" if last and last.error_class else None
        ),
        "decision": last.decision if last else None,
    }


def preview_json(payload: DeliveryEvent) -> dict[str, Any]:
    return {
        "id": payload.id,
        "source": payload.source,
        "event_type": payload.event_type,
        "received_at": iso_from_us(payload.received_us),
        "body_size": len(payload.body),
        "idempotency_key": payload.idempotency_key,
    }
