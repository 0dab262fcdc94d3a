"""SQLite redaction: candidates (with their bodies) read off the event loop, replaced
bodies written in the writer, where the check for a dispatch to deliver is made again."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from hookyard.keyring import Keyring
from hookyard.models import BodyRedaction, RedactionCandidate
from hookyard.store.filters import ID_TIME_MARGIN_MS, lowest_id_at
from hookyard.store.payloads import redaction_candidate, seal_body_as
from hookyard.store.rows import redaction_row
from hookyard.store.sqlite.queries import Q


def mark(conn: sqlite3.Connection, source: str) -> str:
    row = conn.execute(Q["redaction_mark"], (source,)).fetchone()
    return "" if row is None else str(row[0])


def candidates(
    conn: sqlite3.Connection,
    source: str,
    *,
    cutoff_us: int,
    after: str,
    limit: int,
    keyring: Keyring,
) -> list[RedactionCandidate]:
    params = {
        "source": source,
        "after": after,
        "high": lowest_id_at(cutoff_us // 1000 + ID_TIME_MARGIN_MS + 1),
        "cutoff": cutoff_us,
        "limit": limit,
    }
    return [
        redaction_candidate(row, keyring) for row in conn.execute(Q["redaction_candidates"], params)
    ]


def apply(
    conn: sqlite3.Connection,
    source: str,
    redactions: Sequence[BodyRedaction],
    mark: str | None,
    keyring: Keyring,
) -> int:
    done = skipped = 0
    for item in redactions:
        row = conn.execute(Q["event_key_id"], (item.event_id,)).fetchone()
        # In the writer's transaction, so a key rotation cannot come between read and write.
        body = item.body if row is None else seal_body_as(keyring, item.event_id, row[0], item.body)
        if conn.execute(Q["redact_body"], (body, item.event_id)).rowcount:
            conn.execute(Q["insert_redaction"], redaction_row(item))
            done += 1
        elif conn.execute(Q["known_event_ids"], (json.dumps([item.event_id]),)).fetchone():
            skipped += 1  # a dispatch to deliver appeared: not past the mark then
    if mark is not None and not skipped:
        conn.execute(Q["set_redaction_mark"], (source, mark))
    return done
