"""SQLite's side of encryption at rest: the registered keys and re-sealing, each a
function of the writer's connection (run inside its transaction, between ingest batches)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from hookyard.exceptions import EncryptionKeyError
from hookyard.keyring import Keyring
from hookyard.store.payloads import ResealBatch, key_refusal, reseal_rows
from hookyard.store.sqlite.queries import Q


def check_keys(conn: sqlite3.Connection, keyring: Keyring, *, now_us: int) -> None:
    registered = {row[0]: bytes(row[1]) for row in conn.execute(Q["registered_keys"])}
    refusal = key_refusal(keyring, registered)
    if refusal is not None:
        raise EncryptionKeyError(refusal)
    key = keyring.current
    if key is not None and key.id not in registered:
        conn.execute(Q["register_key"], (key.id, key.check_value(), now_us))


def key_usage(conn: sqlite3.Connection) -> dict[str | None, int]:
    return {row[0]: row[1] for row in conn.execute(Q["key_usage"])}


def reseal_events(
    conn: sqlite3.Connection, keyring: Keyring, *, after: str | None, limit: int
) -> ResealBatch:
    current = keyring.current
    rows = conn.execute(
        Q["reseal_candidates"], (after or "", None if current is None else current.id, limit)
    ).fetchall()
    done, unreadable = reseal_rows(keyring, ((r[0], r[1], bytes(r[2]), bytes(r[3])) for r in rows))
    conn.executemany(
        Q["reseal_event"], [(s.headers, s.body, s.key_id, event_id) for event_id, s in done]
    )
    return ResealBatch(len(done), tuple(unreadable), rows[-1][0] if rows else None)


def forget_keys(conn: sqlite3.Connection, key_ids: Sequence[str]) -> int:
    return sum(conn.execute(Q["forget_key"], (key_id,)).rowcount for key_id in key_ids)
