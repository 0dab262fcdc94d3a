"""``open_store``: a database URL to its backend, chosen by the URL's prefix.

Each backend is imported when a URL asks for it (asyncpg loads only for PostgreSQL).
A backend is one more entry in ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Callable

from hookyard.exceptions import ConfigError
from hookyard.keyring import PLAIN, Keyring
from hookyard.store.base import Store
from hookyard.urls import mask_url

Factory = Callable[[str, int, Keyring], Store]
"""Makes a backend's store from the URL, the ingest queue size and the encryption keys."""


def _sqlite(url: str, queue_size: int, keyring: Keyring) -> Store:
    from hookyard.store.sqlite import SqliteStore

    return SqliteStore(url, queue_size=queue_size, keyring=keyring)


def _postgres(url: str, queue_size: int, keyring: Keyring) -> Store:
    from hookyard.store.postgres import PostgresStore

    return PostgresStore(url, queue_size=queue_size, keyring=keyring)


def _memory(url: str, queue_size: int, keyring: Keyring) -> Store:
    from hookyard.store.memory import MemoryStore

    return MemoryStore(url, queue_size=queue_size, keyring=keyring)


BACKENDS: dict[str, Factory] = {
    "sqlite:///": _sqlite,
    "postgresql://": _postgres,
    "postgres://": _postgres,
    "memory://": _memory,  # tests only: nothing is durable
}


#: What a configuration may name: ``memory://`` keeps nothing, so it is for tests only.
CONFIGURABLE = ("sqlite:///", "postgresql://", "postgres://")


def unsupported(url: str) -> str:
    return f"unsupported database {mask_url(url)!r}; use sqlite:///PATH or postgresql://..."


def check_configured_url(url: str) -> str:
    """``url`` when a configuration may name it (a backend's prefix and, for SQLite, a
    path); else ``ValueError`` with the one-line reason."""
    if url.startswith(CONFIGURABLE) and url not in CONFIGURABLE:
        return url
    raise ValueError(unsupported(url))


def open_store(url: str, *, queue_size: int = 10_000, keyring: Keyring = PLAIN) -> Store:
    """``keyring`` seals what the store takes and opens what it reads (encryption at rest)."""
    for prefix, factory in BACKENDS.items():
        if url.startswith(prefix):
            return factory(url, queue_size, keyring)
    raise ConfigError(unsupported(url))
