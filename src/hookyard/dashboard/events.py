"""The Events list, the Event page, its raw body and the Diff page.

The list reads the filter language (:mod:`hookyard.filtering`) from the query string,
so a bookmarked ``/ui/events?type=order.*&since=1h`` selects what
``hookyard events list --type 'order.*' --since 1h`` does; pages follow the same cursor
as ``GET /api/events``. Headers and URLs shown pass through
:mod:`hookyard.inspect.masking`; the raw download is the stored bytes, untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from hookyard.api.inspect import explanation_json
from hookyard.dashboard.auth import Gate, Visit
from hookyard.filtering import FILTER_NAMES, STATUSES, VERDICTS, BadFilter, parse_filter
from hookyard.inspect.bodies import pretty_body
from hookyard.inspect.diff import EventDiff, diff_events
from hookyard.inspect.explain import explain_event
from hookyard.inspect.masking import mask_headers, mask_query, mask_text_headers
from hookyard.inspect.stored import EventNotFound, fetch_event
from hookyard.models import EventFilter
from hookyard.store.base import EventReader

if TYPE_CHECKING:
    from hookyard.config import SourceConfig

#: The filters the form shows (``cursor`` travels in the pager links only).
FORM_FILTERS = tuple(name for name in FILTER_NAMES if name != "cursor")
PAGE_SIZE = 50
RAW_HEADERS = {
    "content-type": "application/octet-stream",
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox",
    "cache-control": "no-store",
}


def filter_values(params: Mapping[str, str]) -> dict[str, str]:
    """The filters given in a query string, as text, without empty ones."""
    return {name: params[name] for name in FORM_FILTERS if params.get(name, "").strip()}


def page_link(values: Mapping[str, str], cursor: str | None = None) -> str:
    query = dict(values)
    if cursor is not None:
        query["cursor"] = cursor
    return "/ui/events" + (f"?{urlencode(query)}" if query else "")


async def previous_of_type(store: EventReader, event_id: str, source: str, kind: str) -> str | None:
    """The newest event of the same source and type received before ``event_id``."""
    # Globs have no escape: a type with * or ? also matches others, so check each row found.
    found = await store.list_events(
        EventFilter(source=source, event_type=kind, cursor=event_id, limit=20)
    )
    return next((e.id for e in found if e.event_type == kind), None)


def event_routes(
    gate: Gate, store: EventReader, sources: Mapping[str, SourceConfig]
) -> list[Route]:
    templates = gate.templates

    def not_found(visit: Visit, detail: str) -> Response:
        return templates.render(
            "refused.html", visit.context(title="Not found", detail=detail), status=404
        )

    async def events(visit: Visit) -> Response:
        params = visit.request.query_params
        values = filter_values(params)
        context = visit.context(
            values={name: values.get(name, "") for name in FORM_FILTERS},
            filtered=bool(values),
            verdicts=VERDICTS,
            statuses=STATUSES,
            rows=[],
            problem=None,
            next_link=None,
            first_link=None,
            live=params.get("live") == "1" and "cursor" not in params,
            live_link=None if "cursor" in params else page_link({**values, "live": "1"}),
            still_link=page_link(values),
            replay_query=urlencode(values),
        )
        try:
            query = parse_filter(params, default_limit=PAGE_SIZE)
        except BadFilter as exc:
            context["problem"] = str(exc)
            return templates.render("events.html", context, status=400)
        rows = await store.list_events(query)
        context["rows"] = rows
        if len(rows) == query.limit:
            context["next_link"] = page_link(values, rows[-1].id)
        if query.cursor is not None:
            context["first_link"] = page_link(values)
        return templates.render("events.html", context)

    async def rows(visit: Visit) -> Response:
        """The first page's rows alone: what the live tail swaps in every few seconds."""
        try:
            query = parse_filter(visit.request.query_params, default_limit=PAGE_SIZE)
        except BadFilter as exc:
            return templates.render(
                "refused.html", visit.context(title="Bad filter", detail=str(exc)), status=400
            )
        found = await store.list_events(query)
        return templates.render("events_rows.html", visit.context(rows=found))

    async def event(visit: Visit) -> Response:
        event_id = visit.request.path_params["event_id"]
        try:
            found = await fetch_event(store, event_id)
        except EventNotFound as exc:
            return not_found(visit, str(exc))
        record, summary = found.record, found.record.summary
        explanation = explanation_json(
            explain_event(record, found.body, sources.get(summary.source))
        )
        previous = None
        if summary.event_type:
            previous = await previous_of_type(store, summary.id, summary.source, summary.event_type)
        dispatches = [
            {
                "record": d,
                "attempts": [
                    {
                        "record": a,
                        "headers": mask_text_headers(a.response_headers),
                        "excerpt": a.response_excerpt.decode("utf-8", "replace"),
                    }
                    for a in d.attempt_log
                ],
            }
            for d in record.dispatches
        ]
        return templates.render(
            "event.html",
            visit.context(
                event=summary,
                record=record,
                headers=mask_headers(record.headers),
                query=mask_query(record.query_string),
                body=pretty_body(found.body, summary.content_type, record.headers),
                explanation=explanation,
                previous=previous,
                dispatches=dispatches,
            ),
        )

    async def raw(visit: Visit) -> Response:
        try:
            found = await fetch_event(store, visit.request.path_params["event_id"])
        except EventNotFound as exc:
            return not_found(visit, str(exc))
        disposition = f'attachment; filename="{found.record.summary.id}.body"'
        return Response(found.body, headers={**RAW_HEADERS, "content-disposition": disposition})

    async def diff(visit: Visit) -> Response:
        params = visit.request.query_params
        picked = [p for p in params.getlist("pick") if p.strip()]
        a = params.get("a", "").strip() or (picked[1] if len(picked) == 2 else "")
        b = params.get("b", "").strip() or (picked[0] if len(picked) == 2 else "")
        context = visit.context(a=a, b=b, result=None, problem=None)
        if picked and len(picked) != 2:
            context["problem"] = "pick exactly two events to compare"
            return templates.render("diff.html", context, status=400)
        if not a and not b:
            return templates.render("diff.html", context)
        if not a or not b:
            context["problem"] = "give two event ids"
            return templates.render("diff.html", context, status=400)
        try:
            first, second = await fetch_event(store, a), await fetch_event(store, b)
        except EventNotFound as exc:
            context["problem"] = str(exc)
            return templates.render("diff.html", context, status=404)
        result: EventDiff = diff_events(first.side, second.side)
        context.update(result=result, first=first.record.summary, second=second.record.summary)
        return templates.render("diff.html", context)

    return [
        Route("/events", gate.page(events)),
        Route("/events/rows", gate.page(rows)),
        Route("/events/{event_id}", gate.page(event)),
        Route("/events/{event_id}/raw", gate.page(raw)),
        Route("/diff", gate.page(diff)),
    ]
