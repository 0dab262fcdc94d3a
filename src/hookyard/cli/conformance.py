"""``hookyard conformance URL``: attack a webhook receiver and report what it let through.

Thin over ``hookyard.testing.conformance``: the battery, its checks and its report live
there, shared with the Python API and the pytest plugin. Exit codes: 0 every applicable
check passed, 1 some check failed, 2 usage error (bad scheme, key, URL or fixtures
directory, or a receiver that cannot be reached at all).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hookyard.exceptions import UsageError
from hookyard.secrets import resolve_secret
from hookyard.testing.conformance import (
    CHECK_NAMES,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_SETTLE_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    Report,
    run_conformance,
)

_STYLES = {"pass": "green", "fail": "bold red", "n/a": "dim"}


def parse_options(raw: Sequence[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option must look like key=value, got {item[:40]!r}")
        options[key.strip()] = value
    return options


def secret_value(raw: str) -> str:
    """A literal secret, or ``env:NAME`` / ``file:PATH`` to keep it out of shell history."""
    try:
        return resolve_secret(raw)
    except ValueError as exc:
        raise UsageError(f"--secret: {exc}") from None


def render(report: Report, console: Console) -> None:
    table = Table(title=f"{report.scheme} receiver at {report.target}", title_justify="left")
    for column in ("check", "expected", "got", "result"):
        table.add_column(column, no_wrap=True)
    table.add_column("why", overflow="fold")
    for result in report.results:
        table.add_row(
            result.check,
            result.expected,
            result.got,
            Text(result.outcome, style=_STYLES[result.outcome]),
            result.why,
        )
    console.print(table)
    if report.bodies != ("synthetic",):
        console.print(f"bodies: {len(report.bodies)} fixtures, each signed at run time")
    style = "green" if report.ok else "bold red"
    console.print(Text(report.summary(), style=style))


def _console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        # Piped into a log or CI output: rich would assume 80 columns and fold every reason.
        console = Console(highlight=False, width=160)
    return console


@click.command()
@click.argument("url")
@click.option("--scheme", "scheme_name", required=True, help="Scheme name, e.g. stripe.")
@click.option(
    "--secret",
    default="",
    help="The signing secret (or private key); also env:NAME or file:PATH.",
)
@click.option("--option", "options", multiple=True, help="Scheme option key=value.")
@click.option(
    "--side-effect-url",
    default=None,
    help="GET returns how many side effects the receiver has caused, "
    '{"count": N} or a bare integer; relative URLs resolve against URL.',
)
@click.option(
    "--fixtures",
    "fixtures_dir",
    default=None,
    help="Directory of captured requests (NAME.body + NAME.json, as hookyard export writes).",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    help="The largest body the receiver should accept; one byte more must be refused.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT_SECONDS,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=DEFAULT_SETTLE_SECONDS,
    show_default=True,
    help="Seconds to wait for a side effect to show on the side-effect URL.",
)
@click.option(
    "--check",
    "checks",
    multiple=True,
    type=click.Choice(CHECK_NAMES),
    metavar="NAME",
    help=f"Run only this check; repeat for several. One of: {', '.join(CHECK_NAMES)}.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def conformance(
    ctx: click.Context,
    url: str,
    scheme_name: str,
    secret: str,
    options: tuple[str, ...],
    side_effect_url: str | None,
    fixtures_dir: str | None,
    max_body_bytes: int,
    timeout: float,
    settle: float,
    checks: tuple[str, ...],
    as_json: bool,
) -> None:
    """Run the conformance battery against the webhook receiver at URL.

    Each check signs its request at run time with a fresh message id: valid, stale and
    future timestamps, tampered body, wrong secret, missing and malformed signature,
    signature for another message id, key rotation, duplicates and an oversized body.
    Checks that do not apply to the scheme are reported as n/a, never as passed.
    """
    report = asyncio.run(
        run_conformance(
            url,
            scheme_name,
            secret_value(secret),
            options=parse_options(options),
            side_effect_url=side_effect_url,
            fixtures=fixtures_dir,
            max_body_bytes=max_body_bytes,
            request_timeout=timeout,
            settle_seconds=settle,
            checks=checks or None,
        )
    )
    if as_json:
        click.echo(report.to_json())
    else:
        render(report, _console())
    ctx.exit(0 if report.ok else 1)
