"""``hookyard audit list``: the audit trail of operator actions, newest first."""

from __future__ import annotations

import json

import click
from rich.table import Table

from hookyard.cli.common import config_option, db_option, load, run_with_store
from hookyard.cli.render import print_table
from hookyard.control.audit import entry_json
from hookyard.filtering import BadFilter, cli_flag, parse_page_filter
from hookyard.timeparse import iso_from_us


@click.group()
def audit() -> None:
    """The audit trail: who replayed, retried, paused, resumed or enabled what, and when."""


@audit.command("list")
@config_option
@db_option
@click.option("--action", default=None, help="Only this action, e.g. destination.pause.")
@click.option("--since", default=None, help="At or after: ISO time or an age like 2h.")
@click.option("--cursor", default=None, help="Entries older than this entry id.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document for machines.")
def list_audit(
    config_path: str | None,
    database: str | None,
    action: str | None,
    since: str | None,
    cursor: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List audit entries, newest first."""
    try:
        query = parse_page_filter(
            {"action": action, "since": since, "cursor": cursor}, default_limit=limit
        )
    except BadFilter as exc:
        raise exc.spelt(cli_flag) from None
    settings = load(config_path, database=database)
    entries = run_with_store(
        settings.server.database,
        lambda store: store.list_audit(
            action=query.action, since_us=query.since_us, cursor=query.cursor, limit=limit
        ),
        keyring=settings.server.keyring,
    )
    if as_json:
        click.echo(json.dumps({"entries": [entry_json(e) for e in entries]}, indent=2))
        return
    if not entries:
        click.echo(f"no audit entries in {settings.server.database}")
        return
    table = Table(title=f"audit trail ({len(entries)})")
    table.add_column("at", no_wrap=True)
    table.add_column("actor", no_wrap=True)
    table.add_column("action", no_wrap=True)
    table.add_column("target", overflow="fold")
    table.add_column("count", justify="right")
    table.add_column("detail", overflow="fold")
    for e in entries:
        table.add_row(
            iso_from_us(e.at_us) or "",
            e.actor,
            e.action,
            e.target,
            str(e.count),
            json.dumps(e.detail, sort_keys=True),
        )
    print_table(table)
