"""The battery's I/O: send the planned requests, read the side-effect counter, collect a report.

Requests go through an ``httpx.AsyncClient``: to a real URL, or to an ASGI app
in-process through ``httpx.ASGITransport`` (with the app's lifespan run around the
checks, as a server would).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from hookyard import __version__
from hookyard.exceptions import UsageError
from hookyard.signatures.base import Scheme
from hookyard.testing.conformance.checks import CHECK_NAMES, CHECKS, aggregate, signed
from hookyard.testing.conformance.fixtures import Fixture, load_fixtures
from hookyard.testing.conformance.model import (
    DEFAULT_MAX_BODY_BYTES,
    SYNTHETIC,
    Answer,
    ASGIApp,
    CaseResult,
    Check,
    CheckResult,
    IdSource,
    Material,
    NotApplicable,
    Observation,
    Probe,
    Target,
)
from hookyard.testing.conformance.report import Report
from hookyard.testing.signing import WireProfile, resolve, wire_profile, wrong_secret

DEFAULT_TIMEOUT_SECONDS = 10.0
#: How long to wait for a side effect to show in the counter, and for a second one not to.
DEFAULT_SETTLE_SECONDS = 0.25
IN_PROCESS_BASE = "http://testserver"
LIFESPAN_TIMEOUT_SECONDS = 30.0
_USER_AGENT = f"hookyard-conformance/{__version__}"
_EXCERPT = 120


def message_ids(profile: WireProfile, run: str) -> IdSource:
    """Fresh ids of the provider's shape, unique to this run."""
    counter = 0

    def fresh() -> str:
        nonlocal counter
        counter += 1
        seed = f"{run}/{counter}"
        if not profile.id_prefix:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
        return f"{profile.id_prefix}hy{hashlib.sha256(seed.encode()).hexdigest()[:24]}"

    return fresh


class Unreachable(UsageError):
    """The receiver could not be reached at all: a usage problem, not a failed check."""


class _Runner:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        side_effect_url: str | None,
        settle_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.http = http
        self.side_effect_url = side_effect_url
        self.settle_seconds = settle_seconds
        self.clock = clock
        self.reached = False

    async def send(self, probe: Probe) -> Answer:
        headers = [
            (n.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
            for n, v in probe.headers
        ]
        try:
            response = await self.http.post(probe.url, content=probe.body, headers=headers)
        except httpx.TimeoutException:
            return Answer(None, "timed out")
        except (httpx.ConnectError, httpx.UnsupportedProtocol) as exc:
            if not self.reached:
                # Nothing answered yet: a wrong URL or a receiver that is not running.
                reason = str(exc) or type(exc).__name__
                raise Unreachable(f"cannot reach {probe.url}: {reason}") from None
            return Answer(None, f"connection failed: {exc or type(exc).__name__}")
        except httpx.HTTPError as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}".rstrip(": "))
        self.reached = True
        return Answer(response.status_code, excerpt=_response_excerpt(response))

    async def count(self) -> int:
        assert self.side_effect_url is not None
        response = await self.http.get(self.side_effect_url)
        if response.status_code != 200:
            raise ValueError(f"GET {self.side_effect_url} answered {response.status_code}")
        return parse_count(response.content)

    async def observe(self, probes: Sequence[Probe], *, count: bool) -> Observation:
        if not count:
            return Observation(tuple([await self.send(p) for p in probes]))
        answers: list[Answer] = []
        counts: list[int] = []
        try:
            counts.append(await self.count())
            for index, probe in enumerate(probes):
                answers.append(await self.send(probe))
                counts.append(await self._count_after(counts[-1], first=index == 0))
        except (httpx.HTTPError, ValueError) as exc:
            answers += [Answer(None, "not sent")] * (len(probes) - len(answers))
            return Observation(tuple(answers), count_error=str(exc) or type(exc).__name__)
        return Observation(tuple(answers), tuple(counts))

    async def _count_after(self, previous: int, *, first: bool) -> int:
        """After the first delivery, wait until the side effect shows (it may be async);
        after a repeat, wait the whole settle time, since nothing should show."""
        deadline = time.monotonic() + self.settle_seconds
        while True:
            current = await self.count()
            if (first and current > previous) or time.monotonic() >= deadline:
                return current
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    async def run_check(
        self, check: Check, target: Target, materials: Sequence[Material], ids: IdSource
    ) -> CheckResult:
        reason = check.applies(target)
        if reason is not None:
            return CheckResult(check.name, check.expected, "—", "n/a", reason, sends=check.summary)
        cases = []
        for material in materials if check.per_body else [SYNTHETIC]:
            try:
                probes = check.plan(target, material, ids, int(self.clock()))
            except NotApplicable as exc:
                cases.append(CaseResult(material.label, "n/a", "—", str(exc)))
                continue
            observation = await self.observe(probes, count=check.counts_side_effects)
            judgement = check.judge(target, observation)
            cases.append(
                CaseResult(material.label, judgement.outcome, judgement.got, judgement.why)
            )
        return aggregate(check, cases)


def parse_count(content: bytes) -> int:
    """A side-effect count: JSON ``{"count": N}`` or a bare integer."""
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    if isinstance(value, dict):
        value = value.get("count")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f'side-effect URL must return {{"count": N}} or an integer, got {content[:60]!r}'
        )
    return value


def _response_excerpt(response: httpx.Response) -> str:
    """The receiver's own reason, short: a JSON error message if it gives one, else text."""
    text = response.content[: _EXCERPT * 4].decode("utf-8", "replace")
    with contextlib.suppress(ValueError):
        parsed = json.loads(response.content) if len(response.content) < 65536 else None
        if isinstance(parsed, dict):
            for key in ("detail", "message", "reason", "error"):
                if isinstance(parsed.get(key), str) and parsed[key]:
                    text = parsed[key]
                    break
    text = " ".join(text.split())
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "")


def _check_url(url: str, what: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{what} must be an http:// or https:// URL, got {url[:80]!r}")


def check_secret(target: Target) -> None:
    """Refuse a key that cannot sign before any request is sent (a public key, say)."""
    if not target.profile.signed:
        return
    probe = signed(target, SYNTHETIC, "probe", int(time.time()))
    names = {n.lower() for n, _ in probe.headers}
    if not names & {h.lower() for h in target.profile.signature_headers}:
        raise UsageError(
            f"{target.profile.scheme} cannot sign with this key: give the secret (or private "
            "key) the sender signs with, not a public key"
        )


@contextlib.asynccontextmanager
async def _lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan around the checks, as a server would.

    Apps that do not speak lifespan raise on the scope or never answer startup; both
    are allowed by the ASGI spec, and then the checks simply run without it.
    """
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: Mapping[str, Any]) -> None:
        await outbox.put(dict(message))

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, receive, send))
    reply: dict[str, Any] | None = None
    try:
        await inbox.put({"type": "lifespan.startup"})
        reply = await _next_message(outbox, task)
        if reply is not None and reply["type"] == "lifespan.startup.failed":
            raise UsageError(f"the app failed to start: {reply.get('message', '')}")
        yield
        if reply is not None:
            await inbox.put({"type": "lifespan.shutdown"})
            await _next_message(outbox, task)
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _next_message(
    outbox: asyncio.Queue[dict[str, Any]], task: asyncio.Future[None]
) -> dict[str, Any] | None:
    """The app's next lifespan message, or None when it ended without one (no lifespan)."""
    getter: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(outbox.get())
    waiting: set[asyncio.Future[Any]] = {getter, task}
    done, _ = await asyncio.wait(
        waiting, timeout=LIFESPAN_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    if getter in done:
        return getter.result()
    getter.cancel()
    if not done:
        raise UsageError(
            f"the app did not answer its lifespan events within {LIFESPAN_TIMEOUT_SECONDS:g}s; "
            "pass lifespan=False to skip them"
        )
    return None


@contextlib.asynccontextmanager
async def _client(
    target: str | ASGIApp,
    client: httpx.AsyncClient | None,
    request_timeout: float,
    lifespan: bool,
) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    headers = {"User-Agent": _USER_AGENT}
    if isinstance(target, str):
        async with httpx.AsyncClient(timeout=request_timeout, headers=headers) as http:
            yield http
        return
    # raise_app_exceptions=False: an app that crashes is a 500 for the report, as a real
    # server would answer, rather than an exception that aborts the whole battery.
    transport = httpx.ASGITransport(app=target, raise_app_exceptions=False)
    async with contextlib.AsyncExitStack() as stack:
        if lifespan:
            await stack.enter_async_context(_lifespan(target))
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=transport,
                base_url=IN_PROCESS_BASE,
                timeout=request_timeout,
                headers=headers,
            )
        )
        yield http


def _select(checks: Collection[str] | None) -> tuple[Check, ...]:
    if checks is None:
        return CHECKS
    unknown = sorted(set(checks) - set(CHECK_NAMES))
    if unknown:
        raise UsageError(f"unknown check {unknown[0]!r}; known: {', '.join(CHECK_NAMES)}")
    return tuple(check for check in CHECKS if check.name in checks)


def _materials(fixtures: str | Path | Sequence[Fixture] | None) -> list[Material]:
    if fixtures is None:
        return [SYNTHETIC]
    loaded = load_fixtures(fixtures) if isinstance(fixtures, str | Path) else list(fixtures)
    if not loaded:
        raise UsageError("no fixtures given")
    return [fixture.material() for fixture in loaded]


def _resolve_url(target: str | ASGIApp, path: str, client: httpx.AsyncClient | None) -> str:
    if not isinstance(target, str):
        return IN_PROCESS_BASE + "/" + path.lstrip("/")
    if client is not None and not urllib.parse.urlsplit(target).scheme:
        return str(client.base_url.join(target))
    return target


async def run_conformance(
    target: str | ASGIApp,
    scheme: str | Scheme,
    secret: str,
    *,
    options: Mapping[str, Any] | None = None,
    path: str = "/",
    client: httpx.AsyncClient | None = None,
    side_effect_url: str | None = None,
    fixtures: str | Path | Sequence[Fixture] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    request_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    checks: Collection[str] | None = None,
    lifespan: bool = True,
    clock: Callable[[], float] = time.time,
) -> Report:
    """Run the battery against a receiver and return the report; never raises on a failed check.

    ``target`` is the receiver's URL, or an ASGI app called in-process (then ``path`` is
    the webhook route, and a relative ``side_effect_url`` is resolved against the app).
    Pass ``client`` to send through a client (and transport) of your own.
    ``side_effect_url`` answers GET with the number of side effects so far, as
    ``{"count": N}`` or a bare integer. Raises ``UsageError``/``SchemeError`` for a bad
    scheme, key, URL or fixtures directory, and when the receiver cannot be reached.
    """
    if client is not None and not isinstance(target, str):
        raise UsageError("give an ASGI app or client=, not both: the client decides the transport")
    resolved = resolve(scheme, options)
    profile = wire_profile(resolved)
    url = _resolve_url(target, path, client)
    if client is None:
        _check_url(url, "the receiver URL")
    if max_body_bytes < 1:
        raise UsageError("max_body_bytes must be at least 1")
    selected = _select(checks)
    materials = _materials(fixtures)
    effects = None
    if side_effect_url is not None:
        effects = urllib.parse.urljoin(url, side_effect_url)
        _check_url(effects, "the side-effect URL")
    base = Target(
        url=url,
        scheme=resolved,
        profile=profile,
        secret=secret,
        wrong_secret=wrong_secret(profile.scheme, secret) if profile.signed else "",
        max_body_bytes=max_body_bytes,
        side_effects=effects is not None,
    )
    check_secret(base)
    ids = message_ids(profile, uuid.uuid4().hex)
    results: list[CheckResult] = []
    async with _client(target, client, request_timeout, lifespan) as http:
        runner = _Runner(http, side_effect_url=effects, settle_seconds=settle_seconds, clock=clock)
        for check in selected:
            results.append(await runner.run_check(check, base, materials, ids))
    return Report(
        target=url,
        scheme=profile.scheme,
        results=tuple(results),
        bodies=tuple(m.label for m in materials),
    )


def run_conformance_sync(
    target: str | ASGIApp, scheme: str | Scheme, secret: str, **kwargs: Any
) -> Report:
    """``run_conformance`` for synchronous code; in async code, await ``run_conformance``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_conformance(target, scheme, secret, **kwargs))
    raise RuntimeError(
        "run_conformance_sync was called inside a running event loop; "
        "await run_conformance(...) instead"
    )
