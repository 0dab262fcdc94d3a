"""A fresh, empty database for a server subprocess, on the backend a fixture's param names."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.pg import truncate_postgres


def fresh_database(
    request: pytest.FixtureRequest, directory: Path, filename: str = "hookyard.db"
) -> str:
    """A new SQLite file in ``directory``, or the session's PostgreSQL database emptied."""
    backend: str = request.param
    if backend == "sqlite":
        return f"sqlite:///{directory / filename}"
    url: str = request.getfixturevalue("pg_database")
    truncate_postgres(url)
    return url
