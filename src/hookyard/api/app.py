"""The admin API (Starlette: not on the hot path, so a framework earns its keep here)."""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hookyard.admin_tokens import LEGACY_NAME, AdminToken
from hookyard.api.control import ACTOR_KEY, control_routes
from hookyard.api.guard import SAFE_METHODS, GuardPolicy, RequestGuard
from hookyard.api.inputs import path_id
from hookyard.api.inspect import inspect_routes
from hookyard.api.listeners import listener_routes
from hookyard.api.mirrors import mirror_routes
from hookyard.api.replays import replay_routes
from hookyard.api.serialize import dispatch_json, record_json, summary_json
from hookyard.api.stream import EventFeed, EventStreamEndpoint, StreamLimits
from hookyard.asgi import ASGIApp, Receive, Scope, Send
from hookyard.dashboard.app import DashboardServices, dashboard_routes
from hookyard.exceptions import UnreadablePayload
from hookyard.filtering import MAX_LIMIT, BadFilter, parse_dead_letter_filter, parse_filter
from hookyard.health import check_readiness
from hookyard.replay.batches import ReplayManager
from hookyard.store.base import Store
from hookyard.supervision import Supervisor

if TYPE_CHECKING:
    from hookyard.config import SourceConfig
    from hookyard.mirror.settings import Mirror


def error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


class TokenAuth:
    """Pure ASGI middleware: ``/api/...`` answers 401 unless the bearer token is one of
    the admin tokens, and 403 when a ``read`` token asks to change state.

    ``/healthz``, ``/readyz`` and ``/metrics`` stay open for probes and scrapers. Every
    token is compared, in constant time, whichever matches. The scheme word is
    case-insensitive (RFC 7235), the token is not. The matching token's name is left in
    the scope (``ACTOR_KEY``) for the audit trail. Without tokens, every request passes.
    """

    def __init__(
        self, app: ASGIApp, token: str | None = None, tokens: Sequence[AdminToken] = ()
    ) -> None:
        self.app = app
        if not tokens and token:
            tokens = (AdminToken(LEGACY_NAME, token, "operate"),)
        self.tokens = [(t.token.encode(), t) for t in tokens]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Like the BaseHTTPMiddleware it replaces: HTTP only (there are no websocket routes).
        if self.tokens and scope["type"] == "http" and scope["path"].startswith("/api"):
            given = Headers(scope=scope).get("authorization", "").encode("latin-1")
            found = None
            for expected, token in self.tokens:  # no early exit: time says nothing
                if _bearer_matches(given, expected):
                    found = token
            if found is None:
                await _unauthorized()(scope, receive, send)
                return
            if not found.may_change and scope["method"].upper() not in SAFE_METHODS:
                await _read_only(found)(scope, receive, send)
                return
            scope[ACTOR_KEY] = found.name
        await self.app(scope, receive, send)


def _bearer_matches(given: bytes, expected: bytes) -> bool:
    scheme, _, credentials = given.partition(b" ")
    # The scheme word is no secret; the token is compared in constant time.
    return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.lstrip(b" "), expected)


def _read_only(token: AdminToken) -> JSONResponse:
    return JSONResponse(
        {
            "error": "forbidden",
            "detail": f"token {token.name!r} has role read; this request changes state",
        },
        status_code=403,
    )


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "detail": "missing or wrong bearer token"},
        status_code=401,
        headers={"www-authenticate": "Bearer"},
    )


def create_admin_app(
    store: Store,
    *,
    admin_token: str | None,
    replays: ReplayManager | None = None,
    sources: Mapping[str, SourceConfig] | None = None,
    guard: GuardPolicy | None = None,
    mirrors: Mapping[str, Mirror] | None = None,
    supervisors: Sequence[Supervisor] = (),
    destinations: Collection[str] = (),
    admin_tokens: Sequence[AdminToken] = (),
    stream_limits: StreamLimits | None = None,
) -> Starlette:
    """``replays`` runs ``POST /api/replays``; without one, replays may only use ``url``.

    ``guard`` says which Host and Origin headers ``/api`` accepts; the default, only
    loopback names (see :mod:`hookyard.api.guard`). ``supervisors`` hold the background
    loops ``/readyz`` reports on, besides the store's own. ``stream_limits`` bound the
    live stream (``app.state.event_feed`` ends its streams when the server stops).
    """
    feed = EventFeed(store, stream_limits or StreamLimits())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "pending_writes": store.pending})

    async def readyz(request: Request) -> Response:
        readiness = await check_readiness(store, supervisors)
        return JSONResponse(readiness.body(), status_code=200 if readiness.ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def list_events(request: Request) -> Response:
        try:
            query = parse_filter(request.query_params, max_limit=MAX_LIMIT)
        except BadFilter as exc:
            return error(400, "bad_query", str(exc))
        events = await store.list_events(query)
        next_cursor = events[-1].id if len(events) == query.limit else None
        return JSONResponse(
            {"events": [summary_json(e) for e in events], "next_cursor": next_cursor}
        )

    async def get_event(request: Request) -> Response:
        event_id = path_id(request, "event_id")
        record = None if event_id is None else await store.get_event(event_id)
        if record is None:
            return error(404, "not_found", "no event with that id")
        return JSONResponse(record_json(record))

    async def get_body(request: Request) -> Response:
        event_id = path_id(request, "event_id")
        found = None if event_id is None else await store.get_body(event_id)
        if found is None:
            return error(404, "not_found", "no event with that id")
        body, content_type = found
        return Response(
            body,
            headers={
                "content-type": content_type or "application/octet-stream",
                "x-content-type-options": "nosniff",
                "content-security-policy": "sandbox",
            },
        )

    async def list_dlq(request: Request) -> Response:
        try:
            query = parse_dead_letter_filter(request.query_params, max_limit=MAX_LIMIT)
        except BadFilter as exc:
            return error(400, "bad_query", str(exc))
        dead = await store.list_dispatches(
            status="dead",
            destination=query.destination,
            since_us=query.since_us,
            until_us=query.until_us,
            cursor=query.cursor,
            limit=query.limit,
        )
        next_cursor = dead[-1].id if len(dead) == query.limit else None
        return JSONResponse(
            {"dispatches": [dispatch_json(d) for d in dead], "next_cursor": next_cursor}
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(404, "not_found", f"no route {request.url.path}")

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return error(405, "method_not_allowed", f"{request.method} is not allowed here")

    async def unreadable(request: Request, exc: Exception) -> Response:
        # The event exists but its stored bytes do not decrypt with the configured keys:
        # a state of the store the operator can fix, said plainly, never a 500.
        return error(409, "unreadable_payload", str(exc))

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/api/events", list_events),
        # Before /api/events/{event_id}, which would take "stream" for an id.
        Route("/api/events/stream", EventStreamEndpoint(feed)),
        Route("/api/events/{event_id}", get_event),
        Route("/api/events/{event_id}/body", get_body),
        Route("/api/dlq", list_dlq),
    ]
    replays = replays or ReplayManager(store, {})
    routes.extend(replay_routes(store, replays))
    routes.extend(inspect_routes(store, sources or {}))
    routes.extend(mirror_routes(store, mirrors or {}))
    routes.extend(control_routes(store, destinations))
    routes.extend(listener_routes(store))
    # The web dashboard (/ui, and / redirecting there): its own session auth, same services.
    routes.extend(
        dashboard_routes(
            DashboardServices(
                store,
                replays,
                sources or {},
                mirrors or {},
                destinations,
                stream=EventStreamEndpoint(feed),
            ),
            admin_token=admin_token,
            guard=guard or GuardPolicy(),
            # Named tokens sign in too, those that may change state (the pages have forms).
            more_tokens=[t.token for t in admin_tokens if t.may_change],
        )
    )
    app = Starlette(
        routes=routes,
        # The guard first: a rebinding or cross-site request is refused before any token check.
        middleware=[
            Middleware(RequestGuard, policy=guard or GuardPolicy()),
            Middleware(TokenAuth, token=admin_token, tokens=admin_tokens),
        ],
        exception_handlers={
            404: not_found,
            405: method_not_allowed,
            UnreadablePayload: unreadable,
        },
    )
    app.state.event_feed = feed
    return app
