"""PostgreSQL's side of encryption at rest: the registered keys and re-sealing."""

from __future__ import annotations

from collections.abc import Sequence

from hookyard.exceptions import EncryptionKeyError
from hookyard.keyring import Keyring
from hookyard.store.payloads import ResealBatch, key_refusal, reseal_rows
from hookyard.store.postgres.queries import Conn, Q


async def check_keys(conn: Conn, keyring: Keyring, *, now_us: int) -> None:
    registered = {row[0]: bytes(row[1]) for row in await conn.fetch(Q["registered_keys"])}
    refusal = key_refusal(keyring, registered)
    if refusal is not None:
        raise EncryptionKeyError(refusal)
    key = keyring.current
    if key is not None and key.id not in registered:
        await conn.execute(Q["register_key"], key.id, key.check_value(), now_us)


async def key_usage(conn: Conn) -> dict[str | None, int]:
    return {row[0]: row[1] for row in await conn.fetch(Q["key_usage"])}


async def reseal_events(
    conn: Conn, keyring: Keyring, *, after: str | None, limit: int
) -> ResealBatch:
    """One transaction: the rows are locked from the read to the write."""
    current = keyring.current
    async with conn.transaction():
        rows = await conn.fetch(
            Q["reseal_candidates"], after or "", None if current is None else current.id, limit
        )
        done, unreadable = reseal_rows(
            keyring, ((r[0], r[1], bytes(r[2]), bytes(r[3])) for r in rows)
        )
        if done:
            await conn.execute(
                Q["reseal_events"],
                [event_id for event_id, _ in done],
                [s.headers for _, s in done],
                [s.body for _, s in done],
                [s.key_id for _, s in done],
            )
    return ResealBatch(len(done), tuple(unreadable), rows[-1][0] if rows else None)


async def forget_keys(conn: Conn, key_ids: Sequence[str]) -> int:
    gone = 0
    for key_id in key_ids:
        result = await conn.execute(Q["forget_key"], key_id)
        gone += int(result.split()[-1])
    return gone
