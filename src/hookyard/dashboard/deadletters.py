"""The dead letters: dead dispatches by destination and time, retried one by one or as a
filtered set (what ``hookyard dlq list|retry`` do), and a link to replay their events."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hookyard.clock import now_us
from hookyard.dashboard.auth import Gate, Visit
from hookyard.filtering import BadFilter, parse_dead_letter_filter, text_problem
from hookyard.store.base import Store

PAGE_SIZE = 50
RETRY_ALL_LIMIT = 100_000
FILTERS = ("destination", "since", "until")


def dead_letter_routes(gate: Gate, store: Store) -> list[Route]:
    templates = gate.templates

    async def listing(visit: Visit) -> Response:
        params = visit.request.query_params
        values = {k: params.get(k, "").strip() for k in FILTERS}
        given = {k: v for k, v in values.items() if v}
        context = visit.context(
            values=values,
            rows=[],
            problem=None,
            next_link=None,
            retried=params.get("retried"),
            replay_query=urlencode(
                {
                    "status": "dead",
                    **({"destination": given["destination"]} if "destination" in given else {}),
                }
            ),
            filtered=bool(given),
        )
        try:
            query = parse_dead_letter_filter(params, default_limit=PAGE_SIZE)
        except BadFilter as exc:
            context["problem"] = str(exc)
            return templates.render("deadletters.html", context, status=400)
        rows = await store.list_dispatches(
            status="dead",
            destination=query.destination,
            since_us=query.since_us,
            until_us=query.until_us,
            cursor=query.cursor,
            limit=query.limit,
        )
        context["rows"] = [(d, d.attempt_log[-1] if d.attempt_log else None) for d in rows]
        if len(rows) == query.limit:
            context["next_link"] = "/ui/dead-letters?" + urlencode({**given, "cursor": rows[-1].id})
        return templates.render("deadletters.html", context)

    async def retry(visit: Visit) -> Response:
        form = visit.form
        ids = [i for i in form.getlist("ids") if i.strip()]
        if any(text_problem(i) is not None for i in ids):
            return gate.refusal(400, "Bad id", "a dead letter id must be plain text")
        given = {k: form.get(k, "").strip() for k in FILTERS if form.get(k, "").strip()}
        back = {**given}
        if not ids:
            try:
                chosen = parse_dead_letter_filter(
                    given, default_limit=RETRY_ALL_LIMIT, max_limit=RETRY_ALL_LIMIT
                )
            except BadFilter as exc:
                return gate.refusal(400, "Bad filter", str(exc))
            if not chosen.chooses and form.get("all") != "1":
                return gate.refusal(
                    400, "Nothing chosen", "Pick dead letters, or retry all of a filter."
                )
            found = await store.list_dispatches(
                status="dead",
                destination=chosen.destination,
                since_us=chosen.since_us,
                until_us=chosen.until_us,
                limit=chosen.limit,
            )
            ids = [d.id for d in found]
        moved = await store.retry_dead(ids, now_us=now_us()) if ids else 0
        return RedirectResponse(
            "/ui/dead-letters?" + urlencode({**back, "retried": str(moved)}), status_code=303
        )

    return [
        Route("/dead-letters", gate.page(listing)),
        Route("/dead-letters/retry", gate.page(retry), methods=["POST"]),
    ]
