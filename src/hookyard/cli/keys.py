"""``hookyard keys``: encryption keys at rest (generate, status, rotate)."""

from __future__ import annotations

import asyncio
import time

import click

from hookyard.cli.common import config_option, db_option, load, store_session
from hookyard.config import Settings
from hookyard.control import audit
from hookyard.exceptions import ConfigError
from hookyard.keyring import generate_key
from hookyard.store.base import KeyRotation

#: How often rotation reports progress, at most (a line each, so logs stay readable).
PROGRESS_SECONDS = 1.0
#: Walks over the events at most: another walk picks up rows passed over while another
#: transaction held them, or written under an old key by a process not yet updated.
PASSES = 3
#: Undecryptable events listed by id at the end of a rotation; the rest are counted.
SHOWN_UNREADABLE = 10


@click.group()
def keys() -> None:
    """Encryption keys for bodies and header lists at rest (server.encryption_key)."""


@keys.command()
def generate() -> None:
    """Print a new random 256-bit key (URL-safe base64), for an env var or a key file."""
    click.echo(generate_key())


def usage_line(key_id: str | None, count: int, settings: Settings) -> str:
    ring = settings.server.keyring
    if key_id is None:
        role = "in clear"
    elif ring.current is not None and key_id == ring.current.id:
        role = "current (seals new events)"
    elif ring.get(key_id) is not None:
        role = "old (opens only)"
    else:
        role = "NOT CONFIGURED"
    return f"{key_id or '-':<24} {count:>10}  {role}"


@keys.command()
@config_option
@db_option
def status(config_path: str | None, database: str | None) -> None:
    """How many events each key sealed, and which key seals new ones."""
    settings = load(config_path, database=database)
    server = settings.server

    async def run() -> dict[str | None, int]:
        async with store_session(server.database, keyring=server.keyring) as store:
            return await store.key_usage()

    usage = asyncio.run(run())
    click.echo(f"{'KEY':<24} {'EVENTS':>10}  ROLE")
    for key_id in sorted(usage, key=lambda k: (k is not None, k or "")):
        click.echo(usage_line(key_id, usage[key_id], settings))
    for key_id in server.keyring.ids:
        if key_id not in usage:
            click.echo(usage_line(key_id, 0, settings))


@keys.command()
@config_option
@db_option
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="Events re-encrypted per transaction (each holds SQLite's write lock meanwhile).",
)
@click.option(
    "--share",
    type=click.FloatRange(0.05, 1.0),
    default=0.5,
    show_default=True,
    help="At most this share of the time spent writing batches: after each, rotation rests "
    "so that ingest gets the rest (1: no rest).",
)
def rotate(config_path: str | None, database: str | None, batch_size: int, share: float) -> None:
    """Re-encrypt every event under the first key of server.encryption_key.

    Safe beside a running server: each batch is read and written in one transaction.
    Give every process the new key list (new key first, old ones after) before running
    it. Exits 1 when some event could not be decrypted or is still under another key.
    """
    settings = load(config_path, database=database)
    server = settings.server
    current = server.keyring.current
    if current is None:
        raise ConfigError("server.encryption_key is not set: there is no key to rotate to")

    async def run() -> int:
        async with store_session(server.database, keyring=server.keyring) as store:
            code = await _rotate(store, settings, batch_size, share)
            current = server.keyring.current
            usage = await store.key_usage()
            await audit.record(
                store,
                actor=audit.cli_actor(),
                action="keys.rotate",
                target=current.id if current is not None else "",
                count=usage.get(current.id if current is not None else None, 0),
                detail={"exit_code": code},
            )
            return code

    raise SystemExit(asyncio.run(run()))


async def _rotate(store: KeyRotation, settings: Settings, batch_size: int, share: float) -> int:
    ring = settings.server.keyring
    assert ring.current is not None
    current = ring.current.id
    before = await store.key_usage()
    todo = sum(count for key_id, count in before.items() if key_id != current)
    click.echo(f"{todo} event(s) to re-encrypt under key {current!r}", err=True)
    done = 0
    unreadable: dict[str, str] = {}
    last_report = time.monotonic()
    for _ in range(PASSES):
        before_pass, after = done, None
        while True:
            started = time.monotonic()
            batch = await store.reseal_events(after=after, limit=batch_size)
            if batch.last_id is None:
                break
            # On SQLite a batch holds the one write lock: resting after it lets a running
            # server's group commits in (measured: ingest fell to a third without a rest).
            await asyncio.sleep((time.monotonic() - started) * (1 - share) / share)
            after = batch.last_id
            done += batch.resealed
            unreadable.update(batch.unreadable)
            if time.monotonic() - last_report >= PROGRESS_SECONDS:
                last_report = time.monotonic()
                click.echo(f"re-encrypted {done}/{todo}", err=True)
        if done == before_pass:
            break  # a walk that found nothing to do: what is left does not open
    usage = await store.key_usage()
    unused = [key_id for key_id in ring.ids if key_id != current and not usage.get(key_id)]
    await store.forget_keys(unused)
    click.echo(f"re-encrypted {done} event(s) under key {current!r}")
    if unused:
        names = ", ".join(repr(k) for k in unused)
        click.echo(f"no event is sealed with {names} any more: it may leave encryption_key")
    for why in list(unreadable.values())[:SHOWN_UNREADABLE]:
        click.echo(f"not re-encrypted: {why}", err=True)
    if len(unreadable) > SHOWN_UNREADABLE:
        click.echo(f"... and {len(unreadable) - SHOWN_UNREADABLE} more", err=True)
    left = sum(count for key_id, count in usage.items() if key_id != current)
    if left > len(unreadable):
        click.echo(
            f"{left - len(unreadable)} event(s) were written under another key during the run "
            "(a process still has the old key list first?): run it again once every process "
            "has the new list",
            err=True,
        )
    return 1 if left else 0
