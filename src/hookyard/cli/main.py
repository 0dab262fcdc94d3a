"""Entry point: ``hookyard COMMAND``. User errors exit with their code and one line."""

from __future__ import annotations

import sys

import click

from hookyard import __version__
from hookyard.cli.audit import audit
from hookyard.cli.checkurl import check_url
from hookyard.cli.conformance import conformance
from hookyard.cli.corpus import replay_corpus
from hookyard.cli.destinations import destinations
from hookyard.cli.dlq import dlq
from hookyard.cli.events import events
from hookyard.cli.export import export
from hookyard.cli.keys import keys
from hookyard.cli.listen import listen, tail
from hookyard.cli.mirror import mirror
from hookyard.cli.purge import purge
from hookyard.cli.replay_batches import replay
from hookyard.cli.serve import migrate, serve
from hookyard.cli.signatures import sign, verify
from hookyard.cli.trigger import trigger
from hookyard.cli.worker import worker
from hookyard.exceptions import HookyardError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hookyard")
def cli() -> None:
    """hookyard: a self-hosted webhook gateway."""


for command in (
    audit,
    check_url,
    conformance,
    destinations,
    dlq,
    events,
    export,
    keys,
    migrate,
    mirror,
    purge,
    replay,
    replay_corpus,
    serve,
    sign,
    verify,
    worker,
    # live events (issue 19)
    listen,
    tail,
    trigger,
):
    cli.add_command(command)


def main() -> None:
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HookyardError as exc:
        click.echo(f"hookyard: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
