"""The dashboard's routes, mounted by the admin app: ``GET /`` → ``/ui/``, pages under
``/ui``, the package's static files under ``/ui/static``."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hookyard.api.guard import GuardPolicy
from hookyard.asgi import ASGIApp
from hookyard.dashboard.access import access_routes
from hookyard.dashboard.auth import PREFIX, Gate, Visit
from hookyard.dashboard.deadletters import dead_letter_routes
from hookyard.dashboard.destinations import destination_routes
from hookyard.dashboard.events import event_routes
from hookyard.dashboard.live import live_routes
from hookyard.dashboard.mirrors import mirror_routes
from hookyard.dashboard.overview import overview_routes
from hookyard.dashboard.render import Templates
from hookyard.dashboard.replays import replay_routes
from hookyard.dashboard.session import SessionKeys
from hookyard.replay.batches import ReplayManager
from hookyard.store.base import Store

if TYPE_CHECKING:
    from hookyard.config import SourceConfig
    from hookyard.mirror.settings import Mirror


@dataclass(frozen=True)
class DashboardServices:
    """What the pages read and run: the same objects the API is given."""

    store: Store
    replays: ReplayManager
    sources: Mapping[str, SourceConfig] = field(default_factory=dict)
    mirrors: Mapping[str, Mirror] = field(default_factory=dict)
    #: The configured destination names, in config order (the Destinations page).
    destinations: Collection[str] = ()
    #: The live event stream's endpoint (the Events page's live tail), None to poll only.
    stream: ASGIApp | None = None


def dashboard_routes(
    services: DashboardServices,
    *,
    admin_token: str | None,
    guard: GuardPolicy,
    more_tokens: Sequence[str] = (),
) -> list[BaseRoute]:
    templates = Templates()
    gate = Gate(SessionKeys(admin_token, more_tokens=more_tokens), guard, templates)

    async def unknown(visit: Visit) -> Response:
        detail = "There is no dashboard page here."
        context = visit.context(title="Not found", detail=detail)
        return templates.render("refused.html", context, status=404)

    async def to_ui(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    pages: list[BaseRoute] = [
        *overview_routes(gate, services.store),
        *access_routes(gate),
        # Before the event pages, which would take "stream" for an event id.
        *live_routes(gate, services.stream),
        *event_routes(gate, services.store, services.sources),
        *replay_routes(gate, services.store, services.replays),
        *dead_letter_routes(gate, services.store),
        *mirror_routes(gate, services.store, services.mirrors),
        *destination_routes(gate, services.store, services.destinations),
        Mount("/static", StaticFiles(packages=[("hookyard.dashboard", "static")]), name="static"),
        # Last: any other path under /ui is a 404 page (after sign-in, so it reveals nothing).
        Route("/{rest:path}", gate.page(unknown), methods=["GET", "HEAD"]),
    ]
    return [
        Route("/", to_ui),
        Route(PREFIX, to_ui),
        Mount(PREFIX, routes=pages),
    ]
