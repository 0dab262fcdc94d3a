"""``hookyard mirror``: run the mirror lanes, report, gate and backfill."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import uvloop
from rich.console import Console
from rich.table import Table

from hookyard.cli.common import check_outbound, config_option, db_option, load, run_with_store
from hookyard.clock import now_us
from hookyard.config import Settings, literal_secret_warning
from hookyard.delivery.bulk import BulkSender
from hookyard.exceptions import UsageError
from hookyard.logs import configure_logging
from hookyard.mirror.copy import CopyMaker
from hookyard.mirror.lane import BackfillTally, Lane, backfill
from hookyard.mirror.report import Report
from hookyard.mirror.reporting import make_report
from hookyard.mirror.settings import Mirror
from hookyard.store import Store
from hookyard.timeparse import iso_from_us, parse_time_us
from hookyard.urls import mask_url

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_REPORT_SINCE = "7d"


def copy_maker(settings: Settings, mirror: Mirror) -> CopyMaker:
    schemes = {name: source.scheme for name, source in settings.sources.items()}
    # Redacted headers are stored as a marker: a copy drops them like any credential.
    redacted = {
        name: [header.decode("latin-1") for header in source.redact_headers]
        for name, source in settings.sources.items()
    }
    return CopyMaker(mirror, schemes, redacted_headers=redacted)


def chosen(settings: Settings, name: str | None) -> list[Mirror]:
    if not settings.mirrors:
        raise UsageError("no [mirrors] configured in this config file")
    if name is None:
        return list(settings.mirrors.values())
    mirror = settings.mirrors.get(name)
    if mirror is None:
        known = ", ".join(settings.mirrors)
        raise UsageError(f"no mirror {name!r} (mirrors: {known})")
    return [mirror]


def since_option(default: str | None) -> Callable[[F], F]:
    return click.option(
        "--since",
        default=default,
        show_default=default is not None,
        help="Events received since: an age (24h, 7d) or a time (ISO 8601, Unix seconds).",
    )


def _since_us(value: str, flag: str = "--since") -> int:
    try:
        return parse_time_us(value)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


# -- the lanes -------------------------------------------------------------------------------


async def run_lanes(settings: Settings, mirrors: list[Mirror]) -> None:
    from hookyard.cli.common import store_session

    server = settings.server
    # The lanes write only their own log and cursor: those commits need not wait for the
    # disk (a copy whose row an OS crash undid is sent again), and an fsync of theirs
    # would hold the write lock that ingest waits on (SQLite).
    async with store_session(server.database, keyring=server.keyring, durable=False) as store:
        transport = BulkSender(policy=settings.server.net_policy)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        lanes = [Lane(m, store, copy_maker(settings, m), transport) for m in mirrors]
        names = ", ".join(f"{m.name} -> {mask_url(m.url)}" for m in mirrors)
        database = mask_url(settings.server.database)
        print(f"hookyard mirror: {names} (database {database})", flush=True)
        try:
            await asyncio.gather(*(lane.run(stop) for lane in lanes))
        finally:
            await transport.aclose()


@click.group(invoke_without_command=True)
@config_option
@db_option
@click.option("--only", "only", default=None, help="Run this mirror's lane only.")
@click.option(
    "--nice",
    "niceness",
    type=click.IntRange(0, 19),
    default=0,
    help="Lower this process's CPU priority by N (serve's lane child uses 10).",
)
@click.pass_context
def mirror(
    ctx: click.Context,
    config_path: str | None,
    database: str | None,
    only: str | None,
    niceness: int,
) -> None:
    """Mirror production traffic to staging (runs the lanes when no command is given)."""
    if ctx.invoked_subcommand is not None:
        if config_path or database or only:
            raise UsageError(
                "give --config and --db after the subcommand: mirror report --config F"
            )
        return
    if config_path is None:
        raise UsageError("--config is required: mirrors are configured in [mirrors.NAME]")
    settings = load(config_path, database=database)
    mirrors = chosen(settings, only)
    if warning := literal_secret_warning(settings):
        click.echo(warning, err=True)
    configure_logging()
    check_outbound(settings)
    if niceness:
        os.nice(niceness)
    uvloop.run(run_lanes(settings, mirrors))


# -- report and gate -------------------------------------------------------------------------


def _reports(
    settings: Settings, mirrors: list[Mirror], since_us: int, source: str | None, diff: bool
) -> list[Report]:
    async def work(store: Store) -> list[Report]:
        return [await make_report(store, m, since_us, source=source, diff=diff) for m in mirrors]

    return run_with_store(settings.server.database, work, keyring=settings.server.keyring)


@mirror.command("report")
@click.argument("name", required=False)
@since_option(DEFAULT_REPORT_SINCE)
@click.option("--source", default=None, help="Only events of this source.")
@click.option("--diff", is_flag=True, help="Also compare the response bodies of answered pairs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
@db_option
def report(
    name: str | None,
    since: str,
    source: str | None,
    diff: bool,
    as_json: bool,
    config_path: str | None,
    database: str | None,
) -> None:
    """Where staging answered differently from production."""
    settings = load(config_path, database=database)
    mirrors = chosen(settings, name)
    reports = _reports(settings, mirrors, _since_us(since), source, diff)
    if as_json:
        document = [r.as_dict() for r in reports]
        click.echo(json.dumps(document[0] if name else document, indent=2))
        return
    console = Console(highlight=False)
    if not console.is_terminal:  # piped: whole ids, not a table squeezed to 80 columns
        console = Console(highlight=False, width=200)
    for r in reports:
        show_report(console, r)


def show_report(console: Console, report: Report) -> None:
    versus = f"production ({report.compare_with})" if report.compare_with else "success"
    console.print(
        f"[bold]mirror {report.mirror}[/] since {iso_from_us(report.since_us)}: "
        f"{report.sent} sent, {report.compared} compared with {versus}, "
        f"{report.discrepancies} discrepant ({report.rate:.2%})"
    )
    if report.not_sent:
        dropped = ", ".join(f"{n} {reason}" for reason, n in sorted(report.not_sent.items()))
        console.print(f"not sent: {dropped}")
    if report.awaiting_production:
        console.print(f"awaiting production's answer: {report.awaiting_production}")
    if report.groups:
        table = Table()
        for column in ("source", "type", "production", "staging", "count", ""):
            table.add_column(column)
        table.add_column("examples", no_wrap=True)
        for g in report.groups:
            mark = "REGRESSION" if g.regression else ("differs" if g.discrepant else "")
            table.add_row(
                g.source,
                g.event_type or "-",
                g.production,
                g.staging,
                str(g.count),
                mark,
                " ".join(g.examples),
            )
        console.print(table)
    for difference in report.body_differences[:20]:
        changes = difference.diff.body.changes
        paths = ", ".join(c.path or "(root)" for c in changes[:5]) or "headers"
        console.print(f"body differs: {difference.event_id}: {paths}")
    if report.groups and any(g.discrepant for g in report.groups):
        console.print("open one with: hookyard events show ID")


@mirror.command("gate")
@click.argument("name")
@since_option("24h")
@click.option(
    "--max-rate",
    type=click.FloatRange(0, 1),
    required=True,
    help="Highest discrepancy rate that passes.",
)
@click.option(
    "--min-events",
    type=click.IntRange(0),
    default=100,
    show_default=True,
    help="Fewest compared events for a verdict.",
)
@click.option("--source", default=None, help="Only events of this source.")
@click.option("--diff", is_flag=True, help="Count differing response bodies as discrepancies.")
@config_option
@db_option
def gate(
    name: str,
    since: str,
    max_rate: float,
    min_events: int,
    source: str | None,
    diff: bool,
    config_path: str | None,
    database: str | None,
) -> None:
    """Exit 1 when staging disagrees too often, or saw too few events: a deploy gate."""
    settings = load(config_path, database=database)
    (mirror_,) = chosen(settings, name)
    (result,) = _reports(settings, [mirror_], _since_us(since), source, diff)
    if result.compared < min_events:
        click.echo(
            f"gate {name}: FAIL: {result.compared} compared event(s), fewer than "
            f"--min-events {min_events}"
        )
        sys.exit(1)
    verdict = "PASS" if result.rate <= max_rate else "FAIL"
    click.echo(
        f"gate {name}: {verdict}: {result.discrepancies} of {result.compared} discrepant "
        f"({result.rate:.4%}; --max-rate {max_rate:.4%})"
    )
    if verdict == "FAIL":
        sys.exit(1)


# -- backfill --------------------------------------------------------------------------------


@mirror.command("backfill")
@click.argument("name")
@since_option(None)
@click.option("--until", default=None, help="Events received until (default now).")
@click.option("--source", "sources", multiple=True, help="Only these mirrored sources.")
@config_option
@db_option
def backfill_command(
    name: str,
    since: str | None,
    until: str | None,
    sources: tuple[str, ...],
    config_path: str | None,
    database: str | None,
) -> None:
    """Send stored traffic of a past window through the mirror (same sampling, masking,
    signing, log), paced by its rate."""
    if since is None:
        raise UsageError("--since is required (e.g. --since 24h)")
    settings = load(config_path, database=database)
    (mirror_,) = chosen(settings, name)
    for source in sources:
        if source not in mirror_.sources:
            raise UsageError(f"--source {source!r} is not mirrored by {name!r}")
    since_us = _since_us(since)
    until_us = now_us() if until is None else _since_us(until, "--until")
    check_outbound(settings)
    console = Console(stderr=True)
    tally = asyncio.run(_backfill(settings, mirror_, since_us, until_us, list(sources), console))
    outcomes = ", ".join(f"{n} {o}" for o, n in sorted(tally.outcomes.items())) or "nothing"
    click.echo(f"backfilled {tally.read} event(s) through mirror {name}: {outcomes}")


async def _backfill(
    settings: Settings,
    mirror_: Mirror,
    since_us: int,
    until_us: int,
    sources: list[str],
    console: Console,
) -> BackfillTally:
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from hookyard.cli.common import store_session

    server = settings.server
    async with store_session(server.database, keyring=server.keyring) as store:
        transport = BulkSender(policy=settings.server.net_policy)
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            console=console,
            disable=not console.is_terminal,
        )
        task = progress.add_task("backfilling", total=None)

        def update(tally: BackfillTally) -> None:
            progress.update(task, description=f"backfilling: {tally.read} read, {tally.sent} sent")

        try:
            with progress:
                return await backfill(
                    mirror_,
                    store,
                    copy_maker(settings, mirror_),
                    transport,
                    since_us=since_us,
                    until_us=until_us,
                    sources=sources or None,
                    on_batch=update,
                )
        finally:
            await transport.aclose()
