"""``hookyard replay``: send stored events again, byte-identical, as one recorded batch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hookyard.cli.common import config_option, db_option, load, store_session
from hookyard.cli.filtering import filter_options
from hookyard.config import Settings
from hookyard.control import audit
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.exceptions import UnknownName, UsageError
from hookyard.filtering import filter_from_params
from hookyard.models import ReplayBatch
from hookyard.replay.batches import batch_json, preview_json
from hookyard.replay.plan import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    ReplayPlan,
    check_url_target,
    resolve_target,
)
from hookyard.replay.runner import PREVIEW_COUNT, Replayer, Tally
from hookyard.store.base import AuditedReplayStore
from hookyard.urls import mask_url

FAILURES_SHOWN = 10


@click.command("replay")
@config_option
@db_option
@click.argument("event_ids", nargs=-1)
@filter_options(paging=False)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Filter: at most this many, the newest matching (default: all).",
)
@click.option("--to", "to_name", default=None, help="Replay to this configured destination.")
@click.option("--url", default=None, help="Replay to this URL (e.g. a dev build).")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Events per second at most (default: the destination's rate_limit, else no limit).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, MAX_CONCURRENCY),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Events in flight at once.",
)
@click.option("--dry-run", is_flag=True, help="Show the count and the first events; send nothing.")
@click.option(
    "--force", is_flag=True, help="Run a Python handler again for events it already processed."
)
@click.option("--sign-scheme", default=None, help="Sign with this scheme (fresh timestamp).")
@click.option(
    "--sign-secret", default=None, help="Secret to sign with: a literal, env:NAME or file:PATH."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document for machines.")
def replay_events(
    config_path: str | None,
    database: str | None,
    event_ids: tuple[str, ...],
    source: str | None,
    type: str | None,
    verdict: str | None,
    status: str | None,
    response_status: str | None,
    destination: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    to_name: str | None,
    url: str | None,
    rate: float | None,
    concurrency: int,
    dry_run: bool,
    force: bool,
    sign_scheme: str | None,
    sign_secret: str | None,
    as_json: bool,
) -> None:
    """Replay stored events: EVENT_IDS, or every event matching the filter options.

    Each event is sent once, byte-identical, with its original idempotency key and
    X-Hookyard-Replay-Of, re-signed with a fresh timestamp when the target signs.
    The run is recorded as a batch. Exits 1 when any replayed delivery failed.
    Batches: `hookyard replay list`, `hookyard replay show BATCH_ID`.
    """
    settings = load(config_path, database=database, handlers=True)
    filters: dict[str, object] = {
        "source": source,
        "type": type,
        "verdict": verdict,
        "status": status,
        "since": since,
        "until": until,
        "response_status": response_status,
        "destination": destination,
        "limit": limit,
    }
    given = {key: value for key, value in filters.items() if value is not None}
    if event_ids and given:
        raise UsageError("give event ids or filter options, not both")
    if not event_ids and not given:
        raise UsageError("give event ids, or filter options (--status dead --since 2h, …)")
    target = resolve_target(
        settings.destinations,
        to=to_name,
        url=url,
        sign_scheme=sign_scheme,
        sign_secret=sign_secret,
    )
    common: dict[str, Any] = {
        "target": target,
        "rate": rate,
        "concurrency": concurrency,
        "force": force,
    }
    if event_ids:
        unique = tuple(dict.fromkeys(event_ids))
        plan = ReplayPlan(ids=unique, selection={"ids": list(unique)}, **common)
    else:
        query, max_events = filter_from_params(given)
        plan = ReplayPlan(query=query, max_events=max_events, selection=given, **common)
    try:
        # The CLI acts on the user's own machine: their receivers on localhost are theirs.
        policy = settings.server.net_policy.with_loopback()
        code = asyncio.run(_main(settings, plan, policy, dry_run=dry_run, as_json=as_json))
    except UnknownName as exc:  # as run_with_store says it: where it looked
        raise UnknownName(f"{exc} in {mask_url(settings.server.database)}") from None
    except asyncio.CancelledError:  # SIGTERM: the batch was marked cancelled on the way out
        sys.exit(128 + signal.SIGTERM)
    sys.exit(code)


async def _main(
    settings: Settings, plan: ReplayPlan, policy: NetPolicy, *, dry_run: bool, as_json: bool
) -> int:
    await check_url_target(plan.target, policy, "--url")
    server = settings.server
    async with store_session(server.database, keyring=server.keyring) as store:
        return await _replay(store, plan, policy, dry_run=dry_run, as_json=as_json)


async def _replay(
    store: AuditedReplayStore, plan: ReplayPlan, policy: NetPolicy, *, dry_run: bool, as_json: bool
) -> int:
    replayer = Replayer(store, policy=policy)
    ids = await replayer.select(plan)
    if dry_run:
        _show_preview(plan, len(ids), await replayer.preview(ids, PREVIEW_COUNT), as_json)
        return 0
    batch = await replayer.begin(plan, ids)
    await audit.record(
        store,
        actor=audit.cli_actor(),
        action="replay",
        target=batch.id,
        count=batch.total,
        detail={"to": batch.target, "filter": dict(plan.selection)},
    )
    err = Console(stderr=True)
    if not as_json:
        click.echo(f"replay batch {batch.id}: {batch.total} event(s) to {batch.target}", err=True)
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, main.cancel)
    try:
        with _progress(err, batch.total, enabled=not as_json) as on_progress:
            final = await replayer.run(batch, plan, ids, on_progress=on_progress)
    except asyncio.CancelledError:
        click.echo(
            f"hookyard: replay interrupted; batch {batch.id} is recorded as cancelled", err=True
        )
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
    failures = (
        await store.replay_batch_dispatches(final.id, status="failed", limit=FAILURES_SHOWN)
        if final.failed
        else []
    )
    if as_json:
        click.echo(json.dumps(batch_json(final, failures), indent=2))
    else:
        show_summary(final, failures)
    return 1 if final.failed else 0


@contextlib.contextmanager
def _progress(console: Console, total: int, *, enabled: bool) -> Iterator[Any]:
    """A progress bar on a terminal for bulk runs; otherwise no output while running."""
    if not enabled or total < 2 or not console.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[outcome]}"),
        TimeRemainingColumn(),
        console=console,
    )
    task = bar.add_task("replay", total=total, outcome="")

    def update(tally: Tally) -> None:
        outcome = f"{tally.delivered} ok, {tally.failed} failed, {tally.skipped} skipped"
        bar.update(task, completed=tally.done, outcome=outcome)

    with bar:
        yield update


def _show_preview(plan: ReplayPlan, total: int, preview: list[Any], as_json: bool) -> None:
    rows = [preview_json(p) for p in preview]
    if as_json:
        document = {
            "dry_run": True,
            "total": total,
            "target": plan.target.label,
            "filter": dict(plan.selection),
            "preview": rows,
        }
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"dry run: {total} event(s) would be replayed to {plan.target.label}; nothing sent")
    if not rows:
        return
    table = Table(title=f"first {len(rows)}" if total > len(rows) else None)
    table.add_column("id", no_wrap=True, min_width=26)  # ids are copied from here: never cut
    for column in ("source", "type", "received", "bytes"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["id"],
            row["source"],
            row["event_type"] or "",
            row["received_at"] or "",
            str(row["body_size"]),
        )
    Console().print(table)


def show_summary(batch: ReplayBatch, failures: list[Any]) -> None:
    data = batch_json(batch, failures)
    speed = f", {data['events_per_second']:.0f}/s" if data["events_per_second"] else ""
    click.echo(
        f"batch {batch.id} {batch.status}: {batch.done} of {batch.total} replayed to "
        f"{batch.target} in {data['seconds']:.2f} s{speed}: {batch.delivered} delivered, "
        f"{batch.failed} failed, {batch.skipped} skipped"
    )
    if failures:
        click.echo(f"failed (first {len(failures)}):")
        for failure in data["failures"]:
            reason = (
                f"HTTP {failure['status_code']}"
                if failure["status_code"] is not None
                else failure["error"] or failure["decision"]
            )
            click.echo(f"  {failure['event_id']}  {reason}")
