"""Options and helpers shared by commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from hookyard.config import Settings, default_settings, load_settings, with_overrides

F = TypeVar("F", bound=Callable[..., Any])


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
) -> Settings:
    settings = load_settings(config_path) if config_path else default_settings()
    return with_overrides(settings, host=host, port=port, database=database)
