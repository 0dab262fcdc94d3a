"""``POST /api/replays``, ``GET /api/replays`` (newest first, ``cursor``, ``limit``) and
``GET /api/replays/{id}``: replays run by the server.

A replay started here runs as a background task of the server process (see
``hookyard.replay``); the POST answers ``202 {"id": BATCH_ID}`` at once and the GET
reports progress. ``"dry_run": true`` answers ``200`` with the count and a preview,
records nothing and sends nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookyard.api.control import actor_of
from hookyard.api.inputs import BadBody, path_id, read_json
from hookyard.control import audit
from hookyard.exceptions import UsageError
from hookyard.filtering import MAX_LIMIT, BadFilter, parse_page_filter
from hookyard.replay.batches import ReplayManager, batch_json, preview_json
from hookyard.replay.runner import PREVIEW_COUNT, Replayer
from hookyard.store.base import AuditedReplayStore

FAILURES_SHOWN = 20


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def replay_routes(store: AuditedReplayStore, replays: ReplayManager) -> list[Route]:
    async def start_replay(request: Request) -> Response:
        try:
            payload = await read_json(request)
        except BadBody as exc:
            return _error(exc.status, "bad_request", str(exc))
        try:
            plan, dry_run = replays.plan(payload)
            await replays.check(plan)
            if dry_run:
                replayer = Replayer(store)
                ids = await replayer.select(plan)
                preview = await replayer.preview(ids, PREVIEW_COUNT)
                return JSONResponse(
                    {
                        "dry_run": True,
                        "total": len(ids),
                        "target": plan.target.label,
                        "filter": dict(plan.selection),
                        "preview": [preview_json(p) for p in preview],
                    }
                )
            batch = await replays.launch(plan)
        except UsageError as exc:
            return _error(400, "bad_request", str(exc))
        await audit.record(
            store,
            actor=actor_of(request),
            action="replay",
            target=batch.id,
            count=batch.total,
            detail={"to": batch.target, "filter": dict(plan.selection)},
        )
        return JSONResponse(
            {"id": batch.id, "status": batch.status, "total": batch.total, "target": batch.target},
            status_code=202,
            headers={"location": f"/api/replays/{batch.id}"},
        )

    async def get_replay(request: Request) -> Response:
        batch_id = path_id(request, "batch_id")
        batch = None if batch_id is None else await store.get_replay_batch(batch_id)
        if batch_id is None or batch is None:
            return _error(404, "not_found", "no replay batch with that id")
        failures = (
            await store.replay_batch_dispatches(batch_id, status="failed", limit=FAILURES_SHOWN)
            if batch.failed
            else []
        )
        return JSONResponse(batch_json(batch, failures))

    async def list_replays(request: Request) -> Response:
        try:
            query = parse_page_filter(request.query_params, max_limit=MAX_LIMIT)
        except BadFilter as exc:
            return _error(400, "bad_query", str(exc))
        batches = await store.list_replay_batches(cursor=query.cursor, limit=query.limit)
        next_cursor = batches[-1].id if len(batches) == query.limit else None
        return JSONResponse(
            {"batches": [batch_json(b) for b in batches], "next_cursor": next_cursor}
        )

    return [
        Route("/api/replays", list_replays, methods=["GET"]),
        Route("/api/replays", start_replay, methods=["POST"]),
        Route("/api/replays/{batch_id}", get_replay, methods=["GET"]),
    ]
