"""``hookyard listen``'s work per event: read its stored bytes, send them to the local
receiver through the delivery code every other delivery uses (``attempt`` over the
worker's ``BulkSender``), and report the attempt so the server records it.

Results are reported in groups (``Reporter``), each with the cursor: the id of the last
event handled. A group that cannot be reported (the server is restarting) is kept and
sent with the next one, so the cursor on the server only ever names an event whose
attempt is recorded; a ``listen`` killed before a group went out forwards those events
again when it restarts (the receiver sees the same idempotency key).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from hookyard.clock import now_us
from hookyard.delivery.attempt import Attempted, attempt, attempt_record
from hookyard.delivery.destinations import Destination
from hookyard.delivery.transport import Transport
from hookyard.ids import new_id
from hookyard.live.client import Remote, Unavailable
from hookyard.live.results import MAX_RESULTS, local_destination, result_json
from hookyard.live.routes import Routes
from hookyard.models import DeliveryEvent, ReplayDispatchStatus, ReplayResult

FLUSH_SECONDS = 0.2


def judge(done: Attempted) -> tuple[ReplayDispatchStatus, str]:
    """One attempt, never retried: a 2xx is delivered, anything else failed."""
    sent = done.result
    code = sent.status_code
    if code is not None and 200 <= code < 300:
        return "delivered", f"delivered: HTTP {code} (local)"
    reason = f"HTTP {code}" if code is not None else f"{sent.error_class}: {sent.error_message}"
    return "failed", f"failed: {reason} (local, not retried)"


class Reporter:
    def __init__(self, remote: Remote, name: str, batch_id: str) -> None:
        self.remote = remote
        self.name = name
        self.batch_id = batch_id
        self._results: list[ReplayResult] = []
        self._cursor: str | None = None
        self._lock = asyncio.Lock()

    def add(self, event_id: str, result: ReplayResult | None) -> None:
        if result is not None:
            self._results.append(result)
        self._cursor = event_id

    async def run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            with contextlib.suppress(Unavailable):
                await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            while self._results or self._cursor is not None:
                group = self._results[:MAX_RESULTS]
                cursor = self._cursor if len(group) == len(self._results) else group[-1].event_id
                await self.remote.call(
                    "POST",
                    f"/api/listeners/{_quote(self.name)}/results",
                    {
                        "batch_id": self.batch_id,
                        "cursor": cursor,
                        "results": [result_json(r) for r in group],
                    },
                )
                del self._results[: len(group)]
                if cursor == self._cursor:
                    self._cursor = None


class Forwarder:
    def __init__(
        self,
        remote: Remote,
        routes: Routes,
        destinations: Mapping[str, Destination],
        transport: Transport,
        reporter: Reporter,
        show: Callable[[dict[str, Any], str, ReplayResult], None],
        say: Callable[[str], None],
    ) -> None:
        self.remote = remote
        self.routes = routes
        self.destinations = destinations
        self.transport = transport
        self.reporter = reporter
        self.show = show
        self.say = say

    async def __call__(self, event: dict[str, Any]) -> None:
        event_id = str(event["id"])
        body = await self.remote.body(event_id)
        if body is None:
            self.say(f"{event_id}: its body is gone from the server (purged); not forwarded")
            self.reporter.add(event_id, None)
            return
        payload = DeliveryEvent(
            id=event_id,
            source=str(event.get("source") or ""),
            received_us=int(event.get("received_us") or now_us()),
            event_type=event.get("event_type"),
            provider_event_id=event.get("provider_event_id"),
            content_type=str(event.get("content_type") or ""),
            headers=(),
            body=body,
        )
        url = self.routes.target(payload.event_type)
        done = await attempt(self.destinations[url], payload, 1, self.transport)
        status, decision = judge(done)
        dispatch_id = new_id()
        result = ReplayResult(
            dispatch_id=dispatch_id,
            event_id=event_id,
            destination=local_destination(self.reporter.name),
            status=status,
            attempt=attempt_record(dispatch_id, 1, done.result, decision),
        )
        self.show(event, url, result)
        self.reporter.add(event_id, result)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
