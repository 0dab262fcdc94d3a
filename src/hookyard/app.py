"""``create_app(settings)``: the ASGI application that ``hookyard serve`` runs.

``/in/...`` goes straight to the raw ingest app; everything else to the admin app.
The lifespan starts the store and any background services (delivery workers), and
on shutdown stops the services, then drains the store's writer: whatever ingest
acknowledged is committed before the process exits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from hookyard.api.app import create_admin_app
from hookyard.api.guard import GuardPolicy
from hookyard.asgi import Receive, Scope, Send
from hookyard.config import Settings
from hookyard.ingest.app import IngestApp, Router, no_routes
from hookyard.replay.batches import ReplayManager
from hookyard.store import Store, open_store

log = logging.getLogger("hookyard")


class Service(Protocol):
    """A background task tied to the app's lifetime."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class HookyardApp:
    def __init__(self, settings: Settings, store: Store, *, router: Router = no_routes) -> None:
        self.settings = settings
        self.store = store
        #: Replays started through the API run here; stopping it marks them cancelled.
        self.replays = ReplayManager(store, settings.destinations, settings.server.net_policy)
        self.services: list[Service] = [self.replays]
        self.on_started: list[Callable[[], Awaitable[None] | None]] = []
        self.ingest = IngestApp(
            settings.sources, store, router=router, access_log=settings.server.access_log
        )
        self.admin = create_admin_app(
            store,
            admin_token=settings.server.admin_token,
            replays=self.replays,
            sources=settings.sources,
            guard=GuardPolicy.for_server(
                settings.server.host, settings.server.allowed_hosts, settings.server.allowed_origins
            ),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and scope["path"].startswith("/in/"):
            await self.ingest(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.admin(scope, receive, send)

    def begin_shutdown(self) -> None:
        """The server is stopping: end the live streams now, so that their connections do
        not hold the graceful shutdown (called from the signal handler)."""
        self.admin.state.event_feed.close()

    async def startup(self) -> None:
        await self.store.start()
        for service in self.services:
            await service.start()

    async def shutdown(self) -> None:
        self.begin_shutdown()
        for service in reversed(self.services):
            await service.stop()
        await self.store.close()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    raise
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(
    settings: Settings, store: Store | None = None, *, with_workers: bool = True
) -> HookyardApp:
    from hookyard.delivery.routing import make_router
    from hookyard.delivery.worker import DeliveryService

    store = store or open_store(settings.server.database, queue_size=settings.server.queue_size)
    app = HookyardApp(settings, store, router=make_router(settings.destinations.values()))
    if with_workers and settings.destinations:
        service = DeliveryService(
            store,
            settings.destinations,
            alerts=settings.alerts,
            policy=settings.server.net_policy,
        )
        app.services.append(service)
    return app
