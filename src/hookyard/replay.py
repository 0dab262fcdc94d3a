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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from hookyard.clock import now_us
from hookyard.delivery.attempt import Attempted, attempt, attempt_record, not_attempted
from hookyard.delivery.bulk import BulkSender
from hookyard.delivery.destinations import Destination, parse_destination
from hookyard.delivery.exchange import SendResult
from hookyard.delivery.ratelimit import TokenBucket
from hookyard.delivery.transport import Transport
from hookyard.exceptions import ConfigError, StoreSaturated, UsageError
from hookyard.filtering import cli_flag, filter_from_params
from hookyard.ids import new_id
from hookyard.logs import log_event
from hookyard.models import (
    DispatchRecord,
    EventFilter,
    ReplayBatch,
    ReplayDispatchStatus,
    ReplayPayload,
    ReplayResult,
)
from hookyard.store.base import Store
from hookyard.timeparse import iso_from_us

log = logging.getLogger("hookyard.replay")

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 512
#: Events read from the store at a time.
LOAD_CHUNK = 256
#: Ids listed per query when a filter selects the events.
SELECT_PAGE = 1000
#: Results written per transaction, and the longest a result waits to be written.
FLUSH_ROWS = 256
FLUSH_SECONDS = 0.2
#: A running batch writes at least this often, results or not, so that readers can tell
#: one whose process is gone (killed, crashed) from one that is only slow or paced.
HEARTBEAT_SECONDS = 5.0
#: Not heard from for this long, a running batch is shown as ``interrupted``.
STALE_AFTER_SECONDS = 6 * HEARTBEAT_SECONDS
MAX_IDS = 100_000
PREVIEW_COUNT = 5
_SIGNING_PROBE_URL = "https://signing.invalid/"


def _plain(key: str) -> str:
    return key


# -- target ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayTarget:
    """Where a replay goes. ``label`` is stored as the batch's target and as each
    replayed dispatch's destination: the destination's name, or ``url:`` and the URL
    with any credentials (user info, query values) masked."""

    destination: Destination
    label: str

    @property
    def signing(self) -> str:
        signing = self.destination.signing
        return (
            signing.scheme_name
            if signing.mode == "scheme" and signing.scheme_name
            else signing.mode
        )


def describe_url(url: str) -> str:
    """``url`` without credentials: user info dropped, query values masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    query = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def resolve_target(
    destinations: Mapping[str, Destination],
    *,
    to: str | None = None,
    url: str | None = None,
    sign_scheme: str | None = None,
    sign_secret: str | None = None,
    flag: Callable[[str], str] = cli_flag,
) -> ReplayTarget:
    """A configured destination (``to``) or an ad-hoc URL, optionally (re-)signed.

    ``sign_scheme`` / ``sign_secret`` override the destination's own signing; the
    secret may be a literal, ``env:NAME`` or ``file:PATH``. Raises ``UsageError``.
    """
    if (to is None) == (url is None):
        raise UsageError(f"give exactly one of {flag('to')} NAME or {flag('url')} URL")
    signing: dict[str, str] | None = None
    if sign_secret is not None and sign_scheme is None:
        raise UsageError(f"{flag('sign_secret')} needs {flag('sign_scheme')}")
    if sign_scheme is not None:
        signing = {"scheme": sign_scheme}
        if sign_secret is not None:
            signing["secret"] = sign_secret
    if to is not None:
        destination = destinations.get(to)
        if destination is None:
            known = ", ".join(destinations) or "none configured"
            raise UsageError(f"{flag('to')}: unknown destination {to!r} (destinations: {known})")
        if signing is not None:
            if destination.kind == "handler":
                raise UsageError(
                    f"{flag('sign_scheme')}: {to!r} is a Python handler; only HTTP is signed"
                )
            probe = _parse_url_destination(_SIGNING_PROBE_URL, signing, flag)
            destination = dataclasses.replace(destination, signing=probe.signing)
        return ReplayTarget(destination, label=to)
    assert url is not None
    destination = _parse_url_destination(url, signing, flag)
    return ReplayTarget(destination, label=f"url:{describe_url(url)}")


def _parse_url_destination(
    url: str, signing: dict[str, str] | None, flag: Callable[[str], str]
) -> Destination:
    name = "replay"
    table: dict[str, object] = {"url": url}
    if signing is not None:
        table["signing"] = signing
    try:
        return parse_destination(name, table)
    except ConfigError as exc:
        message = str(exc)
        for key, option in (
            (f"destinations.{name}.signing.secret", flag("sign_secret")),
            (f"destinations.{name}.signing.scheme", flag("sign_scheme")),
            (f"destinations.{name}.signing", flag("sign_scheme")),
            (f"destinations.{name}.url", flag("url")),
        ):
            message = message.replace(key, option)
        raise UsageError(message) from None


# -- selection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayPlan:
    """What to replay (``ids``, or ``query`` up to ``max_events``), where, and how fast."""

    target: ReplayTarget
    ids: tuple[str, ...] = ()
    query: EventFilter | None = None
    max_events: int | None = None
    #: The selection as given, recorded with the batch: ``{"ids": [...]}`` or the filter.
    selection: Mapping[str, Any] = field(default_factory=dict)
    rate: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    force: bool = False

    def __post_init__(self) -> None:
        if not self.ids and self.query is None:
            raise UsageError("give event ids or a filter to choose what to replay")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise UsageError(f"concurrency must be from 1 to {MAX_CONCURRENCY}")
        if self.rate is not None and self.rate <= 0:
            raise UsageError("rate must be more than 0 events per second")

    @property
    def effective_rate(self) -> float | None:
        """The given rate, else the destination's own ``rate_limit``."""
        return self.rate if self.rate is not None else self.target.destination.rate_limit

    def options(self) -> dict[str, Any]:
        return {
            "rate": self.effective_rate,
            "concurrency": self.concurrency,
            "force": self.force,
            "signing": self.target.signing,
        }


def plan_from_json(
    payload: object, destinations: Mapping[str, Destination]
) -> tuple[ReplayPlan, bool]:
    """``POST /api/replays`` body to a plan and the dry-run flag; raises ``UsageError``.

    ``{"ids": [...]} or {"filter": {...}}``, ``"to": NAME`` or ``"url": URL``, and
    optionally ``"rate"``, ``"concurrency"``, ``"force"``, ``"dry_run"``.
    """
    if not isinstance(payload, dict):
        raise UsageError("expected a JSON object")
    allowed = {"ids", "filter", "to", "url", "rate", "concurrency", "force", "dry_run"}
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise UsageError(f"unknown field {unknown[0]!r} (fields: {', '.join(sorted(allowed))})")
    ids, selector = payload.get("ids"), payload.get("filter")
    if (ids is None) == (selector is None):
        raise UsageError('give exactly one of "ids" (a list of event ids) or "filter" (an object)')
    for key in ("to", "url"):
        if payload.get(key) is not None and not isinstance(payload[key], str):
            raise UsageError(f"{key}: expected a string")
    target = resolve_target(destinations, to=payload.get("to"), url=payload.get("url"), flag=_plain)
    rate = payload.get("rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)):
        raise UsageError("rate: expected a number of events per second")
    concurrency = payload.get("concurrency", DEFAULT_CONCURRENCY)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise UsageError("concurrency: expected an integer")
    flags = {}
    for key in ("force", "dry_run"):
        value = payload.get(key, False)
        if not isinstance(value, bool):
            raise UsageError(f"{key}: expected true or false")
        flags[key] = value
    common: dict[str, Any] = {
        "target": target,
        "rate": None if rate is None else float(rate),
        "concurrency": concurrency,
        "force": flags["force"],
    }
    if ids is not None:
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise UsageError("ids: expected a non-empty list of event ids")
        if len(ids) > MAX_IDS:
            raise UsageError(f"ids: at most {MAX_IDS} at a time; use a filter for more")
        unique = tuple(dict.fromkeys(ids))
        return ReplayPlan(ids=unique, selection={"ids": list(unique)}, **common), flags["dry_run"]
    if not isinstance(selector, dict):
        raise UsageError("filter: expected an object")
    if not any(value is not None for value in selector.values()):
        # Like the CLI: replaying everything takes a deliberate filter (e.g. "since").
        raise UsageError("filter: give at least one filter, such as status or since")
    query, limit = filter_from_params(selector, flag=lambda key: f"filter.{key}")
    plan = ReplayPlan(query=query, max_events=limit, selection=dict(selector), **common)
    return plan, flags["dry_run"]


# -- running ---------------------------------------------------------------------------------


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def done(self) -> int:
        return self.delivered + self.failed + self.skipped

    def add(self, status: ReplayDispatchStatus, count: int = 1) -> None:
        if status == "delivered":
            self.delivered += count
        elif status == "failed":
            self.failed += count
        else:
            self.skipped += count


ProgressCallback = Callable[[Tally], None]


class _Recorder:
    """Collects results and writes them in groups, one transaction each, off the send path.

    A write that has started is shielded from cancellation and awaited before the
    last one, so a result is written exactly once even when the run is interrupted.
    """

    def __init__(self, store: Store, batch_id: str, on_progress: ProgressCallback | None) -> None:
        self.store = store
        self.batch_id = batch_id
        self.on_progress = on_progress
        self.tally = Tally()
        self._pending: list[ReplayResult] = []
        self._missing = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._writing: asyncio.Task[None] | None = None
        self._written = time.monotonic()

    def add(self, result: ReplayResult) -> None:
        self._pending.append(result)
        self.tally.add(result.status)
        if len(self._pending) >= FLUSH_ROWS:
            self._wake.set()
        if self.on_progress is not None:
            self.on_progress(self.tally)

    def missing(self, count: int) -> None:
        """Events selected but gone when read: counted as failed, no dispatch to write."""
        if count:
            self._missing += count
            self.tally.add("failed", count)
            if self.on_progress is not None:
                self.on_progress(self.tally)

    async def run(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            self._wake.clear()
            await self.flush(heartbeat=time.monotonic() - self._written >= HEARTBEAT_SECONDS)

    async def flush(self, *, heartbeat: bool = False) -> None:
        """Write what has finished; with ``heartbeat``, write (the time) even if nothing has."""
        if self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)
        if not self._pending and not self._missing and not heartbeat:
            return
        results, self._pending = self._pending, []
        missing, self._missing = self._missing, 0
        self._writing = asyncio.create_task(self._write(results, missing))
        await asyncio.shield(self._writing)

    async def _write(self, results: list[ReplayResult], missing: int) -> None:
        for pause in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, None):
            try:
                await self.store.record_replay_results(
                    self.batch_id, results, missing=missing, now_us=now_us()
                )
                self._written = time.monotonic()
                return
            except StoreSaturated:
                if pause is None:
                    raise
                await asyncio.sleep(pause)  # the writer is busy with ingest: wait a little

    async def close(self) -> None:
        """Write whatever is left (also after a cancellation)."""
        self._closed = True
        self._wake.set()
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing
        await self.flush()


class Replayer:
    """Runs replays against one store. One instance may run one batch at a time."""

    def __init__(
        self,
        store: Store,
        *,
        client: httpx.AsyncClient | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.store = store
        self.client = client
        #: What sends HTTP attempts; by default a ``BulkSender`` over ``client`` per run.
        self.transport = transport
        self._handled: set[str] = set()

    async def select(self, plan: ReplayPlan) -> list[str]:
        """The ids to replay, in the order they will go: as given, or oldest first.

        With a filter and a limit, the newest ``limit`` matching events are chosen.
        Raises ``UsageError`` naming an id that is not stored.
        """
        if plan.query is None:
            ids = list(dict.fromkeys(plan.ids))
            known = await self.store.known_event_ids(ids)
            missing = [event_id for event_id in ids if event_id not in known]
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise UsageError(f"no event with id {missing[0]!r}{more}")
            return ids
        found: list[str] = []
        cursor: str | None = None
        while plan.max_events is None or len(found) < plan.max_events:
            page = SELECT_PAGE
            if plan.max_events is not None:
                page = min(page, plan.max_events - len(found))
            rows = await self.store.list_events(
                dataclasses.replace(plan.query, limit=page, cursor=cursor)
            )
            found.extend(row.id for row in rows)
            if len(rows) < page:
                break
            cursor = rows[-1].id
        found.reverse()
        return found

    async def preview(self, ids: Sequence[str], count: int = PREVIEW_COUNT) -> list[ReplayPayload]:
        """The first ``count`` events a replay of ``ids`` would send."""
        head = list(ids[:count])
        by_id = {p.id: p for p in await self.store.replay_payloads(head)}
        return [by_id[event_id] for event_id in head if event_id in by_id]

    async def begin(self, plan: ReplayPlan, ids: Sequence[str]) -> ReplayBatch:
        """Record a new running batch for ``ids``."""
        created = now_us()
        batch = ReplayBatch(
            id=new_id(),
            created_us=created,
            selection=dict(plan.selection),
            target=plan.target.label,
            total=len(ids),
            status="running",
            updated_us=created,
            options=plan.options(),
        )
        await self.store.create_replay_batch(batch)
        log_event(
            log,
            logging.INFO,
            "replay started",
            batch_id=batch.id,
            destination=batch.target,
            total=batch.total,
        )
        return batch

    async def run(
        self,
        batch: ReplayBatch,
        plan: ReplayPlan,
        ids: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> ReplayBatch:
        """Replay ``ids`` once each; returns the finished batch as stored.

        The batch ends ``done`` (whatever the outcomes), ``cancelled`` when the run is
        cancelled (Ctrl-C, server shutdown), or ``failed`` when the store fails; in
        the last two cases the exception propagates after the batch is marked.
        """
        recorder = _Recorder(self.store, batch.id, on_progress)
        transport = BulkSender(self.client) if self.transport is None else self.transport
        status, error = "done", None
        started = time.perf_counter()
        try:
            queue: asyncio.Queue[ReplayPayload | None] = asyncio.Queue(plan.concurrency * 2)
            async with asyncio.TaskGroup() as group:
                writer = group.create_task(recorder.run())
                feeder = group.create_task(self._feed(plan, ids, queue, recorder))
                workers = [
                    group.create_task(self._work(plan, transport, queue, recorder))
                    for _ in range(plan.concurrency)
                ]
                await feeder
                await asyncio.gather(*workers)
                await recorder.close()
                await writer
        except asyncio.CancelledError:
            status, error = "cancelled", "the run was interrupted"
            raise
        except BaseExceptionGroup as group_error:
            first = group_error.exceptions[0]
            status, error = "failed", f"{type(first).__name__}: {first}"
            raise first from None
        except Exception as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            # Write what was done, then the ending; a store failing here must not hide
            # the error (or cancellation) already on its way out.
            with contextlib.suppress(Exception):
                await recorder.close()
            with contextlib.suppress(Exception):
                await self.store.finish_replay_batch(batch.id, status, now_us=now_us(), error=error)
            if self.transport is None:
                await transport.aclose()
            log_event(
                log,
                logging.INFO,
                "replay finished",
                batch_id=batch.id,
                destination=batch.target,
                outcome=status,
                total=batch.total,
                delivered=recorder.tally.delivered,
                failed=recorder.tally.failed,
                skipped=recorder.tally.skipped,
                seconds=round(time.perf_counter() - started, 3),
            )
        final = await self.store.get_replay_batch(batch.id)
        assert final is not None
        return final

    async def _feed(
        self,
        plan: ReplayPlan,
        ids: Sequence[str],
        queue: asyncio.Queue[ReplayPayload | None],
        recorder: _Recorder,
    ) -> None:
        rate = plan.effective_rate
        bucket = TokenBucket(rate, burst=max(1.0, rate / 10)) if rate else None
        chunks = [ids[start : start + LOAD_CHUNK] for start in range(0, len(ids), LOAD_CHUNK)]
        loading = asyncio.create_task(self.store.replay_payloads(chunks[0])) if chunks else None
        try:
            for index, chunk in enumerate(chunks):
                assert loading is not None
                payloads = await loading
                # Read the next chunk while this one is being sent.
                loading = (
                    asyncio.create_task(self.store.replay_payloads(chunks[index + 1]))
                    if index + 1 < len(chunks)
                    else None
                )
                by_id = {p.id: p for p in payloads}
                recorder.missing(len(chunk) - len(by_id))
                for event_id in chunk:
                    payload = by_id.get(event_id)
                    if payload is None:
                        continue
                    if bucket is not None:
                        await bucket.acquire()
                    await queue.put(payload)
        finally:
            if loading is not None and not loading.done():
                loading.cancel()
        for _ in range(plan.concurrency):
            await queue.put(None)

    async def _work(
        self,
        plan: ReplayPlan,
        transport: Transport,
        queue: asyncio.Queue[ReplayPayload | None],
        recorder: _Recorder,
    ) -> None:
        while (payload := await queue.get()) is not None:
            recorder.add(await self.replay_one(plan, transport, payload))

    async def replay_one(
        self, plan: ReplayPlan, transport: Transport, payload: ReplayPayload
    ) -> ReplayResult:
        """Attempt one event once; never raises for the receiver's or handler's failure."""
        destination = plan.target.destination
        key = payload.idempotency_key
        processed_key = None
        if destination.kind == "handler" and not destination.dry_run:
            if not plan.force and (
                key in self._handled or await self.store.is_processed(destination.name, key)
            ):
                reason = "skipped: already processed by this handler (force runs it again)"
                return self._result(plan, payload.id, "skipped", not_attempted(), reason)
            self._handled.add(key)
            processed_key = (destination.name, key, payload.id)
        done = await attempt(destination, payload, 1, transport, replay_of=payload.id)
        status, reason = _judge(done)
        return self._result(
            plan,
            payload.id,
            status,
            done.result,
            reason,
            processed_key=processed_key if status == "delivered" else None,
        )

    def _result(
        self,
        plan: ReplayPlan,
        event_id: str,
        status: ReplayDispatchStatus,
        sent: SendResult,
        decision: str,
        *,
        processed_key: tuple[str, str, str] | None = None,
    ) -> ReplayResult:
        dispatch_id = new_id()
        record = attempt_record(dispatch_id, 1, sent, decision)
        log_event(
            log,
            logging.INFO,
            "replay attempt",
            event_id=event_id,
            dispatch_id=dispatch_id,
            destination=plan.target.label,
            attempt=1,
            status_code=sent.status_code,
            latency_ms=record.latency_ms,
            outcome=status,
            replay_of=event_id,
        )
        return ReplayResult(
            dispatch_id=dispatch_id,
            event_id=event_id,
            destination=plan.target.label,
            status=status,
            attempt=record,
            processed_key=processed_key,
        )


def _judge(done: Attempted) -> tuple[ReplayDispatchStatus, str]:
    """A replay's rule: one attempt, a success is delivered, anything else failed."""
    sent = done.result
    if done.kind == "dry_run":
        return "dry_run", "dry_run: the destination is in dry-run mode; built, not sent"
    if done.kind == "handled":
        if sent.error_kind is None:
            return "delivered", "delivered: handler returned"
        return "failed", f"failed: {sent.error_class}: {sent.error_message} (not retried)"
    code = sent.status_code
    if code is not None and 200 <= code < 300:
        return "delivered", f"delivered: HTTP {code}"
    reason = f"HTTP {code}" if code is not None else f"{sent.error_class}: {sent.error_message}"
    return "failed", f"failed: {reason} (not retried)"


# -- in the server ---------------------------------------------------------------------------


class ReplayManager:
    """Replays started through the admin API, run as background tasks of the server.

    It is one of the app's services: ``stop`` cancels runs still going, and each
    cancelled batch is recorded as ``cancelled`` before the store closes.
    """

    def __init__(self, store: Store, destinations: Mapping[str, Destination]) -> None:
        self.store = store
        self.destinations = destinations
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

    async def launch(self, plan: ReplayPlan) -> ReplayBatch:
        """Select, record the batch, and start sending in the background."""
        replayer = Replayer(self.store)
        ids = await replayer.select(plan)
        batch = await replayer.begin(plan, ids)
        task = asyncio.create_task(
            replayer.run(batch, plan, ids), name=f"hookyard-replay-{batch.id}"
        )
        self._runs[batch.id] = task
        task.add_done_callback(lambda done: self._finished(batch.id, done))
        return batch

    def _finished(self, batch_id: str, task: asyncio.Task[ReplayBatch]) -> None:
        self._runs.pop(batch_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("replay %s failed", batch_id, exc_info=task.exception())

    @property
    def running(self) -> list[str]:
        return list(self._runs)


# -- JSON ------------------------------------------------------------------------------------


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


def preview_json(payload: ReplayPayload) -> dict[str, Any]:
    return {
        "id": payload.id,
        "source": payload.source,
        "event_type": payload.event_type,
        "received_at": iso_from_us(payload.received_us),
        "body_size": len(payload.body),
        "idempotency_key": payload.idempotency_key,
    }
