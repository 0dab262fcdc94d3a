"""``GET /api/diff?a=ID&b=ID`` and ``GET /api/events/{id}/signature``.

The same services as ``hookyard events diff`` and ``hookyard events explain``, so the
API and the CLI give the same answer. Header values in a diff and credential query
parameters in a rebuilt URL are masked (:mod:`hookyard.inspect.masking`). Bad input is
a 400 ``{"error", "detail"}``, an unknown id a 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookyard.api.inputs import path_id
from hookyard.filtering import text_problem
from hookyard.inspect.explain import Explanation
from hookyard.inspect.masking import mask_url
from hookyard.inspect.stored import EventNotFound, diff_stored, explain_stored
from hookyard.store.base import EventReader

if TYPE_CHECKING:
    from hookyard.config import SourceConfig


def explanation_json(found: Explanation) -> dict[str, Any]:
    """``Explanation.to_dict`` with credential query parameters masked in the rebuilt URL."""
    data = found.to_dict()
    if found.url is not None:
        data["url"] = mask_url(found.url)
    return data


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def inspect_routes(store: EventReader, sources: Mapping[str, SourceConfig]) -> list[Route]:
    """``sources`` are the current ones: ``signature`` re-verifies with their secrets."""

    async def diff(request: Request) -> Response:
        a, b = request.query_params.get("a"), request.query_params.get("b")
        if not a or not b:
            return _error(400, "bad_query", "give two event ids: /api/diff?a=ID&b=ID")
        for name, value in (("a", a), ("b", b)):
            if (problem := text_problem(value)) is not None:
                return _error(400, "bad_query", f"{name}: {problem}")
        try:
            result = await diff_stored(store, a, b)
        except EventNotFound as exc:
            return _error(404, "not_found", str(exc))
        return JSONResponse(result.to_dict())

    async def signature(request: Request) -> Response:
        event_id = path_id(request, "event_id")
        if event_id is None:
            return _error(404, "not_found", "no event with that id")
        try:
            found = await explain_stored(store, event_id, sources)
        except EventNotFound as exc:
            return _error(404, "not_found", str(exc))
        return JSONResponse(explanation_json(found))

    return [
        Route("/api/diff", diff),
        Route("/api/events/{event_id}/signature", signature),
    ]
