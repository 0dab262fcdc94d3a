"""Delivery workers: claim due dispatches under a lease, deliver, record, decide.

One ``DeliveryService`` runs a claim loop and up to ``concurrency`` deliveries at a
time. The store's lease is what makes this safe with many processes: a dispatch is
only ever held by one worker, and a crashed worker's lease expires and is reclaimed.
Wake-ups come from the store (PostgreSQL LISTEN/NOTIFY; on SQLite the in-process
writer, and for commits by other processes a look at ``PRAGMA data_version`` 40 times
a second); a poll every ``poll_interval`` picks up retries that have come due.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import httpx

from hookyard import metrics
from hookyard.clock import now_us
from hookyard.delivery.alerts import AlertConfig, dead_notice, send_alert
from hookyard.delivery.attempt import attempt, attempt_record, not_attempted
from hookyard.delivery.bulk import BulkSender
from hookyard.delivery.destinations import Destination
from hookyard.delivery.exchange import SendResult
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.delivery.ratelimit import TokenBucket
from hookyard.delivery.retry import CircuitBreaker, Decision, decide
from hookyard.delivery.sender import make_client
from hookyard.delivery.transport import Transport
from hookyard.exceptions import StoreError
from hookyard.logs import AccessLog, log_event
from hookyard.models import ClaimedDispatch, DestinationActivity
from hookyard.store.base import DispatchQueue
from hookyard.supervision import Streak, Supervisor

log = logging.getLogger("hookyard.delivery")
STATUS_FOR = {"delivered": "delivered", "retry": "retrying", "dead": "dead", "disable": "disabled"}
SHUTDOWN_GRACE_SECONDS = 10.0
#: How long a claim lasts unless renewed (``[server] lease_seconds``, ``--lease-seconds``).
DEFAULT_LEASE_SECONDS = 10.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"


@dataclass
class _Lane:
    """Per-destination limits: in-flight cap, rate, circuit breaker."""

    destination: Destination
    slots: asyncio.Semaphore
    bucket: TokenBucket | None
    breaker: CircuitBreaker | None

    @classmethod
    def for_destination(cls, destination: Destination) -> _Lane:
        return cls(
            destination=destination,
            slots=asyncio.Semaphore(destination.max_in_flight),
            bucket=TokenBucket(destination.rate_limit) if destination.rate_limit else None,
            breaker=CircuitBreaker(destination.circuit_breaker)
            if destination.circuit_breaker
            else None,
        )


@dataclass
class DeliveryService:
    store: DispatchQueue
    destinations: Mapping[str, Destination]
    alerts: AlertConfig | None = None
    concurrency: int = 64
    lease_seconds: float | None = None
    poll_interval: float = 1.0
    worker_id: str = field(default_factory=new_worker_id)
    client: httpx.AsyncClient | None = None
    #: What sends HTTP attempts; by default a ``BulkSender`` over ``client``, made at start.
    transport: Transport | None = None
    rng: random.Random = field(default_factory=random.Random)
    #: Where the SSRF guard lets deliveries and alerts connect (``[server] allow_networks``).
    policy: NetPolicy = field(default_factory=NetPolicy)
    #: Runs the claim loop and keeps its state for ``/readyz`` (the app's, when in one).
    supervisor: Supervisor = field(default_factory=Supervisor)
    #: How often destination state is read (paused elsewhere, new arrivals to hold) and
    #: what this worker saw is reported to the store.
    state_interval: float = 1.0

    def __post_init__(self) -> None:
        self._lanes = {n: _Lane.for_destination(d) for n, d in self.destinations.items()}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], Awaitable[None]] | None = None
        self._disabled: dict[str, str] = {}
        #: Claims handed back by the last ``stop`` (unsent, due again at once).
        self.released = 0
        self._states_task: asyncio.Task[None] | None = None
        #: What this worker saw of each destination since its last report to the store.
        self._activity: dict[str, DestinationActivity] = {}
        self._own_client = self.client is None
        self._own_transport = self.transport is None
        # One line per attempt: buffered like ingest's access log, not a logging call each.
        self._attempt_log = AccessLog(log, "attempt")
        # Failures in delivery tasks (store calls, mostly): one line an episode, not a task.
        self._recording = Streak("recording attempts", log)
        self._delivering = Streak("delivery tasks", log)
        if self.lease_seconds is None:
            # Renewed every state_interval while the worker lives, so a send of any length
            # keeps it; a stopped worker's claims are due again within this.
            self.lease_seconds = max(DEFAULT_LEASE_SECONDS, 3 * self.state_interval)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if not self.destinations:
            return
        if self.client is None:
            self.client = make_client(policy=self.policy)  # also what alerts are sent with
        if self.transport is None:
            # Plain-http destinations go straight to kept-alive sockets (httpx's pool cost
            # milliseconds of CPU per request here); anything else falls back to the client.
            self.transport = BulkSender(self.client, policy=self.policy)
        self._unlisten = await self.store.listen_for_dispatches(self.wake)
        self._disabled = await self.store.disabled_destinations()
        for name, lane in self._lanes.items():
            metrics.set_disabled(name, name in self._disabled)
            if lane.breaker is not None:
                metrics.set_circuit(name, lane.breaker.state)
        self._loop_task = self.supervisor.start(
            "claim-loop", self._claim_pass, stopping=lambda: self._stopping, logger=log
        )
        self._states_task = self.supervisor.start(
            "destination-states", self._state_pass, stopping=lambda: self._stopping, logger=log
        )

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop claiming, let in-flight sends finish within ``grace``, release the rest."""
        self._stopping = True
        self.wake()
        if self._loop_task is not None:
            await self._loop_task
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._states_task is not None:
            self._states_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._states_task
        with contextlib.suppress(Exception):  # the database may be gone
            await self._report()
        with contextlib.suppress(Exception):  # the database may be gone: leases expire anyway
            released = await self.store.release_leases(self.worker_id, now_us=now_us())
            self.released = released
            if released:
                log_event(
                    log, logging.INFO, "leases released", worker=self.worker_id, count=released
                )
        if self._unlisten is not None:
            await self._unlisten()
        if self._own_transport and self.transport is not None:
            await self.transport.aclose()
        if self._own_client and self.client is not None:
            await self.client.aclose()

    def wake(self) -> None:
        self._wake.set()

    @property
    def in_flight(self) -> int:
        """Deliveries being attempted now (``serve`` logs it when draining)."""
        return len(self._tasks)

    # -- claiming ------------------------------------------------------------------------

    def _claimable(self) -> list[str]:
        now = time.time()
        names = []
        for name, lane in self._lanes.items():
            if name in self._disabled:
                continue
            if lane.breaker is not None and lane.breaker.retry_at(now) > now:
                continue
            names.append(name)
        return names

    async def _claim_pass(self) -> None:
        """One look for due dispatches, then a wait; a store error propagates to the
        supervisor (logged once, backed off), whatever its class."""
        # Cleared before looking, so a wake-up that lands while claiming is not lost.
        self._wake.clear()
        free = self.concurrency - len(self._tasks)
        names = self._claimable()
        claimed: list[ClaimedDispatch] = []
        # Claim in groups: a claim per finished delivery costs a store round trip each.
        # Below a group's worth of free slots, wait, unless few deliveries are left.
        group = max(1, self.concurrency // 8)
        if free > 0 and names and (free >= group or len(self._tasks) < group):
            claimed = await self.store.claim_due(
                self.worker_id,
                now_us=now_us(),
                lease_us=int((self.lease_seconds or DEFAULT_LEASE_SECONDS) * 1_000_000),
                limit=free,
                destinations=names,
            )
        for dispatch in claimed:
            task = asyncio.create_task(self._deliver(dispatch))
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        if not claimed or len(claimed) < free:
            # Nothing more is due, or every slot is busy: sleep until woken or polled.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    # -- destination state shared with other processes -----------------------------------

    async def _state_pass(self) -> None:
        """Every ``state_interval``: learn which destinations are paused or disabled (by
        an operator or another process), hold what ingest queued for them since, renew
        this worker's leases and expire stopped workers', and report this worker's
        successes, errors and circuits. Run by the supervisor: a failure is logged once
        and backed off."""
        await asyncio.sleep(self.state_interval)
        await self._sync_states()
        await self._keep_leases()
        await self._report()

    async def _keep_leases(self) -> None:
        """Renew this worker's leases; make any other's that ran out due again (its
        worker stopped), with the lost attempt recorded."""
        at = now_us()
        if self._tasks:
            lease_us = int((self.lease_seconds or DEFAULT_LEASE_SECONDS) * 1_000_000)
            await self.store.renew_leases(self.worker_id, now_us=at, lease_us=lease_us)
        expired = await self.store.expire_leases(now_us=at)
        if expired:
            log_event(log, logging.WARNING, "leases expired", count=expired)

    async def _sync_states(self) -> None:
        states = await self.store.destination_states()
        held = {n: st for n, st in states.items() if n in self._lanes and st.state != "active"}
        self._disabled = {n: st.reason for n, st in held.items()}
        for name, st in held.items():
            await self.store.hold_dispatches(name, st.state, now_us=now_us())

    async def _report(self) -> None:
        reports, self._activity = list(self._activity.values()), {}
        if reports:
            with contextlib.suppress(StoreError):
                await self.store.note_destination_activity(reports, now_us=now_us())

    def _saw(self, name: str, decision: Decision, describe: str) -> None:
        seen = self._activity.get(name) or DestinationActivity(name)
        at = now_us()
        if decision.kind == "delivered":
            seen = dataclasses.replace(seen, last_success_us=at)
        else:
            seen = dataclasses.replace(seen, last_error_us=at, last_error=describe[:500])
        self._activity[name] = seen

    async def _circuit_moved(self, name: str, before: str, breaker: CircuitBreaker) -> None:
        """One log line when a circuit opens or closes; the store hears of it at once."""
        after = breaker.state
        if after == before:
            return
        until = int(breaker.open_until * 1_000_000) if after == "open" else None
        if after == "open":
            log_event(
                log,
                logging.WARNING,
                "circuit opened",
                destination=name,
                failures=breaker.failures,
                open_seconds=breaker.open_seconds,
            )
        elif after == "closed":
            log_event(log, logging.INFO, "circuit closed", destination=name)
        report = DestinationActivity(name, circuit=after, circuit_until_us=until)
        with contextlib.suppress(StoreError):
            await self.store.note_destination_activity([report], now_us=now_us())

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())
        self.wake()

    # -- delivering ----------------------------------------------------------------------

    async def _deliver(self, dispatch: ClaimedDispatch) -> None:
        try:
            await self._deliver_one(dispatch)
        except Exception as exc:
            # A store call failed mid-delivery (the database went away), or a bug: the
            # lease runs out and the dispatch is claimed again; said once an episode.
            self._delivering.failed(exc)
        else:
            self._delivering.succeeded()

    async def _deliver_one(self, dispatch: ClaimedDispatch) -> None:
        if dispatch.unreadable is not None:
            await self._record_unreadable(dispatch, dispatch.unreadable)
            return
        lane = self._lanes.get(dispatch.destination)
        if lane is None:
            await self._record_unroutable(dispatch)
            return
        breaker = lane.breaker
        before = breaker.state if breaker is not None else "closed"
        allowed = breaker is None or breaker.allow(time.time())
        if breaker is not None:
            metrics.set_circuit(dispatch.destination, breaker.state)  # allow() may half-open it
        if breaker is not None and not allowed:
            retry_at = int(breaker.retry_at(time.time()) * 1_000_000)
            await self.store.postpone(
                self.worker_id, dispatch.dispatch_id, next_attempt_us=retry_at, now_us=now_us()
            )
            return
        if breaker is not None:
            await self._circuit_moved(lane.destination.name, before, breaker)
        async with lane.slots:
            if lane.bucket is not None:
                await lane.bucket.acquire()
            await self._attempt(lane.destination, dispatch)

    async def _attempt(self, destination: Destination, dispatch: ClaimedDispatch) -> None:
        number = dispatch.attempts + 1
        processed_key = None
        if destination.kind == "handler" and not destination.dry_run:
            key = dispatch.event.idempotency_key
            if await self.store.is_processed(destination.name, key):
                await self._record(
                    dispatch, number, not_attempted(), "delivered", "delivered: already processed"
                )
                return
            processed_key = (destination.name, key, dispatch.event_id)
        assert self.transport is not None
        done = await attempt(
            destination, dispatch.event, number, self.transport, replay_of=dispatch.replay_of
        )
        if done.kind == "dry_run":
            await self._record(dispatch, number, done.result, "dry_run", "dry_run: built, not sent")
            return
        decision = decide(destination.retry, number, done.result.outcome, time.time(), self.rng)
        lane = self._lanes[destination.name]
        self._saw(destination.name, decision, decision.reason)
        if lane.breaker is not None:
            before = lane.breaker.state
            lane.breaker.record(decision.destination_ok, time.time())
            metrics.set_circuit(destination.name, lane.breaker.state)
            await self._circuit_moved(destination.name, before, lane.breaker)
        status = STATUS_FOR[decision.kind]
        await self._record(
            dispatch,
            number,
            done.result,
            status,
            f"{decision.kind}: {decision.reason}",
            decision=decision,
            processed_key=processed_key if decision.kind == "delivered" else None,
        )
        await self._after(destination, dispatch, number, decision)

    async def _after(
        self, destination: Destination, dispatch: ClaimedDispatch, number: int, decision: Decision
    ) -> None:
        if decision.kind == "disable":
            self._disabled[destination.name] = decision.reason
            metrics.set_disabled(destination.name, True)
            await self.store.set_destination_disabled(
                destination.name, True, reason=decision.reason, now_us=now_us()
            )
            log_event(
                log,
                logging.ERROR,
                "destination disabled",
                destination=destination.name,
                reason=decision.reason,
                event_id=dispatch.event_id,
            )
        if decision.kind in ("dead", "disable"):
            log_event(
                log,
                logging.ERROR,
                "dispatch dead-lettered" if decision.kind == "dead" else "dispatch held",
                event_id=dispatch.event_id,
                dispatch_id=dispatch.dispatch_id,
                destination=destination.name,
                attempt=number,
                reason=decision.reason,
                event_type=dispatch.event.event_type,
                source=dispatch.event.source,
            )
            each = self.alerts is not None and self.alerts.dead_letters == "each"
            if each and self.alerts is not None and self.client is not None:
                notice = dead_notice(
                    status="dead" if decision.kind == "dead" else "disabled",
                    dispatch_id=dispatch.dispatch_id,
                    event_id=dispatch.event_id,
                    destination=destination.name,
                    attempts=number,
                    reason=decision.reason,
                    at_us=now_us(),
                )
                await send_alert(self.client, self.alerts, notice)

    async def _record(
        self,
        dispatch: ClaimedDispatch,
        number: int,
        result: SendResult,
        status: str,
        decision_text: str,
        *,
        decision: Decision | None = None,
        processed_key: tuple[str, str, str] | None = None,
    ) -> None:
        record = attempt_record(
            dispatch.dispatch_id,
            number,
            result,
            decision_text,
            next_attempt_us=decision.next_attempt_us if decision else None,
        )
        try:
            kept = await self.store.record_attempt(
                self.worker_id, record, status=status, processed_key=processed_key
            )
        except Exception as exc:
            # The lease will expire and the dispatch is tried again.
            self._recording.failed(exc)
            return
        self._recording.succeeded()
        fields = dict(
            event_id=dispatch.event_id,
            dispatch_id=dispatch.dispatch_id,
            destination=dispatch.destination,
            source=dispatch.event.source,
            event_type=dispatch.event.event_type,
            attempt=number,
            status_code=result.status_code,
            latency_ms=record.latency_ms,
            outcome=status,
            replay_of=dispatch.replay_of,
        )
        if kept:
            self._attempt_log.write(**fields)
            metrics.count_attempt(
                dispatch.destination,
                status,
                result.status_code,
                result.error_kind,
                record.latency_ms / 1000,
            )
            if status == "delivered":
                received = dispatch.event.received_us
                metrics.observe_delivered(dispatch.destination, (now_us() - received) / 1e6)
        else:
            log_event(log, logging.WARNING, "attempt not recorded: lease lost", **fields)

    async def _record_unroutable(self, dispatch: ClaimedDispatch) -> None:
        result = not_attempted(
            error_class="UnknownDestination",
            error_message=f"destination {dispatch.destination!r} is no longer configured",
        )
        await self._record(
            dispatch, dispatch.attempts + 1, result, "dead", "dead: destination not configured"
        )

    async def _record_unreadable(self, dispatch: ClaimedDispatch, why: str) -> None:
        """Its stored bytes do not decrypt: sending anything else would break "bytes are
        sacred", so it goes to the DLQ, saying why (``dlq retry`` once the key is back)."""
        log_event(
            log,
            logging.ERROR,
            "payload cannot be decrypted",
            event_id=dispatch.event_id,
            dispatch_id=dispatch.dispatch_id,
            destination=dispatch.destination,
            reason=why,
        )
        result = not_attempted(error_class="UnreadablePayload", error_message=why)
        await self._record(
            dispatch, dispatch.attempts + 1, result, "dead", "dead: payload cannot be decrypted"
        )
