"""``create_app(settings)``: the ASGI application that ``hookyard serve`` runs.

``/in/...`` goes straight to the raw ingest app; everything else to the admin app.
The lifespan starts the store and any background services (delivery workers), and
on shutdown stops the services, then drains the store's writer: whatever ingest
acknowledged is committed before the process exits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from hookyard.api.app import create_admin_app
from hookyard.api.guard import GuardPolicy
from hookyard.asgi import Receive, Scope, Send
from hookyard.config import Settings
from hookyard.ingest.app import IngestApp, Router, no_routes
from hookyard.logs import log_event
from hookyard.metrics import watch_store
from hookyard.replay.batches import ReplayManager
from hookyard.store import Store, open_store
from hookyard.supervision import Supervisor

if TYPE_CHECKING:
    from hookyard.delivery.worker import DeliveryService

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
        #: Background loops of this process (claims, sampling, canary): ``/readyz``.
        self.supervisor = Supervisor()
        #: Set when the server begins to shut down (its socket closes before services stop).
        self.draining = False
        self.on_started: list[Callable[[], Awaitable[None] | None]] = []
        self.ingest = IngestApp(
            settings.sources,
            store,
            router=router,
            access_log=settings.server.access_log,
            metrics=settings.server.metrics,
        )
        self.admin = create_admin_app(
            store,
            admin_token=settings.server.admin_token,
            replays=self.replays,
            sources=settings.sources,
            mirrors=settings.mirrors,
            guard=GuardPolicy.for_server(
                settings.server.host, settings.server.allowed_hosts, settings.server.allowed_origins
            ),
            supervisors=[self.supervisor],
            destinations=tuple(settings.destinations),
            admin_tokens=settings.server.admin_tokens,
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
        watch_store(lambda: self.store.pending, self.store.stalled_seconds)
        for service in self.services:
            await service.start()

    async def shutdown(self) -> None:
        if self._draining is None:  # shut down without a signal (tests, lifespan)
            self.note_draining(None)
        self.begin_shutdown()
        for service in reversed(self.services):
            await service.stop()
        await self.store.close()
        self._log_drained()

    # -- draining (one line when it starts, one when done) -------------------------------

    _draining: dict[str, int] | None = None
    _draining_since = 0.0

    def note_draining(self, signal_name: str | None) -> None:
        """Log what is left to finish, once, when shutdown begins (``serve`` on SIGTERM)."""
        if self._draining is not None:
            return
        self._draining_since = time.monotonic()
        self._draining = {
            "pending_writes": self.store.pending,
            "deliveries_in_flight": sum(w.in_flight for w in self._workers()),
            "replays_running": len(self.replays.running),
        }
        log_event(log, logging.INFO, "draining", signal=signal_name, **self._draining)

    def _log_drained(self) -> None:
        counts = self._draining or {}
        log_event(
            log,
            logging.INFO,
            "drained",
            writes_committed=counts.get("pending_writes", 0),
            deliveries_finished=counts.get("deliveries_in_flight", 0),
            leases_released=sum(w.released for w in self._workers()),
            replays_cancelled=counts.get("replays_running", 0),
            seconds=round(time.monotonic() - self._draining_since, 3),
        )

    def _workers(self) -> list[DeliveryService]:
        from hookyard.delivery.worker import DeliveryService

        return [s for s in self.services if isinstance(s, DeliveryService)]

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

    server = settings.server
    store = store or open_store(
        server.database, queue_size=server.queue_size, keyring=server.keyring
    )
    app = HookyardApp(settings, store, router=make_router(settings.destinations.values()))
    if with_workers and settings.destinations:
        service = DeliveryService(
            store,
            settings.destinations,
            alerts=settings.alerts,
            policy=settings.server.net_policy,
            supervisor=app.supervisor,
            lease_seconds=settings.server.lease_seconds,
        )
        app.services.append(service)
    # Retention and redaction: the background purge, when there is ever work for it.
    policy, redactions = settings.retention_policy, settings.field_redactions
    if policy.active or redactions:
        from hookyard.retention.service import RetentionService

        app.services.append(
            RetentionService(
                store, policy, interval=settings.server.purge_interval, redactions=redactions
            )
        )
    # -- operations: the backlog sampler (its gauges, and the [alerts] conditions; off
    # the hot path, so it runs whether or not `[server] metrics` is on)
    if settings.destinations:
        from hookyard.sampler import BacklogSampler

        app.services.append(
            BacklogSampler(
                store,
                list(settings.destinations),
                interval=settings.server.sample_interval,
                alerts=settings.alerts,
                policy=settings.server.net_policy,
                supervisor=app.supervisor,
            )
        )
    if settings.canary is not None:
        from hookyard.canary import Canary

        server = settings.server
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        url = settings.canary.url or f"http://{host}:{server.port}"
        canary = Canary(store, settings.canary, url, supervisor=app.supervisor)
        canary.draining = lambda: app.draining
        app.services.append(canary)
    return app
