"""``hookyard purge``: delete what is past its retention, now, in batches, with progress;
then redact the bodies past their source's ``redact_after``.

Safe beside a running server: each batch is a short transaction of its own (SQLite
takes the write lock in turn with the server's writer; PostgreSQL runs one purge at a
time under an advisory lock). Without ``--older-than`` it applies the configured
retention (``[server] retention``, each source's ``retention``, ``dlq_retention``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import click

from hookyard.cli.common import config_option, db_option, load, store_session
from hookyard.clock import now_us
from hookyard.control import audit
from hookyard.durations import parse_duration
from hookyard.exceptions import StoreError, UsageError
from hookyard.redaction.runner import RedactionCounts, run_redaction
from hookyard.retention.policy import RetentionPolicy
from hookyard.retention.purge import BATCH, PurgeLocked, PurgeProgress, run_purge

#: At most one progress line this often (seconds).
PROGRESS_EVERY = 1.0
#: Between batches, by default: beside a running SQLite server, back-to-back batches took
#: the write lock so often that ingest's median went from 3 to 39 ms; 50 ms between them
#: kept it at 6 ms, at half the purge's speed (bench/purge, 300,000 events). An offline
#: purge can say --pause 0.
DEFAULT_PAUSE = 0.05


def _age(value: str | None, flag: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if seconds <= 0:
        raise UsageError(f"{flag}: must be more than 0, got {value!r}")
    return seconds


def _summary(progress: PurgeProgress) -> str:
    c = progress.counts
    verb = "would delete" if progress.dry_run else "deleted"
    return (
        f"{verb} {c.events:,} events, {c.dispatches:,} dispatches, {c.attempts:,} attempts, "
        f"{c.dedup_keys:,} dedup keys, {c.processed_keys:,} handler keys, "
        f"{c.replay_batches:,} replay batches (looked at {progress.examined:,} events "
        f"in {progress.seconds:.1f} s)"
    )


class _Reporter:
    """Progress on stderr, one line a second at most, and the last state always."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.shown = 0.0

    def __call__(self, progress: PurgeProgress) -> None:
        now = time.monotonic()
        if self.quiet or now - self.shown < PROGRESS_EVERY:
            return
        self.shown = now
        share = f" ({progress.examined / progress.candidates:.0%})" if progress.candidates else ""
        verb = "would delete" if progress.dry_run else "deleted"
        click.echo(
            f"purge: looked at {progress.examined:,} of {progress.candidates:,} events{share}, "
            f"{verb} {progress.counts.events:,}",
            err=True,
        )


@click.command()
@config_option
@db_option
@click.option(
    "--older-than", default=None, help="Age past which events go, e.g. 30d (every source)."
)
@click.option(
    "--dead-older-than", default=None, help="Age past which dead letters go (else dlq_retention)."
)
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=BATCH,
    show_default=True,
    help="Events per transaction.",
)
@click.option(
    "--pause",
    type=click.FloatRange(0, 10),
    default=DEFAULT_PAUSE,
    show_default=True,
    help="Seconds between batches (leave the database to a busy server).",
)
@click.option("--json", "as_json", is_flag=True, help="The result as one JSON document.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def purge(
    config_path: str | None,
    database: str | None,
    older_than: str | None,
    dead_older_than: str | None,
    dry_run: bool,
    batch: int,
    pause: float,
    as_json: bool,
    quiet: bool,
) -> None:
    """Delete events past their retention, with their dispatches, attempts and keys;
    then replace the redact_fields of bodies past redact_after."""
    ages = _age(older_than, "--older-than"), _age(dead_older_than, "--dead-older-than")
    settings = load(config_path, database=database)
    policy: RetentionPolicy = settings.retention_policy.overridden(*ages)
    redactions = settings.field_redactions
    if not policy.active and not redactions:
        raise UsageError(
            "nothing to purge: no retention is configured; give --older-than D "
            "or set retention in [server] or a source"
        )

    async def work() -> tuple[PurgeProgress, RedactionCounts]:
        server = settings.server
        async with store_session(server.database, keyring=server.keyring) as store:
            progress = PurgeProgress(dry_run=dry_run)
            if policy.active:
                progress = await run_purge(
                    store,
                    policy,
                    now_us=now_us(),
                    dry_run=dry_run,
                    batch=batch,
                    pause=pause,
                    report=_Reporter(quiet or as_json),
                )
            counts = await run_redaction(
                store, redactions, now_us=now_us(), dry_run=dry_run, pause=pause
            )
            if not dry_run:
                await audit.record(
                    store,
                    actor=audit.cli_actor(),
                    action="purge",
                    target="events",
                    count=progress.counts.events,
                    detail={**progress.counts.as_dict(), "redacted": counts.redacted},
                )
            return progress, counts

    try:
        progress, redacted = asyncio.run(work())
    except PurgeLocked:
        raise StoreError("another process is purging this database; try again later") from None
    if as_json:
        click.echo(json.dumps({**progress.as_dict(), "redacted": redacted.redacted}))
    else:
        click.echo(_summary(progress))
        if redactions:
            verb = "would redact" if dry_run else "redacted"
            click.echo(f"{verb} {redacted.redacted:,} bodies (looked at {redacted.examined:,})")
    sys.stdout.flush()
