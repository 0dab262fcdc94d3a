"""The backlog sampler: one process reads the dispatch backlog every few seconds.

It exports what it reads (``hookyard_dispatches``, ``hookyard_oldest_due_dispatch_age_
seconds``, ``hookyard_destination_disabled``) and hands it to the ``[alerts]``
conditions (``hookyard.alerting``). On PostgreSQL only the holder of an advisory lock
samples (``Backlog.sample_backlog`` answers None elsewhere), so N processes cost the
database one reader, not N, and a backlog pages once. The loop is supervised: a store
that fails is logged once and retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from hookyard import metrics
from hookyard.alerting import Condition, Observation, conditions_for, evaluate
from hookyard.clock import now_us
from hookyard.delivery.alerts import AlertConfig, send_alert
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.delivery.sender import make_client
from hookyard.store.backlog import BacklogSample
from hookyard.store.base import Backlog
from hookyard.supervision import Supervisor

log = logging.getLogger("hookyard.sampler")


class SampledStore(Backlog, Protocol):
    async def disabled_destinations(self) -> dict[str, str]: ...


@dataclass
class BacklogSampler:
    store: SampledStore
    destinations: Sequence[str]
    interval: float = 5.0
    alerts: AlertConfig | None = None
    policy: NetPolicy = field(default_factory=NetPolicy)
    supervisor: Supervisor = field(default_factory=Supervisor)
    client: httpx.AsyncClient | None = None
    #: What the last pass saw (None before the first, or while another process samples).
    latest: BacklogSample | None = None

    def __post_init__(self) -> None:
        self.conditions: list[Condition] = conditions_for(self.alerts) if self.alerts else []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._own_client = self.client is None

    async def start(self) -> None:
        if self.alerts is not None and self.client is None:
            self.client = make_client(policy=self.policy)
        self._stop = asyncio.Event()
        self._task = self.supervisor.start(
            "backlog-sampler", self.sample_once, stopping=self._stop.is_set, logger=log
        )

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._own_client and self.client is not None:
            await self.client.aclose()

    async def sample_once(self) -> None:
        """One sample (and its notices), then the wait until the next."""
        sample = await self.store.sample_backlog(self.destinations, now_us=now_us())
        self.latest = sample
        if sample is None:
            # Another process samples: show nothing rather than what this one last saw.
            metrics.DISPATCHES.clear()
            metrics.OLDEST_DUE.clear()
        else:
            metrics.set_backlog(sample.counts, sample.oldest_age_seconds(), self.destinations)
            disabled = await self.store.disabled_destinations()
            for name in self.destinations:
                metrics.set_disabled(name, name in disabled)
            seen = Observation(sample.at_us, sample, self.destinations, disabled)
            for notice in evaluate(self.conditions, seen):
                if self.alerts is not None and self.client is not None:
                    await send_alert(self.client, self.alerts, notice)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=self.interval)
