"""Rough edges a new user hit, each through the real CLI as a subprocess."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.server import hookyard_command

pytestmark = pytest.mark.slow


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hookyard_command(*args), capture_output=True, text=True, timeout=30, cwd=cwd
    )


def test_what_is_not_found_is_reported_with_the_database_it_looked_in(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'here.db'}"
    for args, message in [
        (("events", "show", "01NOSUCHEVENT"), "no event with id '01NOSUCHEVENT'"),
        (("events", "explain", "01NOSUCHEVENT"), "no event with id '01NOSUCHEVENT'"),
        (("replay", "01NOSUCHEVENT", "--url", "http://127.0.0.1:9/"), "no event with id"),
        (("replay", "show", "01NOSUCHBATCH"), "no replay batch '01NOSUCHBATCH'"),
        (("destinations", "pause", "app"), "no destination 'app' (destinations: none configured)"),
    ]:
        done = cli(*args, "--db", db)
        assert done.returncode == 2, (args, done.stderr)
        [line] = done.stderr.splitlines()
        assert line.startswith(f"hookyard: error: {message}") and line.endswith(f" in {db}")


def test_the_default_database_is_named_too(tmp_path: Path) -> None:
    done = cli("events", "show", "01NOSUCHEVENT", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "hookyard: error: no event with id '01NOSUCHEVENT' in sqlite:///hookyard.db"
    )


def test_a_database_password_is_masked_where_it_is_named(pg_database: str) -> None:
    with_password = pg_database.replace("postgres@", "postgres:hunter2@")
    done = cli("events", "show", "01NOSUCHEVENT", "--db", with_password)
    assert done.returncode == 2 and "hunter2" not in done.stderr
    assert "postgres:***@" in done.stderr
