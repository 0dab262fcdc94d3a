"""The package's SQL files: migrations (``migrations/DIALECT``) and named statements
(``sql/DIALECT/queries.sql``)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(dialect: str) -> list[Migration]:
    folder = resources.files("hookyard.store").joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(int(version), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def load_queries(dialect: str) -> dict[str, str]:
    """Named statements from every ``sql/DIALECT/*.sql`` file (blocks start with
    ``-- name: X``); one file per concept, and a name may be defined only once."""
    folder = resources.files("hookyard.store").joinpath("sql", dialect)
    queries: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            for name, sql in _named_blocks(entry.read_text()):
                if name in queries:
                    raise ValueError(f"query {name!r} is defined twice ({entry.name})")
                queries[name] = sql
    return queries


def _named_blocks(text: str) -> list[tuple[str, str]]:
    blocks: list[tuple[str, str]] = []
    name = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("-- name:"):
            if name:
                blocks.append((name, "\n".join(lines).strip()))
            name, lines = line.split(":", 1)[1].strip(), []
        elif not line.startswith("--"):
            lines.append(line)
    if name:
        blocks.append((name, "\n".join(lines).strip()))
    return blocks
