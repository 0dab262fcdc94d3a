"""``[canary]``: a signed test event through ingest → store → delivery, every ``interval``.

With no provider sending, "nothing arrives" and "nothing can arrive" look the same on
every other metric. The canary tells them apart: each pass posts a signed event to this
process's own ``/in/hookyard-canary`` over HTTP (the route providers use), and watches
the store until the built-in sink (a Python handler destination, ``hookyard-canary``)
has been delivered it, by whichever worker process claimed it. Its freshness is
``time() - hookyard_canary_last_delivered_timestamp_seconds``.

The canary's source and destination are added to the config (``hookyard.config``); user
destinations that take every source do not receive canary events. A canary that is not
delivered is logged once and shows in its metrics; it does not make ``/readyz`` fail,
since the process can still take webhooks.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from hookyard import metrics
from hookyard.delivery.destinations import Destination
from hookyard.delivery.handlers import Event
from hookyard.delivery.retry import RetryPolicy
from hookyard.durations import parse_duration
from hookyard.exceptions import ConfigError
from hookyard.signatures.registry import create_scheme
from hookyard.store.base import EventReader
from hookyard.supervision import Streak, Supervisor

log = logging.getLogger("hookyard.canary")
NAME = "hookyard-canary"
SCHEME = "standard-webhooks"
EVENT_TYPE = "hookyard.canary"
KEYS = frozenset({"interval", "timeout", "url"})


@dataclass(frozen=True, slots=True)
class CanaryConfig:
    interval: float = 60.0
    #: How long a canary may take to be delivered before it counts as lost.
    timeout: float = 30.0
    #: Where this process's ingest listens (default: ``http://HOST:PORT`` of ``[server]``).
    url: str | None = None
    #: Made at start: the canary signs what this process verifies.
    secret: str = field(default_factory=lambda: new_secret(), repr=False)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def parse_canary(raw: Mapping[str, Any] | None) -> CanaryConfig | None:
    if not raw:
        return None
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ConfigError(f"canary.{unknown[0]}: unknown key")
    interval = _seconds(raw.get("interval", 60), "canary.interval", minimum=0.1)
    timeout = _seconds(raw.get("timeout", min(30.0, interval)), "canary.timeout", minimum=0.1)
    url = raw.get("url")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise ConfigError("canary.url: must be an http:// or https:// URL")
    return CanaryConfig(interval=interval, timeout=timeout, url=url and url.rstrip("/"))


def _seconds(value: object, key: str, *, minimum: float) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if seconds < minimum:
        raise ConfigError(f"{key}: must be at least {minimum:g} s")
    return seconds


async def receive(event: Event) -> None:
    """The built-in sink: being called is the delivery; the store records it."""


def canary_destination() -> Destination:
    return Destination(
        name=NAME,
        handler=f"{__name__}:receive",
        handler_func=receive,
        sources=(NAME,),
        # A canary late is a canary lost: a retry would only hide a slow pipeline.
        retry=RetryPolicy(schedule=(), max_attempts=1),
        circuit_breaker=None,
    )


@dataclass
class Canary:
    """The service that sends canaries and watches for their delivery."""

    store: EventReader
    config: CanaryConfig
    base_url: str
    supervisor: Supervisor = field(default_factory=Supervisor)
    client: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        self.scheme = create_scheme(SCHEME)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._own_client = self.client is None
        self._lost = Streak("canary", log)
        self._listening = False
        #: True once the server stops listening: a canary lost then says nothing.
        self.draining: Callable[[], bool] = lambda: False

    async def _wait_listening(self) -> bool:
        assert self.client is not None
        deadline = time.monotonic() + max(self.config.timeout, 5.0)
        while time.monotonic() < deadline and not self._stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                if (await self.client.get(f"{self.base_url}/healthz")).status_code == 200:
                    return True
            await asyncio.sleep(0.05)
        return True  # what fails from here on is the canary's to report

    async def start(self) -> None:
        if self.client is None:
            # Our own ingest, by the address we listen on: not an outbound destination.
            self.client = httpx.AsyncClient(trust_env=False, timeout=self.config.timeout)
        self._stop = asyncio.Event()
        self._task = self.supervisor.start(
            "canary", self.one_pass, stopping=self._stop.is_set, logger=log
        )

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._own_client and self.client is not None:
            await self.client.aclose()

    async def one_pass(self) -> None:
        if not self._listening:
            # Started with the app, before the server listens: the first canary waits.
            self._listening = await self._wait_listening()
        started = time.monotonic()
        try:
            round_trip = await self.send_one()
        except CanaryLost as exc:
            if self.draining() or self._stop.is_set():
                return
            self._lost.failed(exc)
        else:
            self._lost.succeeded()
            metrics.canary_delivered(round_trip)
        left = self.config.interval - (time.monotonic() - started)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, left))

    async def send_one(self) -> float:
        """Post one canary and wait for its delivery; its round trip in seconds."""
        assert self.client is not None
        body = orjson.dumps({"type": EVENT_TYPE, "id": f"canary_{uuid.uuid4().hex}"})
        headers = self.scheme.sign(body, self.config.secret, msg_id=f"msg_{uuid.uuid4().hex}")
        headers.append(("content-type", "application/json"))
        sent = time.monotonic()
        try:
            answer = await self.client.post(
                f"{self.base_url}/in/{NAME}", content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise CanaryLost(f"ingest did not answer: {type(exc).__name__}: {exc}") from None
        metrics.CANARY_SENT.inc()
        if answer.status_code != 202:
            raise CanaryLost(f"ingest answered {answer.status_code}")
        event_id = answer.json()["id"]
        deadline = sent + self.config.timeout
        pause = 0.01
        while time.monotonic() < deadline and not self._stop.is_set():
            record = await self.store.get_event(event_id)
            if record is not None and record.summary.status == "delivered":
                return time.monotonic() - sent
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.25)
        raise CanaryLost(f"not delivered within {self.config.timeout:g} s (event {event_id})")


class CanaryLost(Exception):
    """A canary that did not come back: counted and logged, never raised further."""
