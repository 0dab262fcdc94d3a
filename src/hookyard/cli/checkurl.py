"""``hookyard check-url URL``: would delivery connect there, and if not, which rule says no.

It resolves with the delivery path's own resolver and judges with the server's policy
(``[server] allow_networks`` from ``--config``), so what it prints is what a
destination, an API replay or an alert to ``URL`` would meet. Exit 0 when every
address is allowed, 1 when one is blocked, 2 when the URL is not http(s) or its host
does not resolve.
"""

from __future__ import annotations

import asyncio
import sys

import click

from hookyard.cli.common import config_option, load
from hookyard.delivery.guard import judge
from hookyard.exceptions import UsageError


@click.command("check-url")
@click.argument("url")
@config_option
def check_url(url: str, config_path: str | None) -> None:
    """Show each address URL resolves to as allowed or blocked by the SSRF guard."""
    policy = load(config_path).server.net_policy
    try:
        verdicts = asyncio.run(judge(url, policy))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{url}: the host does not resolve: {exc}") from None
    for address, blocked in verdicts:
        if blocked is None:
            click.echo(f"{address}  allowed")
        else:
            via = "" if blocked.via is None else f" ({blocked.via})"
            click.echo(f"{address}  blocked: {blocked.rule}{via}")
    sys.exit(1 if any(blocked is not None for _, blocked in verdicts) else 0)
