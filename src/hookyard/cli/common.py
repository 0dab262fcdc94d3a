"""Options and helpers shared by commands."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import click

from hookyard.config import Settings, default_settings, load_settings, with_overrides
from hookyard.delivery.guard import check_at_start, outbound_urls
from hookyard.exceptions import StartError, StoreError, UnknownName
from hookyard.keyring import PLAIN, Keyring
from hookyard.store import Store, open_store
from hookyard.urls import mask_url

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML config file (default: none, SQLite at ./hookyard.db, a 'demo' source).",
    )(func)


def db_option(func: F) -> F:
    return click.option(
        "--db", "database", default=None, help="Database URL: sqlite:///PATH or postgresql://..."
    )(func)


def load(
    config_path: str | None,
    *,
    database: str | None = None,
    host: str | None = None,
    port: int | None = None,
    handlers: bool = False,
) -> Settings:
    """The settings for a command. Only commands that deliver (``serve``, ``worker``,
    ``replay``) pass ``handlers=True``: the rest never import a Python handler."""
    if config_path:
        settings = load_settings(config_path, load_handlers=handlers)
    else:
        settings = default_settings()
    return with_overrides(settings, host=host, port=port, database=database)


def check_outbound(settings: Settings) -> None:
    """Before serving: every destination, mirror and the alerts URL pass the SSRF guard, or a
    ``ConfigError`` names the first that does not (else it would never deliver)."""
    alerts = settings.alerts
    urls = outbound_urls(settings.destinations, None if alerts is None else alerts.url)
    urls += [
        (f"mirrors.{name}.url", mirror.url_for(source))
        for name, mirror in settings.mirrors.items()
        if not mirror.dry_run
        for source in mirror.sources
    ]
    asyncio.run(check_at_start(urls, settings.server.net_policy))


@contextlib.asynccontextmanager
async def store_session(
    database: str, *, keyring: Keyring = PLAIN, durable: bool = True
) -> AsyncIterator[Store]:
    """The store for one command: opened and started, and closed however the command ends
    (closing drains the writer, so what the command wrote is committed). ``keyring`` is
    ``server.encryption_key``: without it, a store holding sealed events refuses to start.
    ``durable`` is ``open_store``'s."""
    store = open_store(database, keyring=keyring, durable=durable)
    await store.start()
    try:
        yield store
    finally:
        await store.close()


def run_with_store(
    database: str, work: Callable[[Store], Awaitable[T]], *, keyring: Keyring = PLAIN
) -> T:
    """Run ``work`` in a store session, on a new event loop: a short-lived command.

    Whatever it cannot find is reported with the database it looked in (password
    masked): the default ``./hookyard.db`` of another directory is a common surprise."""

    async def run() -> T:
        async with store_session(database, keyring=keyring) as store:
            return await work(store)

    try:
        return asyncio.run(run())
    except UnknownName as exc:
        raise UnknownName(f"{exc} in {mask_url(database)}") from None


def open_at_start(database: str) -> list[int]:
    """Open the database and bring its schema up to date before a long-running command
    starts: a database that is unreachable or refused is one ``StartError`` line (exit 2)
    naming it, not a failure inside the server. Returns the migrations applied."""

    async def migrate() -> list[int]:
        return await open_store(database).migrate()

    try:
        return asyncio.run(migrate())
    except StoreError as exc:
        named = database.removeprefix("sqlite:///") in str(exc)
        raise StartError(str(exc) if named else f"{exc} (database {mask_url(database)})") from None
