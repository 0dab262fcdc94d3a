"""The Mirrors page: each mirror's lane and its discrepancy report (what ``hookyard mirror
report`` prints and ``GET /api/mirrors/{name}/report`` answers), for a window in the query
string (``?since=1h``; a week by default, as the API)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response
from starlette.routing import Route

from hookyard.api.mirrors import DEFAULT_SINCE
from hookyard.dashboard.auth import Gate, Visit
from hookyard.filtering import text_problem
from hookyard.mirror.reporting import make_report
from hookyard.mirror.settings import Mirror
from hookyard.store.base import MirrorLog
from hookyard.timeparse import parse_time_us


def mirror_routes(gate: Gate, store: MirrorLog, mirrors: Mapping[str, Mirror]) -> list[Route]:
    async def page(visit: Visit) -> Response:
        since = visit.request.query_params.get("since", "").strip() or DEFAULT_SINCE
        context = visit.context(since=since, mirrors=[], problem=None)
        try:
            if text_problem(since) is not None:
                raise ValueError("must be plain text")
            since_us = parse_time_us(since)
        except ValueError as exc:
            context["problem"] = f"since: {exc}"
            return gate.templates.render("mirrors.html", context, status=400)
        shown = []
        for mirror in mirrors.values():
            report = await make_report(store, mirror, since_us, source=None, diff=False)
            shown.append(
                {"mirror": mirror, "lane": await store.mirror_lane(mirror.name), "report": report}
            )
        context["mirrors"] = shown
        return gate.templates.render("mirrors.html", context)

    return [Route("/mirrors", gate.page(page))]
