"""``hookyard worker``: delivery workers only, for scaling out (PostgreSQL)."""

from __future__ import annotations

import asyncio
import signal

import click

from hookyard.cli.common import config_option, db_option, load
from hookyard.config import Settings
from hookyard.delivery.worker import DeliveryService
from hookyard.exceptions import UsageError
from hookyard.logs import configure_logging
from hookyard.store.base import open_store


async def run_workers(settings: Settings, concurrency: int) -> None:
    store = open_store(settings.server.database)
    await store.start()
    service = DeliveryService(
        store, settings.destinations, alerts=settings.alerts, concurrency=concurrency
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        print(
            f"hookyard worker {service.worker_id} delivering to "
            f"{', '.join(settings.destinations)} (database {settings.server.database})",
            flush=True,
        )
        await stop.wait()
    finally:
        await service.stop()
        await store.close()


@click.command()
@config_option
@db_option
@click.option("--concurrency", type=click.IntRange(1, 10_000), default=64, show_default=True,
              help="Deliveries in flight at once in this process.")
def worker(config_path: str | None, database: str | None, concurrency: int) -> None:
    """Run delivery workers only (many may run, on many machines, with PostgreSQL)."""
    settings = load(config_path, database=database)
    if not settings.destinations:
        raise UsageError("no [destinations] configured: nothing to deliver")
    configure_logging()
    asyncio.run(run_workers(settings, concurrency))
