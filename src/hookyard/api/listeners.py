"""The server's side of ``hookyard listen`` (issue 19): a session per run, results, cursors.

``POST /api/listeners/{name}`` starts a session: a replay batch (target ``local:NAME``,
options ``{"local": true}``) that the run's forwarded attempts are recorded in, and the
listener's durable cursor (the last event it forwarded, or null). ``POST
/api/listeners/{name}/results`` records attempts as replays of their originals and moves
the cursor, in one transaction; ``POST /api/listeners/{name}/finish`` ends the session.
``GET /api/listeners/{name}`` reads the cursor.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookyard.api.inputs import BadBody, read_json
from hookyard.clock import now_us
from hookyard.filtering import text_problem
from hookyard.ids import new_id
from hookyard.live.position import is_event_id
from hookyard.live.results import (
    MAX_RESULTS,
    local_destination,
    name_problem,
    result_from_json,
)
from hookyard.models import ReplayBatch
from hookyard.replay.plan import describe_url
from hookyard.store.base import ListenerLog, ReplayStore


class ListenerStore(ListenerLog, ReplayStore, Protocol):
    """What these routes need of the store."""


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


class _Bad(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def listener_routes(store: ListenerStore) -> list[Route]:
    async def start(request: Request) -> Response:
        try:
            name = _name(request)
            payload = await _object(request)
            forward_to = payload.get("forward_to")
            if forward_to is not None and (
                not isinstance(forward_to, str) or text_problem(forward_to)
            ):
                raise _Bad(400, "forward_to: must be a URL")
            selection = payload.get("filter", {})
            if not isinstance(selection, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in selection.items()
            ):
                raise _Bad(400, "filter: must be an object of text values")
        except _Bad as exc:
            return _error(exc.status, "bad_request", str(exc))
        created = now_us()
        batch = ReplayBatch(
            id=new_id(),
            created_us=created,
            selection={"listener": name, **selection},
            target=local_destination(name),
            total=0,
            status="running",
            updated_us=created,
            options={
                "local": True,
                "forward_to": describe_url(forward_to) if forward_to else None,
            },
        )
        await store.create_replay_batch(batch)
        cursor = await store.listener_cursor(name)
        return JSONResponse({"name": name, "cursor": cursor, "batch_id": batch.id}, 201)

    async def show(request: Request) -> Response:
        try:
            name = _name(request)
        except _Bad as exc:
            return _error(exc.status, "bad_request", str(exc))
        return JSONResponse({"name": name, "cursor": await store.listener_cursor(name)})

    async def results(request: Request) -> Response:
        try:
            name = _name(request)
            payload = await _object(request)
            batch_id = await _session(store, name, payload)
            raw = payload.get("results")
            if not isinstance(raw, list) or len(raw) > MAX_RESULTS:
                raise _Bad(400, f"results: must be a list of at most {MAX_RESULTS}")
            try:
                rows = [result_from_json(item, name) for item in raw]
            except ValueError as exc:
                raise _Bad(400, f"results: {exc}") from None
            cursor = payload.get("cursor")
            if cursor is not None and (not isinstance(cursor, str) or not is_event_id(cursor)):
                raise _Bad(400, "cursor: must be an event id")
            wanted = {r.event_id for r in rows}
            known = await store.known_event_ids(sorted(wanted))
            missing = sorted(wanted - known)
            if missing:
                raise _Bad(400, f"results: no event with id {missing[0]!r}")
        except _Bad as exc:
            return _error(exc.status, "bad_request", str(exc))
        await store.record_listener_results(name, batch_id, rows, cursor=cursor, now_us=now_us())
        return JSONResponse({"recorded": len(rows), "cursor": await store.listener_cursor(name)})

    async def finish(request: Request) -> Response:
        try:
            name = _name(request)
            batch_id = await _session(store, name, await _object(request))
        except _Bad as exc:
            return _error(exc.status, "bad_request", str(exc))
        await store.finish_replay_batch(batch_id, "done", now_us=now_us())
        return JSONResponse({"batch_id": batch_id, "status": "done"})

    # A name may hold slashes (the default one is the forward URL): ``path`` parameters,
    # the two with a suffix first.
    return [
        Route("/api/listeners/{name:path}/results", results, methods=["POST"]),
        Route("/api/listeners/{name:path}/finish", finish, methods=["POST"]),
        Route("/api/listeners/{name:path}", start, methods=["POST"]),
        Route("/api/listeners/{name:path}", show, methods=["GET"]),
    ]


def _name(request: Request) -> str:
    name: str = request.path_params["name"]
    problem = name_problem(name)
    if problem is not None:
        raise _Bad(400, f"name: {problem}")
    return name


async def _object(request: Request) -> dict[str, Any]:
    try:
        payload = await read_json(request)
    except BadBody as exc:
        raise _Bad(exc.status, str(exc)) from None
    if not isinstance(payload, dict):
        raise _Bad(400, "the body must be a JSON object")
    return payload


async def _session(store: ListenerStore, name: str, payload: dict[str, Any]) -> str:
    batch_id = payload.get("batch_id")
    if not isinstance(batch_id, str) or text_problem(batch_id):
        raise _Bad(400, "batch_id: required (from POST /api/listeners/NAME)")
    batch = await store.get_replay_batch(batch_id)
    if batch is None or batch.target != local_destination(name):
        raise _Bad(404, "no session of this listener with that batch_id")
    return batch_id
