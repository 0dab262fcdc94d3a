"""``hookyard dlq list|retry``: the dead-letter queue."""

from __future__ import annotations

import json
from typing import TypeVar

import click
from rich.table import Table

from hookyard.api.serialize import dispatch_json
from hookyard.cli.common import config_option, db_option, load, run_with_store
from hookyard.cli.events import ID_WIDTH
from hookyard.cli.render import print_table
from hookyard.clock import now_us
from hookyard.control import audit
from hookyard.exceptions import UsageError
from hookyard.filtering import BadFilter, DeadLetterFilter, cli_flag, parse_dead_letter_filter
from hookyard.models import DispatchRecord
from hookyard.store import Store
from hookyard.timeparse import iso_from_us

T = TypeVar("T")
RETRY_ALL_LIMIT = 100_000


def _dead_letters(
    destination: str | None, since: str | None, until: str | None, *, limit: int
) -> DeadLetterFilter:
    """The flags read by the API's parser; a bad value is a BadFilter naming its flag."""
    values = {"destination": destination, "since": since, "until": until}
    try:
        return parse_dead_letter_filter(values, default_limit=limit)
    except BadFilter as exc:
        raise exc.spelt(cli_flag) from None


def last_failure(dispatch: DispatchRecord) -> str:
    if not dispatch.attempt_log:
        return ""
    last = dispatch.attempt_log[-1]
    if last.status_code is not None:
        return f"HTTP {last.status_code}"
    return f"{last.error_class or ''} {last.error_message or ''}".strip()


@click.group()
def dlq() -> None:
    """The dead-letter queue: dispatches that will not be retried on their own."""


@dlq.command("list")
@config_option
@db_option
@click.option("--destination", default=None, help="Only this destination.")
@click.option("--since", default=None, help="Died at or after: ISO time or an age like 2h.")
@click.option("--until", default=None, help="Died before: ISO time or an age.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document for machines.")
def list_dead(
    config_path: str | None,
    database: str | None,
    destination: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List dead dispatches, newest first."""
    chosen = _dead_letters(destination, since, until, limit=limit)
    settings = load(config_path, database=database)
    dead = run_with_store(
        settings.server.database,
        lambda store: store.list_dispatches(
            status="dead",
            destination=chosen.destination,
            since_us=chosen.since_us,
            until_us=chosen.until_us,
            limit=chosen.limit,
        ),
        keyring=settings.server.keyring,
    )
    if as_json:
        click.echo(json.dumps({"dispatches": [dispatch_json(d) for d in dead]}, indent=2))
        return
    table = Table(title=f"dead-letter queue ({len(dead)})")
    # Ids are copied from here: never cut, whatever the width; the other columns give way.
    table.add_column("dispatch", no_wrap=True, min_width=ID_WIDTH)
    table.add_column("event", no_wrap=True, min_width=ID_WIDTH)
    for column in ("destination", "attempts", "last failure", "died at"):
        table.add_column(column, overflow="fold")
    for d in dead:
        table.add_row(
            d.id,
            d.event_id,
            d.destination,
            str(d.attempts),
            last_failure(d),
            iso_from_us(d.updated_us) or "",
        )
    print_table(table)


@dlq.command("retry")
@config_option
@db_option
@click.argument("dispatch_ids", nargs=-1)
@click.option("--destination", default=None, help="Every dead dispatch of this destination.")
@click.option("--since", default=None, help="Died at or after: ISO time or an age like 2h.")
@click.option("--until", default=None, help="Died before: ISO time or an age.")
def retry(
    config_path: str | None,
    database: str | None,
    dispatch_ids: tuple[str, ...],
    destination: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """Put dead dispatches back in line: the given ids, or all matching the filters."""
    if dispatch_ids and (destination or since or until):
        raise UsageError("give either dispatch ids or filters, not both")
    chosen = _dead_letters(destination, since, until, limit=RETRY_ALL_LIMIT)
    # Checked on the parsed filter: an empty --since must not select every dead dispatch.
    if not dispatch_ids and not chosen.chooses:
        raise UsageError("give dispatch ids, or --destination/--since/--until to choose them")
    settings = load(config_path, database=database)

    async def work(store: Store) -> tuple[int, int, str | None]:
        ids = list(dispatch_ids)
        if not ids:
            found = await store.list_dispatches(
                status="dead",
                destination=chosen.destination,
                since_us=chosen.since_us,
                until_us=chosen.until_us,
                limit=chosen.limit,
            )
            ids = [d.id for d in found]
        moved = await store.retry_dead(ids, now_us=now_us()) if ids else 0
        selection = (
            {"ids": len(dispatch_ids)}
            if dispatch_ids
            else {
                k: v
                for k, v in (("destination", destination), ("since", since), ("until", until))
                if v
            }
        )
        await audit.record(
            store,
            actor=audit.cli_actor(),
            action="dlq.retry",
            target=chosen.destination or ("ids" if dispatch_ids else "dead letters"),
            count=moved,
            detail=selection,
        )
        return len(ids), moved, await _held_note(store, chosen.destination)

    asked, moved, note = run_with_store(
        settings.server.database, work, keyring=settings.server.keyring
    )
    click.echo(f"{moved} dispatch(es) queued for delivery")
    if note:
        click.echo(note, err=True)
    if dispatch_ids and moved < asked:
        raise UsageError(f"{asked - moved} of the given ids are not dead dispatches")


async def _held_note(store: Store, destination: str | None) -> str | None:
    """Why ``--destination`` found fewer than the operator expects: dispatches a paused
    or disabled destination holds are not dead letters, and no retry sends them."""
    if destination is None:
        return None
    state = (await store.destination_states()).get(destination)
    if state is None or state.state == "active":
        return None
    held = (await store.destination_backlog()).get(destination, {}).get(state.state, 0)
    why = f" ({state.reason})" if state.reason else ""
    command = "enable" if state.state == "disabled" else "resume"
    return (
        f"note: destination {destination!r} is {state.state}{why}; its {held} held "
        f"dispatch(es) are not dead letters: `hookyard destinations {command} {destination}` "
        "sends them"
    )
