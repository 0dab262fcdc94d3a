"""``hookyard listen`` (forward a hookyard's events to a local receiver) and ``hookyard
tail`` (print them as they come): the client side of ``GET /api/events/stream``.

Lines of events go to stdout; what ``listen`` says about itself (ready, the generated
secret, reconnecting) goes to stderr. Mistakes in the flags, a refused token or a
``--from`` that cannot be reached at start exit 2 with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import click

from hookyard.cli.filtering import event_filter, filter_options
from hookyard.clock import now_us
from hookyard.delivery.bulk import BulkSender
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.exceptions import UsageError
from hookyard.filtering import FILTER_NAMES
from hookyard.live.client import HEARTBEAT_SECONDS, Remote, Unavailable, follow
from hookyard.live.forward import Forwarder, Reporter
from hookyard.live.lines import forward_json, forward_line, tail_line
from hookyard.live.position import live_start
from hookyard.live.results import name_problem
from hookyard.live.routes import load_routes
from hookyard.live.targets import (
    headers_from_flag,
    local_destinations,
    signing_from_flag,
    timeout_from_flag,
)
from hookyard.models import ReplayResult
from hookyard.replay.plan import describe_url
from hookyard.store.filters import lowest_id_at
from hookyard.timeparse import parse_time_us

#: The receivers are the developer's own (localhost, a container): any address may be used.
LOCAL_POLICY = NetPolicy.allowing("0.0.0.0/0", "::/0")
FINAL_REPORT_SECONDS = 5.0


def _say(text: str) -> None:
    click.echo(f"hookyard: {text}", err=True)


def _filter_params(values: dict[str, str | None]) -> dict[str, str]:
    event_filter(values)  # a bad value is a usage error naming its flag
    return {name: value for name, value in values.items() if name in FILTER_NAMES and value}


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--heartbeat",
        type=click.FloatRange(0.2, 300),
        default=HEARTBEAT_SECONDS,
        hidden=True,
        help="Seconds between the server's heartbeats.",
    )(func)
    func = click.option(
        "--token",
        envvar="HOOKYARD_TOKEN",
        default=None,
        help="The admin API token (default: $HOOKYARD_TOKEN).",
    )(func)
    func = click.option(
        "--from", "from_url", required=True, help="A running hookyard: http://host:port."
    )(func)
    return filter_options(paging=False)(func)


@click.command()
@_common
@click.option("--forward-to", required=True, help="The local receiver's URL.")
@click.option("--map", "map_file", default=None, help="TOML file: event type glob = path or URL.")
@click.option(
    "--sign-with",
    default=None,
    help="SCHEME:SECRET to sign for the receiver, or none (default: a fresh "
    "standard-webhooks secret, printed once).",
)
@click.option("--headers", "header_flags", multiple=True, help="'Name: value' to add; repeatable.")
@click.option("--timeout", default="10s", show_default=True, help="Per request to the receiver.")
@click.option("--name", default=None, help="Listener name for the cursor (default: the URL).")
@click.option("--no-resume", is_flag=True, help="Start live, not after the last forwarded event.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
def listen(
    from_url: str,
    token: str | None,
    heartbeat: float,
    forward_to: str,
    map_file: str | None,
    sign_with: str | None,
    header_flags: tuple[str, ...],
    timeout: str,
    name: str | None,
    no_resume: bool,
    as_json: bool,
    **filters: str | None,
) -> None:
    """Forward a hookyard's events (stored, then live) to a local receiver, re-signed."""
    params = _filter_params(filters)
    routes = load_routes(forward_to, map_file)
    signing = signing_from_flag(sign_with)
    name = name or describe_url(forward_to)
    problem = name_problem(name)
    if problem is not None:
        raise UsageError(f"--name: {problem}")
    destinations = local_destinations(
        f"local:{name}",
        routes.urls,
        signing,
        headers_from_flag(header_flags),
        timeout_from_flag(timeout),
    )
    remote = Remote(from_url, token)

    def show(event: dict[str, Any], url: str, result: ReplayResult) -> None:
        line = forward_json(event, url, result) if as_json else forward_line(event, url, result)
        click.echo(line)
        sys.stdout.flush()

    async def run() -> None:
        session = await _start(remote, name, forward_to, params)
        after = None
        if not params.get("since") and not no_resume:
            after = session["cursor"]
        reporter = Reporter(remote, name, str(session["batch_id"]))
        if after is None:
            # A fresh start is a position too: report it at once, so a listen stopped
            # before its first report resumes from here instead of starting live again.
            reporter.add(start_position(params.get("since")), None)
            with contextlib.suppress(Unavailable):
                await reporter.flush()
        transport = BulkSender(policy=LOCAL_POLICY)
        forwarder = Forwarder(remote, routes, destinations, transport, reporter, show, _say)
        if signing.generated_secret is not None:
            _say(
                f"signing with {signing.table['scheme']!s}; your receiver's secret is "  # type: ignore[index]
                f"{signing.generated_secret} (printed once; --sign-with SCHEME:SECRET to choose)"
            )
        start = (
            f"after {after}"
            if after
            else ("since " + params["since"])
            if params.get("since")
            else "live"
        )
        ready = _once(lambda: _say(f"ready: forwarding to {describe_url(forward_to)} ({start})"))
        try:
            await _until_stopped(
                follow(remote, params, after, forwarder, _say, heartbeat=heartbeat, on_ready=ready),
                reporter.run(),
            )
        finally:
            try:
                async with asyncio.timeout(FINAL_REPORT_SECONDS):
                    await reporter.flush()
                    await remote.call(
                        "POST",
                        f"/api/listeners/{quote(name, safe='')}/finish",
                        {"batch_id": session["batch_id"]},
                    )
            except (Unavailable, TimeoutError, UsageError):
                _say("could not report the last results; they will be forwarded again")
            await transport.aclose()
            await remote.aclose()

    asyncio.run(run())


@click.command()
@_common
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
def tail(
    from_url: str, token: str | None, heartbeat: float, as_json: bool, **filters: str | None
) -> None:
    """Print a hookyard's events as they arrive (stored ones too, with --since)."""
    params = _filter_params(filters)
    remote = Remote(from_url, token)

    async def show(event: dict[str, Any]) -> None:
        click.echo(json.dumps(event) if as_json else tail_line(event))
        sys.stdout.flush()

    async def run() -> None:
        try:
            await remote.call("GET", "/api/events?limit=1")  # reachable, and the token holds
        except Unavailable as exc:
            raise UsageError(
                f"--from {describe_url(remote.base_url)}: cannot reach it: {exc}"
            ) from None
        if not as_json:
            click.echo("  ".join(["time", "source", "type", "id", "verdict", "status"]))
        ready = _once(lambda: _say("ready: showing events as they arrive"))
        try:
            await _until_stopped(
                follow(remote, params, None, show, _say, heartbeat=heartbeat, on_ready=ready)
            )
        finally:
            await remote.aclose()

    asyncio.run(run())


def start_position(since: str | None) -> str:
    """The cursor a run starts at: before the ``--since`` window, or live (now)."""
    if since:
        try:
            return lowest_id_at(parse_time_us(since) // 1000)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
    return live_start(now_us())


async def _start(
    remote: Remote, name: str, forward_to: str, params: dict[str, str]
) -> dict[str, Any]:
    try:
        session: dict[str, Any] = await remote.call(
            "POST",
            f"/api/listeners/{quote(name, safe='')}",
            {"forward_to": forward_to, "filter": params},
        )
    except Unavailable as exc:
        raise UsageError(
            f"--from {describe_url(remote.base_url)}: cannot reach it: {exc}"
        ) from None
    return session


def _once(call: Callable[[], None]) -> Callable[[], None]:
    done = False

    def run() -> None:
        nonlocal done
        if not done:
            done = True
            call()

    return run


async def _until_stopped(*work: Awaitable[None]) -> None:
    """Run ``work`` until Ctrl-C or SIGTERM (a clean exit) or until one of them fails."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.ensure_future(w) for w in work]
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*tasks, stopper):
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    for task in done:
        if task is not stopper and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
