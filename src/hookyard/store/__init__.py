"""Storage: the boundary (``base``: one protocol per user, ``Store`` their union), an
embedded SQLite and a PostgreSQL backend, and ``open_store`` to pick one by URL."""

from hookyard.store.base import (
    DispatchQueue,
    EventReader,
    Ingest,
    Lifecycle,
    ProcessedKeys,
    Redactions,
    ReplayLog,
    ReplayStore,
    Retention,
    Store,
)
from hookyard.store.registry import open_store

__all__ = [
    "DispatchQueue",
    "EventReader",
    "Ingest",
    "Lifecycle",
    "ProcessedKeys",
    "Redactions",
    "ReplayLog",
    "ReplayStore",
    "Retention",
    "Store",
    "open_store",
]
