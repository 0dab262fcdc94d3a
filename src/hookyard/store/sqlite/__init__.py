"""Embedded SQLite backend: WAL, ``synchronous=FULL``, pipelined group commit.

``writer`` is the group commit (one connection does every write) and the watcher of
other processes' commits, ``queries`` the reads, ``commands`` the other writes (run in
the writer's transaction), ``connection`` opening and migrating, ``store`` the
``SqliteStore`` composing them.
"""

from hookyard.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
