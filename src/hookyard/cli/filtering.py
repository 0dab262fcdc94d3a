"""The event filter flags, shared by ``events list`` and ``export``, and paging through events.

The flags are parsed by :func:`hookyard.filtering.parse_filter`, the same parser
``GET /api/events`` uses, so the CLI and the API accept exactly the same filters. A bad
value is a ``BadFilter`` (a ``UsageError``) naming the flag (exit 2).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import click

from hookyard.filtering import MAX_LIMIT, BadFilter, cli_flag, parse_filter
from hookyard.models import EventFilter
from hookyard.store import EventReader

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_FILTER_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--source", "source", "Events from this source."),
    ("--type", "type", "Event type, exact or a glob: 'order.*'."),
    ("--verdict", "verdict", "Signature verdict: valid, invalid or unsigned."),
    ("--status", "status", "Event status: pending, delivered, retrying, dead, rejected, …"),
    (
        "--response-status",
        "response_status",
        "Last HTTP status of a dispatch: a class (5xx) or a code (404).",
    ),
    ("--destination", "destination", "Has a dispatch to this destination."),
    ("--since", "since", "Received at or after: ISO time, Unix time or an age like 1h."),
    ("--until", "until", "Received before: ISO time, Unix time or an age like 1h."),
)


def filter_options(*, paging: bool) -> Callable[[F], F]:
    """Add the filter flags; with ``paging``, ``--limit`` (rows) and ``--cursor`` too.

    The command receives them as keyword arguments named after the filters
    (``type``, ``response_status``, …); pass them to :func:`event_filter`.
    """

    def decorate(func: F) -> F:
        if paging:
            func = click.option(
                "--cursor", "cursor", default=None, help="next_cursor of the previous page."
            )(func)
            func = click.option(
                "--limit",
                "limit",
                default=None,
                help=f"Rows to show, 1 to {MAX_LIMIT} (default 50).",
            )(func)
        for flag, name, text in reversed(_FILTER_FLAGS):
            func = click.option(flag, name, default=None, help=text)(func)
        return func

    return decorate


def event_filter(values: dict[str, str | None], *, default_limit: int = 50) -> EventFilter:
    """The flags' values as an EventFilter; a bad value is a BadFilter naming its flag."""
    try:
        return parse_filter(values, default_limit=default_limit)
    except BadFilter as exc:
        raise exc.spelt(cli_flag) from None


async def iterate_events(
    store: EventReader, query: EventFilter, page: int = 500
) -> AsyncIterator[str]:
    """Ids of every matching event, newest first, fetched a page at a time."""
    cursor = query.cursor
    while True:
        rows = await store.list_events(dataclasses.replace(query, limit=page, cursor=cursor))
        for row in rows:
            yield row.id
        if len(rows) < page:
            return
        cursor = rows[-1].id
