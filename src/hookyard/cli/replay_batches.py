"""``hookyard replay list|show``: the recorded replay batches, beside ``hookyard replay``.

``replay`` stays the command that replays (``hookyard replay ID…`` or filters); the
words ``list`` and ``show`` first pick these instead (an event id is never either).
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from hookyard.cli.common import config_option, db_option, load, run_with_store
from hookyard.cli.render import print_table
from hookyard.cli.replay import FAILURES_SHOWN, replay_events, show_summary
from hookyard.clock import now_us
from hookyard.exceptions import UnknownName
from hookyard.models import DispatchRecord, ReplayBatch
from hookyard.replay.batches import batch_json, shown_status
from hookyard.store import Store
from hookyard.timeparse import iso_from_us
from hookyard.urls import mask_url

SUBCOMMANDS = ("list", "show")


class _ReplayGroup(click.Group):
    """A group whose default is the ``replay`` command itself."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in SUBCOMMANDS:
            args = [replay_events.name or "replay", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        replay_events.format_help(ctx, formatter)


replay = _ReplayGroup(name="replay", help=replay_events.help)
replay.add_command(replay_events)


@replay.command("list")
@config_option
@db_option
@click.option("--cursor", default=None, help="Batches older than this batch id.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document for machines.")
def list_batches(
    config_path: str | None, database: str | None, cursor: str | None, limit: int, as_json: bool
) -> None:
    """Replay batches, newest first."""
    settings = load(config_path, database=database)
    batches = run_with_store(
        settings.server.database,
        lambda store: store.list_replay_batches(cursor=cursor, limit=limit),
        keyring=settings.server.keyring,
    )
    if as_json:
        shown = [batch_json(b) for b in batches]
        next_cursor = batches[-1].id if len(batches) == limit else None
        click.echo(json.dumps({"batches": shown, "next_cursor": next_cursor}, indent=2))
        return
    if not batches:
        click.echo(f"no replay batches in {settings.server.database}")
        return
    table = Table(title=f"replay batches ({len(batches)})")
    table.add_column("batch", no_wrap=True, min_width=26)  # copied from here: never cut
    table.add_column("created", no_wrap=True)
    table.add_column("status")
    table.add_column("target", overflow="fold")
    for column in ("total", "delivered", "failed", "skipped"):
        table.add_column(column, justify="right")
    at = now_us()
    for b in batches:
        table.add_row(
            b.id,
            iso_from_us(b.created_us) or "",
            shown_status(b, at),
            b.target,
            str(b.total),
            str(b.delivered),
            str(b.failed),
            str(b.skipped),
        )
    print_table(table)


@replay.command("show")
@config_option
@db_option
@click.argument("batch_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON document for machines.")
def show_batch(config_path: str | None, database: str | None, batch_id: str, as_json: bool) -> None:
    """One replay batch: progress, counts, and its first failures."""
    settings = load(config_path, database=database)
    where = settings.server.database

    async def work(store: Store) -> tuple[ReplayBatch | None, list[DispatchRecord]]:
        batch = await store.get_replay_batch(batch_id)
        if batch is None or not batch.failed:
            return batch, []
        return batch, await store.replay_batch_dispatches(
            batch.id, status="failed", limit=FAILURES_SHOWN
        )

    batch, failures = run_with_store(where, work, keyring=settings.server.keyring)
    if batch is None:
        raise UnknownName(f"no replay batch {batch_id!r} in {mask_url(where)}")
    if as_json:
        data: dict[str, Any] = batch_json(batch, failures)
        click.echo(json.dumps(data, indent=2))
        return
    show_summary(batch, failures)
