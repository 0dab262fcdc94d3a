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

Factory = Callable[[str, int, Keyring, bool], Store]
"""Makes a backend's store from the URL, the ingest queue size, the encryption keys and
whether each commit waits for the disk."""


def _sqlite(url: str, queue_size: int, keyring: Keyring, durable: bool) -> Store:
    from hookyard.store.sqlite import SqliteStore

    return SqliteStore(url, queue_size=queue_size, keyring=keyring, durable=durable)


def _postgres(url: str, queue_size: int, keyring: Keyring, durable: bool) -> Store:
    from hookyard.store.postgres import PostgresStore

    return PostgresStore(url, queue_size=queue_size, keyring=keyring, durable=durable)


def _memory(url: str, queue_size: int, keyring: Keyring, durable: bool) -> Store:
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


def open_store(
    url: str, *, queue_size: int = 10_000, keyring: Keyring = PLAIN, durable: bool = True
) -> Store:
    """``keyring`` seals what the store takes and opens what it reads (encryption at rest).
    ``durable=False`` lets this process's commits return before they reach the disk (still
    atomic; an OS crash can lose the last of them): for the mirror lanes' own log, whose
    fsyncs would otherwise hold the database's write lock that ingest waits on."""
    for prefix, factory in BACKENDS.items():
        if url.startswith(prefix):
            return factory(url, queue_size, keyring, durable)
    raise ConfigError(unsupported(url))
