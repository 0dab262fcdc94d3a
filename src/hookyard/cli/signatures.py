"""``hookyard verify`` and ``hookyard sign``: the signature schemes from the command line.

Both are thin over the scheme registry, so what they print is exactly what ingest
decides. Secrets go in, signatures come out; a secret is never echoed, not even in an
error. ``--secret`` takes the forms every other secret takes (a literal, ``env:NAME``,
``file:PATH``); a literal that itself starts with ``env:`` or ``file:`` goes in a file or
a variable. Exit codes for ``verify``: 0 valid (or unsigned), 1 invalid, 2 usage error.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import click

from hookyard.exceptions import UsageError
from hookyard.models import Verdict
from hookyard.secrets import resolve_secret
from hookyard.signatures.base import DEFAULT_TOLERANCE_SECONDS, Scheme, SignedMessage
from hookyard.signatures.registry import create_scheme

_MISSING_HEADER = "missing header "


def parse_header(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition(":")
    name = name.strip()
    if not sep or not name:
        raise UsageError(f"--header must look like 'Name: value', got {raw[:40]!r}")
    return name, value.strip()


def parse_options(raw: Sequence[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option must look like key=value, got {item[:40]!r}")
        options[key.strip()] = value
    return options


def read_body(path: str | None) -> bytes:
    """The raw body from a file or ``-`` (stdin); no file means an empty body."""
    if path is None:
        return b""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read body file {path}: {exc.strerror or exc}") from None


def secret_option(value: str) -> str:
    """``--secret`` resolved like every other secret; the problem names the flag, never
    the value."""
    try:
        return resolve_secret(value)
    except ValueError as exc:
        raise UsageError(f"--secret: {exc}") from None


def build_scheme(name: str, options: Sequence[str], url: str | None) -> Scheme:
    scheme = create_scheme(name, parse_options(options))
    if scheme.needs_url and not url:
        raise UsageError(f"scheme {name!r} signs the request URL; give --url")
    return scheme


def key_list(scheme_name: str, secrets: Sequence[str], public_keys: Sequence[str]) -> list[str]:
    """Secrets first, then public keys: ``secret_index`` counts through both in that order."""
    if scheme_name == "standard-webhooks":
        # A bare base64 key would otherwise be taken for a whsec_ HMAC secret.
        public_keys = [k if k.startswith("whpk_") else "whpk_" + k for k in public_keys]
    return [*secrets, *public_keys]


def describe(verdict: Verdict) -> list[str]:
    head = f"{verdict.status}: {verdict.reason}"
    if verdict.secret_index is not None:
        head += f" (key #{verdict.secret_index})"
    lines = [head]
    for label, value in (
        ("computed", verdict.computed),
        ("received", verdict.received),
        ("signed", verdict.signed_content),
        ("timestamp", verdict.timestamp),
    ):
        if value is not None:
            lines.append(f"  {label + ':':<11} {value}")
    return lines


def _tolerance(at: float | None, no_tolerance: bool, tolerance: int | None) -> int | None:
    if no_tolerance and (at is not None or tolerance is not None):
        raise UsageError("--no-tolerance cannot be combined with --at or --tolerance")
    if tolerance is not None and tolerance < 0:
        raise UsageError("--tolerance must be zero or more seconds")
    if no_tolerance:
        return None
    return DEFAULT_TOLERANCE_SECONDS if tolerance is None else tolerance


@click.command()
@click.option("--scheme", "scheme_name", required=True, help="Scheme name, e.g. stripe.")
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    help="A secret, env:NAME or file:PATH; repeat for rotation.",
)
@click.option("--public-key", "public_keys", multiple=True, help="A public key (whpk_…).")
@click.option("--header", "headers", multiple=True, help="A request header, 'Name: value'.")
@click.option("--url", default=None, help="The URL the request was sent to.")
@click.option("--body-file", default=None, help="File with the raw body, or - for stdin.")
@click.option("--at", type=float, default=None, help="Judge the window at this unix time.")
@click.option("--no-tolerance", is_flag=True, help="Skip the timestamp window.")
@click.option("--tolerance", type=int, default=None, help="Window in seconds (default 300).")
@click.option("--option", "options", multiple=True, help="Scheme option key=value.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.pass_context
def verify(
    ctx: click.Context,
    scheme_name: str,
    secrets: tuple[str, ...],
    public_keys: tuple[str, ...],
    headers: tuple[str, ...],
    url: str | None,
    body_file: str | None,
    at: float | None,
    no_tolerance: bool,
    tolerance: int | None,
    options: tuple[str, ...],
    as_json: bool,
) -> None:
    """Check a request's signature and explain the verdict."""
    window = _tolerance(at, no_tolerance, tolerance)
    scheme = build_scheme(scheme_name, options, url)
    keys = key_list(scheme_name, [secret_option(s) for s in secrets], public_keys)
    if not keys and scheme_name != "none":
        raise UsageError("give at least one --secret or --public-key")
    for key in keys:
        scheme.check_secret(key)  # a bad key is a usage error, before anything is judged
    message = SignedMessage.from_text_headers(
        [parse_header(h) for h in headers], read_body(body_file), url
    )
    now = time.time() if at is None else at
    verdict = scheme.verify(message, keys, now=now, tolerance=window)
    if verdict.status == "invalid" and verdict.reason.startswith(_MISSING_HEADER):
        name = verdict.reason.removeprefix(_MISSING_HEADER).split(" ")[0]
        raise UsageError(f"{verdict.reason}; pass it with --header '{name}: …'")
    event = {"event_id": scheme.event_id(message), "event_type": scheme.event_type(message)}
    if as_json:
        output: dict[str, Any] = {"scheme": scheme_name, **verdict.as_dict(), **event}
        click.echo(json.dumps(output, indent=2))
    else:
        lines = describe(verdict)
        lines += [f"  {k.replace('_', ' ') + ':':<11} {v}" for k, v in event.items() if v]
        click.echo("\n".join(lines))
    ctx.exit(1 if verdict.status == "invalid" else 0)


@click.command()
@click.option("--scheme", "scheme_name", required=True, help="Scheme name, e.g. stripe.")
@click.option(
    "--secret", required=True, help="The signing secret (whsk_… for v1a), env:NAME or file:PATH."
)
@click.option("--id", "msg_id", default=None, help="Message / delivery id to send.")
@click.option("--timestamp", type=int, default=None, help="Unix timestamp (default: now).")
@click.option("--url", default=None, help="The URL the request will be sent to.")
@click.option("--option", "options", multiple=True, help="Scheme option key=value.")
@click.option("--body-file", required=True, help="File with the raw body, or - for stdin.")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the headers to this file instead, for curl -H @FILE.",
)
def sign(
    scheme_name: str,
    secret: str,
    msg_id: str | None,
    timestamp: int | None,
    url: str | None,
    options: tuple[str, ...],
    body_file: str,
    output: str | None,
) -> None:
    """Print the headers a provider would send with this body, one 'Name: value' a line:
    the form curl reads with -H @FILE, e.g.

    \b
      hookyard sign --scheme stripe --secret whsec_x --body-file b.json -o h.txt
      curl http://127.0.0.1:8000/in/stripe -H @h.txt --data-binary @b.json
    """
    scheme = build_scheme(scheme_name, options, url)
    body = read_body(body_file)
    headers = scheme.sign(body, secret_option(secret), msg_id=msg_id, timestamp=timestamp, url=url)
    lines = "".join(f"{name}: {value}\n" for name, value in headers)
    if output is None:
        click.echo(lines, nl=False)
        return
    try:
        with open(output, "w", encoding="latin-1", newline="\n") as handle:
            handle.write(lines)
    except OSError as exc:
        raise UsageError(f"--output: cannot write {output}: {exc.strerror}") from None
