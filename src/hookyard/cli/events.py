"""``hookyard events list|show|diff|explain``: find, read and compare stored requests.

Thin over the store and ``hookyard.inspect``. The CLI reads the database directly
(``--config`` / ``--db`` as for ``hookyard migrate``), so it works with or without a
running server. Anything that came from a request goes through ``safe_text`` and
``rich.text.Text`` before it reaches the terminal: no escape sequence and no rich
markup in a payload is ever interpreted. Credential headers and query parameters are
masked on display, ``--json`` too; ``show --raw`` writes the stored body, byte for byte.

Exit codes: 0 done; ``explain`` exits 1 when the request does not verify with the
current configuration, ``diff`` exits 1 when the two differ (as ``diff`` does); 2 for a
usage error (bad filter, unknown id).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from hookyard.api.inspect import explanation_json
from hookyard.api.serialize import record_json, summary_json
from hookyard.cli.common import config_option, db_option, load, run_with_store
from hookyard.cli.filtering import event_filter, filter_options
from hookyard.cli.render import print_table, render_body, render_headers
from hookyard.exceptions import UsageError
from hookyard.inspect.bodies import pretty_body
from hookyard.inspect.diff import EventDiff, render_diff
from hookyard.inspect.explain import Explanation
from hookyard.inspect.masking import mask_query, mask_url
from hookyard.inspect.stored import StoredEvent, diff_stored, explain_stored, fetch_event
from hookyard.inspect.text import safe_text
from hookyard.keyring import PLAIN, Keyring
from hookyard.models import AttemptRecord, EventRecord, EventSummary
from hookyard.store.base import Store
from hookyard.timeparse import iso_from_us

_VERDICT_STYLES = {"valid": "green", "unsigned": "yellow", "invalid": "bold red"}
_STATUS_STYLES = {
    "delivered": "green",
    "stored": "green",
    "pending": "cyan",
    "retrying": "yellow",
    "dead": "bold red",
    "rejected": "red",
    "disabled": "magenta",
    "dry_run": "dim",
}


def console() -> Console:
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal:
        # Piped into a file or CI log: rich would assume 80 columns and fold every id.
        out = Console(highlight=False, width=160)
    return out


def heading(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def plain(value: object) -> Text:
    """Request-derived text for a table cell: escaped, never parsed as markup."""
    return Text(safe_text("" if value is None else str(value), multiline=False))


def _time(micros: int | None) -> str:
    return iso_from_us(micros) or ""


def fetch(database: str, event_id: str, keyring: Keyring = PLAIN) -> StoredEvent:
    async def work(store: Store) -> StoredEvent:
        return await fetch_event(store, event_id)

    return run_with_store(database, work, keyring=keyring)


ID_WIDTH = 26  # a ULID


@click.group()
def events() -> None:
    """Find, show, compare and explain stored requests."""


# ------------------------------------------------------------------------------- list


def events_table(rows: list[EventSummary]) -> Table:
    table = Table(title=f"events ({len(rows)})", title_justify="left")
    # Ids are copied from here: never cut, whatever the width; the other columns give way.
    table.add_column("id", no_wrap=True, min_width=ID_WIDTH)
    for column in ("received", "source", "type", "verdict", "status", "bytes"):
        table.add_column(column, no_wrap=column != "type", overflow="fold")
    for row in rows:
        table.add_row(
            row.id,
            _time(row.received_us),
            plain(row.source),
            plain(row.event_type),
            Text(row.verdict, style=_VERDICT_STYLES.get(row.verdict, "")),
            Text(row.status, style=_STATUS_STYLES.get(row.status, "")),
            str(row.body_size),
        )
    return table


@events.command("list")
@config_option
@db_option
@filter_options(paging=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document, as GET /api/events.")
def list_events(
    config_path: str | None, database: str | None, as_json: bool, **filters: str | None
) -> None:
    """List stored requests, newest first.

    \b
    Every order.created.v1 that got a 5xx in the last hour:
      hookyard events list --type order.created.v1 --response-status 5xx --since 1h
    """
    query = event_filter(filters)
    settings = load(config_path, database=database)
    rows = run_with_store(
        settings.server.database,
        lambda store: store.list_events(query),
        keyring=settings.server.keyring,
    )
    next_cursor = rows[-1].id if len(rows) == query.limit else None
    if as_json:
        click.echo(
            json.dumps({"events": [summary_json(r) for r in rows], "next_cursor": next_cursor})
        )
        return
    out = console()
    print_table(events_table(rows), out)
    if next_cursor:
        out.print(Text(f"more: add --cursor {next_cursor}", style="dim"))


# ------------------------------------------------------------------------------- show


_DECISION_STYLES = {"delivered": "green", "dead": "red", "disabled": "magenta"}


def attempt_line(destination: str, attempt: AttemptRecord) -> str:
    if attempt.status_code is not None:
        outcome = f"HTTP {attempt.status_code}"
    else:
        outcome = f"{attempt.error_class or 'error'}: {attempt.error_message or ''}".strip()
    line = f"#{attempt.number} → {destination}: {outcome} in {attempt.latency_ms:.1f} ms"
    line += f", {attempt.decision}"
    if attempt.next_attempt_us is not None:
        line += f", next at {_time(attempt.next_attempt_us)}"
    return line


def timeline(record: EventRecord) -> Table:
    """Receipt, duplicates, each dispatch and each attempt, in time order."""
    entries: list[tuple[int, int, Text, Text]] = []

    def add(at: int, rank: int, label: str, style: str, detail: str) -> None:
        entries.append((at, rank, Text(label, style=style), plain(detail)))

    s = record.summary
    add(s.received_us, 0, "received", "bold", f"{s.method} {s.path} from {record.remote_addr}")
    if record.last_duplicate_us is not None:
        add(
            record.last_duplicate_us,
            1,
            "duplicate",
            "yellow",
            f"last of {s.duplicate_count} repeat(s) of provider id {s.provider_event_id}",
        )
    for d in record.dispatches:
        queued = f"dispatch {d.id} → {d.destination}"
        if d.replay_of:
            queued += f" (replay of {d.replay_of}, batch {d.batch_id})"
        add(d.created_us, 2, "queued", "cyan", queued)
        for a in d.attempt_log:
            style = _DECISION_STYLES.get(a.decision, "yellow")
            add(a.started_us, 3, "attempt", style, attempt_line(d.destination, a))
        state = f"{d.destination}: {d.status} after {d.attempts} attempt(s)"
        if d.next_attempt_us is not None and d.status in ("pending", "retrying"):
            state += f", next at {_time(d.next_attempt_us)}"
        add(d.updated_us, 4, "state", _STATUS_STYLES.get(d.status, ""), state)
    table = Table(title="timeline", title_justify="left", box=None, pad_edge=False)
    table.add_column("at", no_wrap=True, style="dim")
    table.add_column("", no_wrap=True)
    table.add_column("what", overflow="fold")
    for at, _rank, label, detail in sorted(entries, key=lambda e: (e[0], e[1])):
        table.add_row(_time(at), label, detail)
    return table


def metadata_table(record: EventRecord) -> Table:
    s = record.summary
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    target = s.path + (f"?{mask_query(record.query_string)}" if record.query_string else "")
    rows: list[tuple[str, object]] = [
        ("id", s.id),
        ("source", s.source),
        ("received", _time(s.received_us)),
        ("request", f"{s.method} {target}"),
        ("from", record.remote_addr),
        ("content type", s.content_type or "(none)"),
        ("body", f"{s.body_size} bytes, sha256 {s.body_sha256}"),
        ("provider id", s.provider_event_id),
        ("type", s.event_type),
        ("status", s.status),
    ]
    if s.duplicate_count:
        rows.append(
            ("duplicates", f"{s.duplicate_count}, last at {_time(record.last_duplicate_us)}")
        )
    if (r := record.redaction) is not None:
        rows.append(
            (
                "redacted",
                f"{r.replaced} values ({', '.join(r.fields)}) at {_time(r.redacted_us)}; "
                f"stored body {r.body_size} bytes, sha256 {r.body_sha256}",
            )
        )
    for name, value in rows:
        if value is not None:
            table.add_row(name, plain(value))
    return table


def verdict_view(record: EventRecord) -> Table:
    s = record.summary
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("verdict", Text(s.verdict, style=_VERDICT_STYLES.get(s.verdict, "")))
    table.add_row("reason", plain(s.verdict_reason))
    if record.secret_index is not None:
        table.add_row("secret", f"#{record.secret_index} matched")
    for key in ("computed", "received", "signed_content", "timestamp"):
        value = record.verdict_detail.get(key)
        if value is not None:
            table.add_row(key.replace("_", " "), plain(value))
    return table


def show_json(event: StoredEvent) -> dict[str, Any]:
    record = event.record
    data = record_json(record)  # headers and query string masked there
    data["body"] = pretty_body(event.body, record.summary.content_type, record.headers).as_dict()
    return data


@events.command("show")
@config_option
@db_option
@click.argument("event_id")
@click.option("--raw", is_flag=True, help="Write the stored body to stdout, byte for byte.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (headers masked).")
def show(
    config_path: str | None, database: str | None, event_id: str, raw: bool, as_json: bool
) -> None:
    """Show one stored request: metadata, headers, verdict, deliveries, body."""
    if raw and as_json:
        raise UsageError("give --raw or --json, not both")
    settings = load(config_path, database=database)
    event = fetch(settings.server.database, event_id, settings.server.keyring)
    if raw:
        sys.stdout.buffer.write(event.body)
        sys.stdout.buffer.flush()
        return
    if as_json:
        click.echo(json.dumps(show_json(event), indent=2))
        return
    record = event.record
    parts: list[RenderableType] = [
        Text(f"event {record.summary.id}", style="bold underline"),
        metadata_table(record),
        heading("signature"),
        verdict_view(record),
        heading("headers (credentials masked)"),
        render_headers(record.headers),
        heading("deliveries"),
    ]
    if record.dispatches or record.last_duplicate_us is not None:
        parts.append(timeline(record))
    else:
        parts.append(Text("no deliveries (no destination matched)", style="dim"))
    parts.append(heading("body"))
    parts.append(render_body(pretty_body(event.body, record.summary.content_type, record.headers)))
    console().print(Group(*parts))


# ------------------------------------------------------------------------------- diff


@events.command("diff")
@config_option
@db_option
@click.argument("a")
@click.argument("b")
@click.option("--json", "as_json", is_flag=True, help="The diff as JSON, as GET /api/diff.")
@click.option("--hide-volatile", is_flag=True, help="Leave out headers that differ every time.")
def diff(
    config_path: str | None,
    database: str | None,
    a: str,
    b: str,
    as_json: bool,
    hide_volatile: bool,
) -> None:
    """Compare two stored requests: A the old side, B the new.

    JSON bodies are compared as trees (paths added, removed, changed, type changes);
    other text as a unified diff; binary as sizes and hashes. Headers too.

    Exits 0 when the two are the same, 1 when they differ (as diff does; with
    --hide-volatile, volatile headers alone do not count), 2 on error.
    """
    settings = load(config_path, database=database)

    async def work(store: Store) -> EventDiff:
        return await diff_stored(store, a, b)

    result = run_with_store(settings.server.database, work, keyring=settings.server.keyring)
    if as_json:
        click.echo(result.to_json())
    else:
        out = console()
        out.print(Text(f"A {a}\nB {b}", style="bold"))
        out.print(render_diff(result, show_volatile=not hide_volatile))
    headers = [h for h in result.headers if not (hide_volatile and h.volatile)]
    if headers or not result.body.is_empty or result.content_type_changed:
        sys.exit(1)


# ---------------------------------------------------------------------------- explain


def explanation_view(found: Explanation) -> RenderableType:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("event", found.event_id)
    table.add_row("source", plain(f"{found.source} (scheme {found.scheme or 'unknown'})"))
    table.add_row("received", _time(found.received_us))
    stored = found.stored
    table.add_row(
        "at receipt",
        Text.assemble(
            (stored.status, _VERDICT_STYLES.get(stored.status, "")),
            plain(f": {stored.reason}")
            + plain(f" (secret #{stored.secret_index})" if stored.secret_index is not None else ""),
        ),
    )
    current = found.current
    if current is not None:
        table.add_row(
            "now",
            Text.assemble(
                (current.status, _VERDICT_STYLES.get(current.status, "")),
                plain(f": {current.reason}")
                + plain(
                    f" (secret #{current.secret_index})" if current.secret_index is not None else ""
                ),
            ),
        )
        received = current.received or stored.received
        if received:
            table.add_row("received sig", plain(received))
        if current.signed_content:
            table.add_row("signed", plain(current.signed_content))
    if found.url:
        table.add_row("url", plain(mask_url(found.url)))
    if found.signed_timestamp is not None:
        line = f"{found.signed_timestamp} ({_time(found.signed_timestamp * 1_000_000)})"
        if found.skew_seconds is not None:
            line += f", {found.skew_seconds:+.3f} s before receipt"
        if found.tolerance_seconds is not None:
            inside = "within" if found.within_tolerance else "OUTSIDE"
            line += f", {inside} tolerance {found.tolerance_seconds} s"
        table.add_row("timestamp", plain(line))
    parts: list[RenderableType] = [table]
    if found.keys:
        keys = Table(title="secrets (current configuration)", title_justify="left")
        keys.add_column("secret", no_wrap=True)
        keys.add_column("computed", overflow="fold")
        keys.add_column("match", no_wrap=True)
        for key in found.keys:
            keys.add_row(
                f"#{key.index}",
                plain(key.computed or f"(not computed: {key.reason})"),
                Text("yes", style="green") if key.matched else Text("no", style="red"),
            )
        parts.append(keys)
    parts.extend(Text(note, style="italic") for note in found.notes)
    return Group(*parts)


@events.command("explain")
@config_option
@db_option
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="As GET /api/events/{id}/signature.")
@click.pass_context
def explain(
    ctx: click.Context,
    config_path: str | None,
    database: str | None,
    event_id: str,
    as_json: bool,
) -> None:
    """Re-verify a stored request's signature with the source's current secrets.

    Shows the verdict at receipt next to the verdict now, the received signature, the
    one each configured secret computes, which secret matched, and the timestamp skew
    at receipt. Exit 0 when it verifies now, 1 when it does not.
    """
    settings = load(config_path, database=database)

    async def work(store: Store) -> Explanation:
        return await explain_stored(store, event_id, settings.sources)

    found = run_with_store(settings.server.database, work, keyring=settings.server.keyring)
    if as_json:
        click.echo(json.dumps(explanation_json(found), indent=2))
    else:
        console().print(explanation_view(found))
    ctx.exit(0 if found.ok else 1)
