"""Entry point: ``hookyard COMMAND``. User errors exit with their code and one line."""

from __future__ import annotations

import sys

import click

from hookyard import __version__
from hookyard.cli.serve import migrate, serve
from hookyard.exceptions import HookyardError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hookyard")
def cli() -> None:
    """hookyard: a self-hosted webhook gateway."""


cli.add_command(serve)
cli.add_command(migrate)


OPTIONAL_COMMANDS = (
    ("hookyard.cli.signatures", "verify"),
    ("hookyard.cli.signatures", "sign"),
    ("hookyard.cli.worker", "worker"),
    ("hookyard.cli.dlq", "dlq"),
    ("hookyard.cli.events", "events"),
    ("hookyard.cli.replay", "replay"),
    ("hookyard.cli.replay", "replay_corpus"),
    ("hookyard.cli.export", "export"),
    ("hookyard.cli.conformance", "conformance"),
)


def _register_optional() -> None:
    """Command groups that live in their own modules."""
    import importlib

    for module_name, attr in OPTIONAL_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        cli.add_command(getattr(module, attr))


_register_optional()


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
