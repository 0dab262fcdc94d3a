"""Replay from the dashboard: choose a target, see the dry run, confirm; the batch page.

A replay is selected by ids (``?ids=A&ids=B``, from an event) or by the filter language
(``?status=dead&destination=app``, from a list or the dead letters), exactly as
``POST /api/replays`` takes them: the same plan, the same SSRF check, the same runner.
The preview is a GET (it changes nothing); only the confirm form, a POST with the CSRF
token, starts sending.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlencode

from starlette.datastructures import ImmutableMultiDict
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hookyard.dashboard.auth import Gate, Visit
from hookyard.dashboard.events import FORM_FILTERS
from hookyard.exceptions import UsageError
from hookyard.filtering import BadFilter, parse_page_filter, text_problem
from hookyard.replay.batches import ReplayManager, batch_json, preview_json
from hookyard.replay.runner import PREVIEW_COUNT, Replayer
from hookyard.store.base import ReplayBatches, ReplayStore

DISPATCHES_SHOWN = 50
BATCHES_PAGE = 50
Values = ImmutableMultiDict[str, str]


class BatchPagesStore(ReplayStore, ReplayBatches, Protocol):
    """What the replay pages read: events to replay, and the batches run."""


def selection(values: Values) -> dict[str, Any]:
    """The selection the values make: ``{"ids": [...]}`` or ``{"filter": {...}}`` (maybe empty)."""
    ids = [i.strip() for i in values.getlist("ids") if i.strip()]
    if ids:
        return {"ids": ids}
    return {"filter": {k: values[k].strip() for k in FORM_FILTERS if values.get(k, "").strip()}}


def payload(values: Values, *, dry_run: bool) -> dict[str, Any]:
    """A ``POST /api/replays`` body from the form (``to`` wins over an empty ``url``)."""
    body: dict[str, Any] = {**selection(values), "dry_run": dry_run}
    target = values.get("target", "")
    if target == "url" or (not target and values.get("url", "").strip()):
        body["url"] = values.get("url", "").strip()
    elif values.get("to", "").strip():
        body["to"] = values.get("to", "").strip()
    return body


def hidden_fields(values: Values) -> list[tuple[str, str]]:
    """The selection and target as hidden inputs of the confirm form."""
    chosen = selection(values)
    fields = [("ids", i) for i in chosen.get("ids", [])]
    fields += list(chosen.get("filter", {}).items())
    for key in ("target", "to", "url"):
        if values.get(key, "").strip():
            fields.append((key, values[key].strip()))
    return fields


def replay_routes(gate: Gate, store: BatchPagesStore, replays: ReplayManager) -> list[Route]:
    templates = gate.templates

    async def replay(visit: Visit) -> Response:
        request = visit.request
        values = request.query_params if request.method == "GET" else visit.form
        context = visit.context(
            destinations=sorted(replays.destinations),
            chosen=selection(values),
            to=values.get("to", ""),
            url=values.get("url", ""),
            target=values.get("target", "destination"),
            query=list(values.multi_items()),
            preview=None,
            problem=None,
            hidden=hidden_fields(values),
        )
        wants_preview = request.method == "GET" and values.get("preview") == "1"
        if request.method == "GET" and not wants_preview:
            return templates.render("replay.html", context)
        try:
            plan, _ = replays.plan(payload(values, dry_run=wants_preview))
            await replays.check(plan)
            if wants_preview:
                replayer = Replayer(store)
                ids = await replayer.select(plan)
                shown = await replayer.preview(ids, PREVIEW_COUNT)
                context["preview"] = {
                    "total": len(ids),
                    "target": plan.target.label,
                    "rows": [preview_json(p) for p in shown],
                }
                return templates.render("replay.html", context)
            batch = await replays.launch(plan)
        except UsageError as exc:
            context["problem"] = str(exc)
            return templates.render("replay.html", context, status=400)
        return RedirectResponse(f"/ui/replays/{batch.id}", status_code=303)

    async def batch_page(visit: Visit) -> Response:
        batch_id = visit.request.path_params["batch_id"]
        batch = None
        if batch_id.isascii() and batch_id.isalnum() and len(batch_id) <= 40:
            batch = await store.get_replay_batch(batch_id)
        if batch is None:
            return templates.render(
                "refused.html",
                visit.context(title="Not found", detail="no replay batch with that id"),
                status=404,
            )
        delivered = await store.replay_batch_dispatches(
            batch_id, status="delivered", limit=DISPATCHES_SHOWN
        )
        failed = await store.replay_batch_dispatches(
            batch_id, status="failed", limit=DISPATCHES_SHOWN
        )
        context = visit.context(batch=batch_json(batch, failed), dispatches=[*failed, *delivered])
        name = "batch_progress.html" if "hx-request" in visit.request.headers else "batch.html"
        return templates.render(name, context)

    async def batches_page(visit: Visit) -> Response:
        """Every batch newest first, a page at a time (what ``GET /api/replays`` lists)."""
        params = visit.request.query_params
        context = visit.context(batches=[], problem=None, next_link=None)
        try:
            for key in ("cursor", "limit"):
                problem = text_problem(params.get(key, ""))
                if problem is not None:
                    raise BadFilter(key, problem)
            query = parse_page_filter(
                {k: params.get(k) for k in ("cursor", "limit")}, default_limit=BATCHES_PAGE
            )
        except BadFilter as exc:
            context["problem"] = str(exc)
            return templates.render("batches.html", context, status=400)
        batches = await store.list_replay_batches(cursor=query.cursor, limit=query.limit)
        context["batches"] = [batch_json(b) for b in batches]
        if len(batches) == query.limit:
            more = {"cursor": batches[-1].id}
            if params.get("limit"):
                more["limit"] = str(query.limit)
            context["next_link"] = "/ui/replays?" + urlencode(more)
        return templates.render("batches.html", context)

    return [
        Route("/replay", gate.page(replay), methods=["GET", "POST"]),
        Route("/replays", gate.page(batches_page)),
        Route("/replays/{batch_id}", gate.page(batch_page)),
    ]
