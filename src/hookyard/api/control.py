"""``/api/destinations`` (list, pause, resume, enable) and ``/api/audit`` (newest
first; ``action``, ``since``, ``cursor``, ``limit``).

A state-changing call is recorded in the audit trail under the caller's admin token
name (``hookyard.control.audit``). ``POST`` bodies are optional; like every
state-changing call they are sent as ``application/json`` (the request guard).
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookyard.api.inputs import path_id
from hookyard.control import audit
from hookyard.control.destinations import (
    ControlStore,
    change_destination,
    change_json,
    destination_views,
    view_json,
)
from hookyard.control.policy import ACTIONS, Action
from hookyard.exceptions import Refused, UnknownName
from hookyard.filtering import MAX_LIMIT, BadFilter, parse_page_filter

#: Where ``TokenAuth`` leaves the name of the token that let a request in.
ACTOR_KEY = "hookyard.actor"


def actor_of(request: Request) -> str:
    actor = request.scope.get(ACTOR_KEY)
    return actor if isinstance(actor, str) else audit.OPEN_API_ACTOR


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def control_routes(store: ControlStore, destinations: Collection[str]) -> list[Route]:
    async def list_destinations(request: Request) -> Response:
        views = await destination_views(store, destinations)
        return JSONResponse({"destinations": [view_json(v) for v in views]})

    async def act(request: Request) -> Response:
        name = path_id(request, "name")
        action = request.path_params["action"]
        if action not in ACTIONS:
            return _error(404, "not_found", f"no route {request.url.path}")
        if name is None:
            return _error(404, "not_found", "no destination with that name")
        chosen: Action = action
        try:
            change = await change_destination(
                store, name, chosen, actor=actor_of(request), known=destinations
            )
        except UnknownName as exc:
            return _error(404, "not_found", str(exc))
        except Refused as exc:
            return _error(409, "conflict", str(exc))
        return JSONResponse(change_json(change))

    async def list_audit(request: Request) -> Response:
        try:
            query = parse_page_filter(request.query_params, max_limit=MAX_LIMIT)
        except BadFilter as exc:
            return _error(400, "bad_query", str(exc))
        entries = await store.list_audit(
            action=query.action, since_us=query.since_us, cursor=query.cursor, limit=query.limit
        )
        next_cursor = entries[-1].id if len(entries) == query.limit else None
        return JSONResponse(
            {"entries": [audit.entry_json(e) for e in entries], "next_cursor": next_cursor}
        )

    return [
        Route("/api/audit", list_audit, methods=["GET"]),
        Route("/api/destinations", list_destinations, methods=["GET"]),
        Route("/api/destinations/{name}/{action}", act, methods=["POST"]),
    ]
