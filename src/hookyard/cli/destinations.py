"""``hookyard destinations list|pause|resume|enable``: destination controls.

They act on the store, so they hold for every process using it (``serve``, each
``hookyard worker``), and are recorded in the audit trail as ``cli:USER``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import click
from rich.table import Table

from hookyard.cli.common import config_option, db_option, load, run_with_store
from hookyard.cli.render import print_table
from hookyard.control.audit import cli_actor
from hookyard.control.destinations import (
    Change,
    DestinationView,
    change_destination,
    change_json,
    destination_views,
    view_json,
)
from hookyard.control.policy import Action
from hookyard.store import Store
from hookyard.timeparse import iso_from_us

_STYLES = {"active": "green", "paused": "yellow", "disabled": "magenta"}


@click.group()
def destinations() -> None:
    """Destination state: list, pause, resume, enable (after a 410)."""


@destinations.command("list")
@config_option
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document for machines.")
def list_destinations(config_path: str | None, database: str | None, as_json: bool) -> None:
    """Each destination's state, circuit, attempts in the last hour, backlog, last
    success and last error."""
    settings = load(config_path, database=database)
    names = tuple(settings.destinations)
    views = run_with_store(
        settings.server.database,
        lambda s: destination_views(s, names),
        keyring=settings.server.keyring,
    )
    if as_json:
        click.echo(json.dumps({"destinations": [view_json(v) for v in views]}, indent=2))
        return
    if not views:
        click.echo(f"no destinations configured or known in {settings.server.database}")
        return
    table = Table(title=f"destinations ({len(views)})")
    table.add_column("name", no_wrap=True, overflow="fold")
    for column in ("state", "circuit", "last hour", "backlog", "last success", "last error"):
        table.add_column(column)
    for view in views:
        table.add_row(
            view.name if view.configured else f"{view.name} (not configured)",
            _state(view),
            view.circuit.replace("_", "-"),
            f"{view.delivered_last_hour} ok, {view.failed_last_hour} failed",
            str(view.owed),
            iso_from_us(view.last_success_us) or "-",
            _last_error(view),
        )
    print_table(table)


def _state(view: DestinationView) -> str:
    text = f"[{_STYLES[view.state]}]{view.state}[/]"
    if view.state != "active":
        text += f" since {iso_from_us(view.since_us)}"
        if view.reason:
            text += f": {view.reason}"
    return text


def _last_error(view: DestinationView) -> str:
    if view.last_error_us is None:
        return "-"
    return f"{iso_from_us(view.last_error_us)} {view.last_error or ''}".strip()


def _act(action: Action, verb: str) -> Callable[..., None]:
    @config_option
    @db_option
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help="One JSON document for machines.")
    def command(config_path: str | None, database: str | None, name: str, as_json: bool) -> None:
        settings = load(config_path, database=database)
        known = tuple(settings.destinations)

        async def work(store: Store) -> Change:
            return await change_destination(store, name, action, actor=cli_actor(), known=known)

        change = run_with_store(settings.server.database, work, keyring=settings.server.keyring)
        if as_json:
            click.echo(json.dumps(change_json(change), indent=2))
        elif change.before == change.after:
            click.echo(f"{name}: already {change.after}")
        else:
            click.echo(
                f"{name}: {change.before} -> {change.after}; {change.moved} dispatch(es) {verb}"
            )

    return command


destinations.command("pause", help="Stop delivering to NAME; its dispatches wait, paused.")(
    _act("pause", "held")
)
destinations.command("resume", help="Deliver to a paused NAME again; its held dispatches go out.")(
    _act("resume", "released")
)
destinations.command(
    "enable", help="Re-enable NAME after it answered 410 (or was paused); held dispatches go out."
)(_act("enable", "released"))
