"""``GET /api/mirrors`` and ``GET /api/mirrors/{name}/report``: each mirror's lane and
where staging disagreed with production (the report ``hookyard mirror report`` prints)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookyard.mirror.reporting import make_report
from hookyard.mirror.settings import Mirror
from hookyard.store.base import MirrorLog
from hookyard.timeparse import iso_from_us, parse_time_us
from hookyard.urls import mask_url

DEFAULT_SINCE = "7d"


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def mirror_routes(store: MirrorLog, mirrors: Mapping[str, Mirror]) -> list[Route]:
    async def list_mirrors(request: Request) -> Response:
        listed = []
        for mirror in mirrors.values():
            lane = await store.mirror_lane(mirror.name)
            listed.append(
                {
                    "name": mirror.name,
                    "url": mask_url(mirror.url),
                    "sources": list(mirror.sources),
                    "sample_rate": mirror.sample_rate,
                    "compare_with": mirror.compare_with,
                    "dry_run": mirror.dry_run,
                    "lane": None
                    if lane is None
                    else {
                        "cursor": None if lane.cursor is None else lane.cursor.event_id,
                        "heartbeat": iso_from_us(lane.updated_us),
                        "lag_seconds": lane.lag_us / 1_000_000,
                        "counts": lane.counts,
                    },
                }
            )
        return JSONResponse({"mirrors": listed})

    async def report(request: Request) -> Response:
        mirror = mirrors.get(request.path_params["name"])
        if mirror is None:
            return _error(404, "not_found", "no mirror with that name")
        params = request.query_params
        try:
            since_us = parse_time_us(params.get("since", DEFAULT_SINCE))
        except ValueError as exc:
            return _error(400, "bad_query", f"since: {exc}")
        diff = params.get("diff", "false").lower()
        if diff not in ("true", "false", "1", "0"):
            return _error(400, "bad_query", "diff: must be true or false")
        found = await make_report(
            store, mirror, since_us, source=params.get("source"), diff=diff in ("true", "1")
        )
        return JSONResponse(found.as_dict())

    return [
        Route("/api/mirrors", list_mirrors),
        Route("/api/mirrors/{name}/report", report),
    ]
