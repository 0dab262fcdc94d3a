"""Is each mirror lane draining? A pure judgement over its stored state, the Prometheus
figures built from it, and the watch in ``serve`` that alerts when a lane stalls.

The lane runs in another process, so the server does not ask it: it reads what the lane
records with its cursor (heartbeat, lag, counts by outcome) every few seconds. Staging
answering 5xx is the report's business and never alerts; a lane that stopped (no
heartbeat for ``alert_after``) or fell behind (lag over ``alert_after``) does, once, and
says so again when it recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from hookyard.clock import now_us
from hookyard.delivery.alerts import AlertConfig, send_alert
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.delivery.sender import make_client
from hookyard.logs import log_event
from hookyard.metrics import MIRROR_HEALTH as COLLECTOR
from hookyard.mirror.records import LaneHealth, MirrorLaneState
from hookyard.mirror.settings import Mirror
from hookyard.store.base import MirrorLog
from hookyard.supervision import Supervisor
from hookyard.timeparse import iso_from_us

log = logging.getLogger("hookyard.mirror")

WATCH_SECONDS = 5.0
#: A lane records a heartbeat at least this often (``lane.HEARTBEAT_SECONDS`` and a
#: batch's time); older than three of them, it is not running.
UP_WITHIN_SECONDS = 15.0


def judge(
    mirror: Mirror, state: MirrorLaneState | None, *, now_us: int, watching_since_us: int
) -> LaneHealth:
    """The lane's health from its stored state; a lane that never ran is judged from when
    the watch began, so a server that just started gives its child time to come up."""
    beat_us = watching_since_us if state is None else max(state.updated_us, 0)
    silent = (now_us - beat_us) / 1_000_000
    up = state is not None and silent <= UP_WITHIN_SECONDS
    lag = 0.0 if state is None else state.lag_us / 1_000_000
    stalled = None
    if silent > mirror.alert_after_seconds:
        stalled = "not running"
    elif lag > mirror.alert_after_seconds:
        stalled = "lagging"
    counts = {} if state is None else dict(state.counts)
    return LaneHealth(mirror.name, up, lag, counts, stalled)


def stalled_notice(health: LaneHealth, at_us: int) -> dict[str, Any]:
    return {
        "type": "hookyard.mirror.stalled",
        "mirror": health.mirror,
        "reason": health.stalled,
        "lag_seconds": round(health.lag_seconds, 3),
        "at": iso_from_us(at_us),
    }


def recovered_notice(health: LaneHealth, at_us: int) -> dict[str, Any]:
    return {"type": "hookyard.mirror.recovered", "mirror": health.mirror, "at": iso_from_us(at_us)}


class MirrorWatch:
    """A ``serve`` service: reads each lane's state, feeds the metrics, alerts on stalls."""

    def __init__(
        self,
        store: MirrorLog,
        mirrors: Mapping[str, Mirror],
        *,
        alerts: AlertConfig | None,
        policy: NetPolicy,
        interval: float = WATCH_SECONDS,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.store = store
        self.mirrors = mirrors
        self.alerts = alerts
        self.policy = policy
        self.interval = interval
        #: The app's, so ``/readyz`` reports the watch like every other loop.
        self.supervisor = supervisor or Supervisor()
        self.stalled: dict[str, str] = {}
        self._since_us = now_us()
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._since_us = now_us()
        if self.alerts is not None:
            self._client = make_client(policy=self.policy)
        self._task = self.supervisor.start("mirror-watch", self._pass, logger=log)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    async def _pass(self) -> None:
        # Under the supervisor: a store outage is one log line and a backoff, never the end.
        await self.check()
        await asyncio.sleep(self.interval)

    async def check(self) -> None:
        for mirror in self.mirrors.values():
            state = await self.store.mirror_lane(mirror.name)
            at = now_us()
            health = judge(mirror, state, now_us=at, watching_since_us=self._since_us)
            COLLECTOR.health[mirror.name] = health
            await self._transition(health, at)

    async def _transition(self, health: LaneHealth, at_us: int) -> None:
        was = self.stalled.get(health.mirror)
        if health.stalled is not None and was is None:
            self.stalled[health.mirror] = health.stalled
            log_event(
                log,
                logging.ERROR,
                "mirror lane stalled",
                mirror=health.mirror,
                reason=health.stalled,
            )
            await self._alert(stalled_notice(health, at_us))
        elif health.stalled is None and was is not None:
            del self.stalled[health.mirror]
            log_event(log, logging.INFO, "mirror lane recovered", mirror=health.mirror)
            await self._alert(recovered_notice(health, at_us))

    async def _alert(self, notice: dict[str, Any]) -> None:
        if self.alerts is not None and self._client is not None:
            await send_alert(self._client, self.alerts, notice)
