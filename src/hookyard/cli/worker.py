"""``hookyard worker``: delivery workers only, for scaling out (PostgreSQL)."""

from __future__ import annotations

import asyncio
import signal

import click
import uvloop
from prometheus_client import start_http_server

from hookyard.cli.common import (
    check_outbound,
    config_option,
    db_option,
    load,
    open_at_start,
    store_session,
)
from hookyard.config import Settings, literal_secret_warning
from hookyard.delivery.worker import DeliveryService
from hookyard.exceptions import UsageError
from hookyard.logs import configure_logging
from hookyard.urls import mask_url


async def run_workers(
    settings: Settings,
    concurrency: int,
    lease_seconds: float | None,
    metrics_port: int | None = None,
) -> None:
    server = settings.server
    async with store_session(server.database, keyring=server.keyring) as store:
        service = DeliveryService(
            store,
            settings.destinations,
            alerts=settings.alerts,
            concurrency=concurrency,
            lease_seconds=lease_seconds or settings.server.lease_seconds,
            policy=settings.server.net_policy,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await service.start()
            if metrics_port is not None:
                serve_metrics(metrics_port)
            database = mask_url(settings.server.database)
            print(
                f"hookyard worker {service.worker_id} delivering to "
                f"{', '.join(settings.destinations)} (database {database})",
                flush=True,
            )
            await stop.wait()
        finally:
            await service.stop()


@click.command()
@config_option
@db_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 10_000),
    default=64,
    show_default=True,
    help="Deliveries in flight at once in this process.",
)
@click.option(
    "--lease-seconds",
    type=click.FloatRange(1, 86_400),
    default=None,
    help="How long a claim lasts unless this worker renews it (once a second); a stopped "
    "worker's claims go out again after it (default: [server] lease_seconds, else 10).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65_535),
    default=None,
    help="Serve /metrics on 127.0.0.1:PORT (attempts, latencies and loops of this worker).",
)
def worker(
    config_path: str | None,
    database: str | None,
    concurrency: int,
    lease_seconds: float | None,
    metrics_port: int | None,
) -> None:
    """Run delivery workers only (many may run, on many machines, with PostgreSQL)."""
    settings = load(config_path, database=database, handlers=True)
    if not settings.destinations:
        raise UsageError("no [destinations] configured: nothing to deliver")
    if warning := literal_secret_warning(settings):
        click.echo(warning, err=True)
    configure_logging()
    check_outbound(settings)
    open_at_start(settings.server.database)
    # uvloop, as under `serve`: the stdlib loop's socket writes were half the worker's CPU.
    uvloop.run(run_workers(settings, concurrency, lease_seconds, metrics_port))


def serve_metrics(port: int) -> None:
    """/metrics on loopback, in a thread of prometheus_client's (a worker has no server)."""
    try:
        start_http_server(port, addr="127.0.0.1")
    except OSError as exc:
        raise UsageError(f"--metrics-port {port}: cannot listen: {exc.strerror}") from None
