"""``hookyard export [filters] DIR``: stored requests as a regression corpus.

Each request becomes ``NAME.body`` (the stored bytes, exactly, unless masking changed
them) and ``NAME.json`` (headers as received, source, event type, verdict, receipt
time, …). ``NAME`` is the event id, then the event type made safe for a file name, so
a directory listing is in receipt order. ``hookyard replay-corpus``, the conformance
kit and ``hookyard.testing.corpus`` read this layout.

Sanitising: ``--mask-key`` / ``--mask-pointer`` replace JSON values (the body is then
re-serialised and its original signature no longer verifies), ``--drop-header`` leaves
headers out. Only JSON is ever masked; any other body is exported unchanged with a
warning, so a corpus that must not hold personal data can be checked before sharing.

Credentials: header values and query parameters that hold one are masked in NAME.json
by default, by the same policy as every other display (``hookyard.inspect.masking``);
``--keep-credentials`` writes them as received. NAME.body is never touched by this.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from hookyard.cli.common import config_option, db_option, load, run_with_store
from hookyard.cli.filtering import event_filter, filter_options, iterate_events
from hookyard.exceptions import UsageError
from hookyard.inspect.masking import mask_headers, mask_query
from hookyard.inspect.sanitize import SanitizedBody, drop_headers, parse_pointer, sanitize_body
from hookyard.inspect.stored import EventNotFound, fetch_event
from hookyard.models import EventFilter, EventRecord
from hookyard.store.base import Store
from hookyard.timeparse import iso_from_us

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_TYPE_IN_NAME = 60
CORPUS_FORMAT = 1


def fixture_name(record: EventRecord) -> str:
    """``01J9…_order.created.v1``: the id (sorts by receipt), then a file-safe type."""
    event_type = record.summary.event_type or ""
    slug = _UNSAFE.sub("-", event_type).strip(".-")[:MAX_TYPE_IN_NAME].rstrip(".-")
    return f"{record.summary.id}_{slug}" if slug else record.summary.id


@dataclass(frozen=True)
class Sanitising:
    mask_keys: tuple[str, ...] = ()
    mask_pointers: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    replacement: str = "***"
    keep_credentials: bool = False

    @property
    def masks(self) -> bool:
        return bool(self.mask_keys or self.mask_pointers)


@dataclass
class ExportReport:
    written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    masked: int = 0


def fixture_meta(
    record: EventRecord,
    body: bytes,
    original: bytes,
    result: SanitizedBody | None,
    sanitising: Sanitising,
) -> dict[str, Any]:
    s = record.summary
    kept = drop_headers(record.headers, sanitising.drop)
    if sanitising.keep_credentials:
        headers = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in kept]
        query = record.query_string.decode("latin-1")
    else:
        headers = [list(pair) for pair in mask_headers(kept)]
        query = mask_query(record.query_string)
    meta: dict[str, Any] = {
        "format": CORPUS_FORMAT,
        "id": s.id,
        "source": s.source,
        "event_type": s.event_type,
        "provider_event_id": s.provider_event_id,
        "received_at": iso_from_us(s.received_us),
        "received_us": s.received_us,
        "method": s.method,
        "path": s.path,
        "query_string": query,
        "content_type": s.content_type,
        "headers": headers,
        "credentials_masked": not sanitising.keep_credentials,
        "verdict": {
            "status": s.verdict,
            "reason": s.verdict_reason,
            "secret_index": record.secret_index,
        },
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    if sanitising.drop:
        meta["dropped_headers"] = sorted({name.lower() for name in sanitising.drop})
    if result is not None:
        meta["sanitised"] = {
            "masked_values": result.masked_count,
            "is_json": result.is_json,
            "unmatched_pointers": list(result.unmatched_pointers),
            "note": result.note,
            "original_sha256": hashlib.sha256(original).hexdigest(),
        }
    return meta


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def prepare_directory(directory: str) -> Path:
    root = Path(directory)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{root} exists and is not a directory") from None
    except OSError as exc:
        raise UsageError(f"cannot create directory {root}: {exc.strerror or exc}") from None
    if not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    return root


async def export_events(
    store: Store, query: EventFilter, root: Path, sanitising: Sanitising, max_count: int | None
) -> ExportReport:
    report = ExportReport()
    async for event_id in iterate_events(store, query):
        if max_count is not None and len(report.written) >= max_count:
            break
        try:
            event = await fetch_event(store, event_id)
        except EventNotFound:
            continue  # removed since it was listed
        record, original = event.record, event.body
        body, result = original, None
        name = fixture_name(record)
        if sanitising.masks:
            result = sanitize_body(
                original,
                record.summary.content_type,
                mask_keys=sanitising.mask_keys,
                mask_pointers=sanitising.mask_pointers,
                replacement=sanitising.replacement,
            )
            body = result.body
            report.masked += result.masked_count
            if not result.is_json:
                report.warnings.append(f"{name}: not masked: {result.note}")
        meta = fixture_meta(record, body, original, result, sanitising)
        _write(root / f"{name}.body", body)
        _write(root / f"{name}.json", (json.dumps(meta, indent=2) + "\n").encode())
        report.written.append(name)
    return report


@click.command()
@config_option
@db_option
@filter_options(paging=False)
@click.option(
    "--limit",
    "max_count",
    type=click.IntRange(min=1),
    default=None,
    help="Export at most this many requests (newest first). Default: every match.",
)
@click.option(
    "--mask-key",
    "mask_keys",
    multiple=True,
    help="Mask every JSON member with this name, at any depth, any case. Repeatable.",
)
@click.option(
    "--mask-pointer",
    "mask_pointers",
    multiple=True,
    help="Mask the JSON value at this RFC 6901 pointer, e.g. /data/object/email. Repeatable.",
)
@click.option(
    "--drop-header",
    "drop",
    multiple=True,
    help="Leave this header out of NAME.json (any case, every repeat). Repeatable.",
)
@click.option(
    "--replacement", default="***", show_default=True, help="What a masked value becomes."
)
@click.option(
    "--keep-credentials",
    is_flag=True,
    help="Write credential headers and query parameters as received (default: masked).",
)
@click.argument("directory")
def export(
    config_path: str | None,
    database: str | None,
    max_count: int | None,
    mask_keys: tuple[str, ...],
    mask_pointers: tuple[str, ...],
    drop: tuple[str, ...],
    replacement: str,
    keep_credentials: bool,
    directory: str,
    **filters: str | None,
) -> None:
    """Write matching requests to DIRECTORY as NAME.body + NAME.json.

    \b
    The filters are those of `hookyard events list`, e.g.
      hookyard export --source stripe --type 'invoice.*' --since 7d --mask-key email corpus/

    Without masking, NAME.body is the stored body byte for byte.
    """
    query = event_filter(filters)
    for pointer in mask_pointers:
        try:
            parse_pointer(pointer)
        except UsageError as exc:
            raise UsageError(f"--mask-pointer: {exc}") from None
    sanitising = Sanitising(
        mask_keys=tuple(mask_keys),
        mask_pointers=tuple(mask_pointers),
        drop=tuple(drop),
        replacement=replacement,
        keep_credentials=keep_credentials,
    )
    settings = load(config_path, database=database)
    root = prepare_directory(directory)

    async def work(store: Store) -> ExportReport:
        return await export_events(store, query, root, sanitising, max_count)

    report = run_with_store(settings.server.database, work, keyring=settings.server.keyring)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    summary = f"exported {len(report.written)} request(s) to {root}"
    if sanitising.masks:
        summary += f"; {report.masked} value(s) masked"
        if report.warnings:
            summary += f", {len(report.warnings)} body(ies) left unmasked (not JSON)"
    click.echo(summary)
