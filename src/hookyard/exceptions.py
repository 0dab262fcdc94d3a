"""Errors hookyard raises on purpose.

    HookyardError                 root; ``exit_code`` is what the CLI exits with
    ├── ConfigError               a bad config file or flag (exit 2)
    ├── UsageError                a bad command-line argument or input file (exit 2)
    │   ├── BadFilter             a filter value or key (hookyard.filtering); names the field
    │   ├── UnknownName           no destination (or batch) of that name; the API answers 404
    │   └── Refused               an operator action the current state forbids (API 409)
    ├── SchemeError               a signature scheme misused: unknown name, bad key format (exit 2)
    ├── EncryptionKeyError        an encryption key missing, malformed, or not the one that
    │                             sealed the store's events (exit 2)
    ├── StartError                serve or worker cannot start: port in use, database
    │                             unreachable or not permitted (exit 2)
    └── StoreError                the storage backend failed (exit 1)
        ├── MigrationError        the schema could not be brought up to date
        ├── StoreSaturated        the write queue is full; ingest answers 503
        └── RowRefused            the database refused this one row (its batch was written
                                  without it); ingest answers 422 for that request alone
        └── UnreadablePayload     a stored body or header list that cannot be decrypted
                                  (its key is not configured, or the value was altered)

A user error is shown as one line, never a traceback.
"""

from __future__ import annotations


class HookyardError(Exception):
    exit_code = 1


class ConfigError(HookyardError):
    exit_code = 2


class UsageError(HookyardError):
    exit_code = 2


class UnknownName(UsageError):
    pass


class Refused(UsageError):
    pass


class SchemeError(HookyardError):
    exit_code = 2


class EncryptionKeyError(HookyardError):
    exit_code = 2


class StartError(HookyardError):
    exit_code = 2


class StoreError(HookyardError):
    exit_code = 1


class MigrationError(StoreError):
    pass


class StoreSaturated(StoreError):
    pass


class RowRefused(StoreError):
    pass


class UnreadablePayload(StoreError):
    pass
