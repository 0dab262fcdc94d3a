"""Storage: one interface (``base.Store``), an embedded SQLite and a PostgreSQL backend."""

from hookyard.store.base import Store, open_store

__all__ = ["Store", "open_store"]
