"""``hookyard serve`` and ``hookyard migrate``."""

from __future__ import annotations

import asyncio
import logging

import click

from hookyard.api.guard import open_admin_refusal
from hookyard.cli.common import check_outbound, config_option, db_option, load, open_at_start
from hookyard.config import ServerConfig, literal_secret_warning
from hookyard.exceptions import ConfigError
from hookyard.logs import configure_logging, log_event
from hookyard.store import open_store

log = logging.getLogger("hookyard")


def check_admin_exposure(server: ServerConfig) -> None:
    """Refuse an open admin API off loopback; warn, on every start, that it is open."""
    if server.admin_token or server.admin_tokens:
        return
    refusal = open_admin_refusal(server.host, allow_open_admin=server.allow_open_admin)
    if refusal is not None:
        raise ConfigError(refusal)
    log_event(
        log,
        logging.WARNING,
        "server.admin_token is not set: /api is open to anyone who can reach this address",
        host=server.host,
        port=server.port,
    )


async def check_keys(server: ServerConfig) -> None:
    """Refuse, in one line, an ``encryption_key`` list that cannot read the stored events
    (starting the store checks it), before the server is up rather than in its lifespan."""
    store = open_store(server.database, keyring=server.keyring)
    await store.start()
    await store.close()


@click.command()
@config_option
@db_option
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@click.option(
    "--no-worker", is_flag=True, help="Ingest and API only; run `hookyard worker` elsewhere."
)
@click.option(
    "--no-mirror", is_flag=True, help="Leave the mirror lanes out; run `hookyard mirror` elsewhere."
)
def serve(
    config_path: str | None,
    database: str | None,
    host: str | None,
    port: int | None,
    no_worker: bool,
    no_mirror: bool,
) -> None:
    """Run ingest, the admin API and delivery workers in one process (and the mirror
    lanes, when configured, in a supervised child process)."""
    from hookyard.app import create_app
    from hookyard.server import listen_socket
    from hookyard.server import serve as run_server

    settings = load(config_path, database=database, host=host, port=port, handlers=True)
    if warning := literal_secret_warning(settings):
        click.echo(warning, err=True)
    configure_logging()
    # What refuses to start goes first, so a refusal is the one line printed.
    check_outbound(settings)
    open_at_start(settings.server.database)  # fail here, in one line, not in the server
    asyncio.run(check_keys(settings.server))
    check_admin_exposure(settings.server)  # last: it may warn, and a refusal prints alone
    # Bound before anything starts: a port in use is one line, not uvicorn's log and exit 1.
    sock = listen_socket(settings.server.host, settings.server.port)
    app = create_app(settings, with_workers=not no_worker)
    if settings.mirrors and not no_mirror and config_path is not None:
        from hookyard.mirror.process import MirrorChild

        app.services.append(MirrorChild(config_path, settings.server.database))
    if settings.mirrors:
        from hookyard.mirror.health import MirrorWatch

        watch = MirrorWatch(
            app.store,
            settings.mirrors,
            alerts=settings.alerts,
            policy=settings.server.net_policy,
            supervisor=app.supervisor,
        )
        app.services.append(watch)
    run_server(app, settings.server.host, settings.server.port, sock=sock)


@click.command()
@config_option
@db_option
def migrate(config_path: str | None, database: str | None) -> None:
    """Create or upgrade the database schema."""
    settings = load(config_path, database=database)
    applied = open_at_start(settings.server.database)
    if applied:
        click.echo(f"applied migrations {', '.join(map(str, applied))}")
    else:
        click.echo("schema is up to date")
