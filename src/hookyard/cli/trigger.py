"""``hookyard trigger SCHEME EVENT --to URL --secret S``: send a realistic signed sample of a
provider's event to any URL (a local handler, a hookyard source), signed now."""

from __future__ import annotations

import json
import sys
import time

import click
import httpx

from hookyard.exceptions import HookyardError, SchemeError, UsageError
from hookyard.live.samples import choose, fill, shipped
from hookyard.live.targets import headers_from_flag
from hookyard.secrets import resolve_secret
from hookyard.signatures.registry import create_scheme
from hookyard.testing.corpus import load_corpus
from hookyard.urls import mask_url

EXCERPT_SHOWN = 200


class SendFailed(HookyardError):
    exit_code = 1


@click.command()
@click.argument("scheme")
@click.argument("event", required=False)
@click.option("--to", "to_url", default=None, help="Where to send it: http(s)://...")
@click.option("--secret", default=None, help="Signing secret: a literal, env:NAME or file:PATH.")
@click.option(
    "--corpus", default=None, help="A directory `hookyard export` wrote, not the samples."
)
@click.option("--header", "header_flags", multiple=True, help="'Name: value' to add; repeatable.")
@click.option("--list", "list_only", is_flag=True, help="List the events there are, send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def trigger(
    scheme: str,
    event: str | None,
    to_url: str | None,
    secret: str | None,
    corpus: str | None,
    header_flags: tuple[str, ...],
    list_only: bool,
    as_json: bool,
) -> None:
    """Send a signed sample event of SCHEME (e.g. stripe invoice.paid) to --to."""
    cases = shipped(scheme) if corpus is None else load_corpus(corpus)
    where = f"the {scheme} samples" if corpus is None else f"corpus {corpus}"
    if list_only or event is None:
        for case in cases:
            click.echo(case.event_type or case.name)
        if event is None and not list_only:
            click.echo("(give one of these as EVENT, and --to URL)", err=True)
        return
    if to_url is None:
        raise UsageError("--to: required (the URL to send the event to)")
    if not to_url.startswith(("http://", "https://")):
        raise UsageError(f"--to: must be an http(s) URL, got {mask_url(to_url)!r}")
    if secret is None and scheme != "none":
        raise UsageError(f"--secret: required to sign for {scheme} (the receiver's secret)")
    try:
        resolved = resolve_secret(secret) if secret is not None else ""
    except ValueError as exc:
        raise UsageError(f"--secret: {exc}") from None
    case = choose(cases, event, where)
    if corpus is None:
        case = fill(case, scheme)
    try:
        create_scheme(scheme, {})
        signed = case.signed(scheme, resolved, url=to_url)
    except (SchemeError, ValueError) as exc:
        raise UsageError(f"--secret: cannot sign for {scheme}: {exc}") from None
    headers = [*signed.headers, *headers_from_flag(header_flags).items()]
    if case.content_type and not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", case.content_type))
    started = time.perf_counter()
    try:
        response = httpx.post(signed.url, content=signed.body, headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        raise SendFailed(
            f"cannot send to {mask_url(to_url)}: {exc or type(exc).__name__}"
        ) from None
    latency = (time.perf_counter() - started) * 1000
    ok = 200 <= response.status_code < 300
    excerpt = response.content[:EXCERPT_SHOWN].decode("utf-8", "replace")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "scheme": scheme,
                    "event": case.event_type or case.name,
                    "url": mask_url(to_url),
                    "status_code": response.status_code,
                    "latency_ms": round(latency, 3),
                    "response_excerpt": excerpt,
                }
            )
        )
    else:
        name = case.event_type or case.name
        line = f"{scheme} {name} -> {mask_url(to_url)}: HTTP {response.status_code}"
        line += f" in {latency:.0f} ms"
        if not ok:
            line += f"  {' '.join(excerpt.split())!r}"
        click.echo(line)
    sys.exit(0 if ok else 1)
