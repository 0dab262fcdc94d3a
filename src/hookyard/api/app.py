"""The admin API (Starlette: not on the hot path, so a framework earns its keep here)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hookyard.api.guard import GuardPolicy, RequestGuard
from hookyard.api.inputs import path_id
from hookyard.api.inspect import inspect_routes
from hookyard.api.mirrors import mirror_routes
from hookyard.api.replays import replay_routes
from hookyard.api.serialize import dispatch_json, record_json, summary_json
from hookyard.asgi import ASGIApp, Receive, Scope, Send
from hookyard.dashboard.app import DashboardServices, dashboard_routes
from hookyard.filtering import MAX_LIMIT, BadFilter, parse_dead_letter_filter, parse_filter
from hookyard.replay.batches import ReplayManager
from hookyard.store.base import Store

if TYPE_CHECKING:
    from hookyard.config import SourceConfig
    from hookyard.mirror.settings import Mirror


def error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


class TokenAuth:
    """Pure ASGI middleware: ``/api/...`` answers 401 unless the bearer token matches.

    ``/healthz`` and ``/metrics`` stay open for probes and scrapers. The comparison is
    constant-time. The scheme word is case-insensitive (RFC 7235), the token is not.
    Without a token configured, every request passes.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.expected = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        expected = self.expected
        # Like the BaseHTTPMiddleware it replaces: HTTP only (there are no websocket routes).
        if expected is not None and scope["type"] == "http" and scope["path"].startswith("/api"):
            given = Headers(scope=scope).get("authorization", "").encode("latin-1")
            if not _bearer_matches(given, expected):
                await _unauthorized()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _bearer_matches(given: bytes, expected: bytes) -> bool:
    scheme, _, credentials = given.partition(b" ")
    # The scheme word is no secret; the token is compared in constant time.
    return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.lstrip(b" "), expected)


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
) -> Starlette:
    """``replays`` runs ``POST /api/replays``; without one, replays may only use ``url``.

    ``guard`` says which Host and Origin headers ``/api`` accepts; the default, only
    loopback names (see :mod:`hookyard.api.guard`).
    """

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "pending_writes": store.pending})

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

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/api/events", list_events),
        Route("/api/events/{event_id}", get_event),
        Route("/api/events/{event_id}/body", get_body),
        Route("/api/dlq", list_dlq),
    ]
    replays = replays or ReplayManager(store, {})
    routes.extend(replay_routes(store, replays))
    routes.extend(inspect_routes(store, sources or {}))
    routes.extend(mirror_routes(store, mirrors or {}))
    # The web dashboard (/ui, and / redirecting there): its own session auth, same services.
    routes.extend(
        dashboard_routes(
            DashboardServices(store, replays, sources or {}, mirrors or {}),
            admin_token=admin_token,
            guard=guard or GuardPolicy(),
        )
    )
    return Starlette(
        routes=routes,
        # The guard first: a rebinding or cross-site request is refused before any token check.
        middleware=[
            Middleware(RequestGuard, policy=guard or GuardPolicy()),
            Middleware(TokenAuth, token=admin_token),
        ],
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
