"""``hookyard replay-corpus DIR --url URL --scheme S --secret X``: a corpus as a CI check.

Every fixture ``hookyard export`` wrote is signed afresh (a new message id and the
current time, so a receiver's dedup and time window treat it as a new delivery), posted
with its captured headers (minus the scheme's own and hop-by-hop ones) and its exact
body, and judged by the answer: any 2xx passes. Exit 0 when every fixture passed, 1 when
any did not (a non-2xx, or no answer at all), 2 for a usage error (no such directory,
a malformed fixture, an unknown scheme, a bad URL).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click
import httpx
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hookyard.cli.conformance import parse_options, secret_value
from hookyard.clock import elapsed_ms
from hookyard.exceptions import SchemeError, UsageError
from hookyard.inspect.text import safe_text
from hookyard.signatures.registry import create_scheme
from hookyard.testing.corpus import CorpusCase, load_corpus

EXCERPT_BYTES = 200


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    name: str
    event_type: str | None
    status: int | None
    latency_ms: float
    detail: str

    @property
    def passed(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "event_type": self.event_type,
            "status": self.status,
            "passed": self.passed,
            "latency_ms": self.latency_ms,
            "detail": self.detail,
        }


def check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UsageError(f"--url: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"--url must be an http:// or https:// URL, got {url!r}")
    return url


def post_case(
    client: httpx.Client,
    case: CorpusCase,
    url: str,
    scheme: str,
    secret: str,
    options: dict[str, str],
) -> CaseOutcome:
    request = case.signed(scheme, secret, url=url, options=options)
    started = time.perf_counter()
    try:
        response = client.post(request.url, content=request.body, headers=list(request.headers))
    except httpx.HTTPError as exc:
        elapsed = elapsed_ms(started)
        return CaseOutcome(
            case.name, case.event_type, None, round(elapsed, 1), f"{type(exc).__name__}: {exc}"
        )
    elapsed = elapsed_ms(started)
    excerpt = response.content[:EXCERPT_BYTES].decode("utf-8", "replace")
    return CaseOutcome(case.name, case.event_type, response.status_code, round(elapsed, 1), excerpt)


def replay_cases(
    cases: Sequence[CorpusCase],
    url: str,
    scheme: str,
    secret: str,
    options: dict[str, str],
    timeout: float,
) -> list[CaseOutcome]:
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        return [post_case(client, case, url, scheme, secret, options) for case in cases]


def render(outcomes: Sequence[CaseOutcome], url: str) -> Table:
    table = Table(title=f"corpus → {url}", title_justify="left")
    table.add_column("fixture", overflow="fold")
    table.add_column("type", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("answer", overflow="fold")
    for outcome in outcomes:
        table.add_row(
            Text(safe_text(outcome.name, multiline=False)),
            Text(safe_text(outcome.event_type or "", multiline=False)),
            "-" if outcome.status is None else str(outcome.status),
            f"{outcome.latency_ms:.1f}",
            Text("pass", style="green") if outcome.passed else Text("FAIL", style="bold red"),
            Text(safe_text(outcome.detail, multiline=False)),
        )
    return table


@click.command("replay-corpus")
@click.argument("directory")
@click.option("--url", required=True, help="Where to post each fixture, e.g. a dev build.")
@click.option("--scheme", "scheme_name", required=True, help="Sign with this scheme: stripe, …")
@click.option(
    "--secret", default="", help="The signing secret; also env:NAME or file:PATH (not echoed)."
)
@click.option("--option", "options", multiple=True, help="Scheme option key=value.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.option("--json", "as_json", is_flag=True, help="The results as JSON.")
@click.pass_context
def replay_corpus(
    ctx: click.Context,
    directory: str,
    url: str,
    scheme_name: str,
    secret: str,
    options: tuple[str, ...],
    timeout: float,
    as_json: bool,
) -> None:
    """Sign each fixture in DIRECTORY afresh and post it to URL; fail on any non-2xx.

    DIRECTORY holds NAME.body + NAME.json pairs, as `hookyard export` writes them.
    """
    check_url(url)
    parsed_options = parse_options(options)
    key = secret_value(secret)
    scheme = create_scheme(scheme_name, parsed_options)
    if scheme_name != "none":
        if not key:
            raise UsageError(f"scheme {scheme_name!r} needs --secret")
        try:
            scheme.check_secret(key)
        except SchemeError as exc:
            raise UsageError(f"--secret: {exc}") from None
    cases = load_corpus(directory)
    outcomes = replay_cases(cases, url, scheme_name, key, parsed_options, timeout)
    failed = sum(not outcome.passed for outcome in outcomes)
    if as_json:
        results = [outcome.as_dict() for outcome in outcomes]
        click.echo(
            json.dumps({"passed": len(outcomes) - failed, "failed": failed, "results": results})
        )
    else:
        out = Console(highlight=False)
        if not out.is_terminal:
            out = Console(highlight=False, width=200)
        out.print(render(outcomes, url))
        style = "bold red" if failed else "green"
        out.print(Text(f"{len(outcomes) - failed} passed, {failed} failed", style=style))
    ctx.exit(1 if failed else 0)
