"""PostgreSQL backend through asyncpg: group commit as one statement per batch.

``writer`` is the group commit (two ingest connections taking turns, attempts recorded
in groups), ``queries`` the reads of more than one statement, ``commands`` the other
writes of more than one, ``connection`` connecting and migrating, ``store`` the
``PostgresStore`` composing them.
"""

from hookyard.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
