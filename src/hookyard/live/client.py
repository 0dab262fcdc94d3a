"""The client side of a remote hookyard for ``listen`` and ``tail``: its admin API over
HTTP (``Remote``) and a stream followed across reconnects (``follow``).

``follow`` hands each event to its caller and moves its position only once the caller
is done with it, and reconnects with ``after=`` that position: an event is never
skipped, whatever drops the connection (the server restarting, a proxy, a laptop
sleeping). A stream silent for three heartbeats counts as dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from hookyard import __version__
from hookyard.exceptions import UsageError
from hookyard.live import sse
from hookyard.live.backoff import Backoff
from hookyard.urls import mask_url

HEARTBEAT_SECONDS = 5.0
REQUEST_TIMEOUT_SECONDS = 15.0


class Unavailable(Exception):
    """The server cannot be used right now (unreachable, restarting, 5xx): try again."""


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--from: must be an http(s) URL of a hookyard server, got {url!r}")
    return url.rstrip("/")


class Remote:
    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = check_base_url(base_url)
        headers = {"user-agent": f"hookyard-listen/{__version__}"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def call(self, method: str, path: str, body: object = None) -> Any:
        """A JSON call; a refusal (4xx) is a ``UsageError``, anything transient ``Unavailable``."""
        try:
            response = await self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise Unavailable(_reason(exc)) from None
        _check(response, self.base_url)
        return response.json()

    async def body(self, event_id: str) -> bytes | None:
        """The stored bytes of an event; None when it is gone (purged)."""
        try:
            response = await self.client.get(f"/api/events/{quote(event_id)}/body")
        except httpx.HTTPError as exc:
            raise Unavailable(_reason(exc)) from None
        if response.status_code == 404:
            return None
        _check(response, self.base_url)
        return response.content

    async def stream(
        self, params: Mapping[str, str], heartbeat: float
    ) -> AsyncIterator[sse.Message]:
        timeout = httpx.Timeout(REQUEST_TIMEOUT_SECONDS, read=heartbeat * 3 + 1)
        try:
            async with self.client.stream(
                "GET", "/api/events/stream", params=dict(params), timeout=timeout
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    _check(response, self.base_url)
                    raise Unavailable(f"HTTP {response.status_code}")
                decoder = sse.Decoder()
                async for chunk in response.aiter_raw():
                    for message in decoder.feed(chunk):
                        yield message
        except httpx.ReadTimeout:
            raise Unavailable(f"no heartbeat for {heartbeat * 3:g}s") from None
        except httpx.HTTPError as exc:
            raise Unavailable(_reason(exc)) from None
        raise Unavailable("the server ended the stream")


def _check(response: httpx.Response, base_url: str) -> None:
    code = response.status_code
    if code < 400:
        return
    where = f"--from {mask_url(base_url)}"
    if code == 401:
        raise UsageError(
            f"{where}: the token was refused (HTTP 401); give --token or HOOKYARD_TOKEN"
        )
    if code >= 500 or code == 429:
        raise Unavailable(f"HTTP {code}")
    detail = ""
    with contextlib.suppress(ValueError, AttributeError):
        detail = str(response.json().get("detail", ""))
    if code == 404 and not detail.startswith("no "):
        raise UsageError(f"{where}: not a hookyard server (HTTP 404 for {response.url.path})")
    raise UsageError(f"{where}: HTTP {code}: {detail or response.reason_phrase}"[:300])


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:200]


async def follow(
    remote: Remote,
    params: Mapping[str, str],
    after: str | None,
    on_event: Callable[[dict[str, Any]], Awaitable[None]],
    say: Callable[[str], None],
    *,
    heartbeat: float = HEARTBEAT_SECONDS,
    backoff: Backoff | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Follow the stream for ever (until cancelled), reconnecting after every loss."""
    backoff = backoff or Backoff()
    position = after
    lost: str | None = None
    while True:
        query = {**params, "heartbeat": f"{heartbeat:g}"}
        if position is not None:
            query["after"] = position
            query.pop("since", None)  # the position says where to go on from
        try:
            async for message in remote.stream(query, heartbeat):
                if message.event == "ready":
                    backoff.reset()
                    if lost is not None:
                        say(f"reconnected; going on after {position or 'the start'}")
                        lost = None
                    if on_ready is not None:
                        on_ready()
                elif message.event == "event":
                    event = json.loads(message.data)
                    await on_event(event)
                    position = str(event["id"])
        except Unavailable as exc:
            lost = str(exc)
            wait = backoff.next()
            say(f"connection lost ({lost}); reconnecting in {wait:.1f}s")
            await asyncio.sleep(wait)
