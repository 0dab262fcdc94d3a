"""The Destinations page: each destination's state, circuit, backlog and last outcomes
(what ``hookyard destinations list`` prints), and pause / resume / enable as forms that
run the same control functions as ``POST /api/destinations/{name}/{action}``, so each
change is in the audit trail under the dashboard's actor."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hookyard.control.destinations import ControlStore, change_destination, destination_views
from hookyard.control.policy import ACTIONS, Action
from hookyard.dashboard.auth import Gate, Visit
from hookyard.exceptions import Refused, UnknownName
from hookyard.filtering import text_problem

#: The audit trail's actor for a change made from the dashboard (a session carries no
#: token name: any token that may change state signs in).
DASHBOARD_ACTOR = "dashboard"


def destination_routes(gate: Gate, store: ControlStore, configured: Collection[str]) -> list[Route]:
    templates = gate.templates

    async def listing(visit: Visit) -> Response:
        params = visit.request.query_params
        context = visit.context(
            views=await destination_views(store, configured),
            changed=params.get("changed"),
            state=params.get("state"),
        )
        return templates.render("destinations.html", context)

    async def act(visit: Visit) -> Response:
        name = visit.request.path_params["name"]
        action = visit.request.path_params["action"]
        if action not in ACTIONS:
            return gate.refusal(404, "Not found", "There is no such destination action.")
        if not name or len(name) > 200 or text_problem(name) is not None:
            return gate.refusal(400, "Bad name", "a destination name must be plain text")
        chosen: Action = action
        try:
            change = await change_destination(
                store, name, chosen, actor=DASHBOARD_ACTOR, known=configured
            )
        except UnknownName as exc:
            return gate.refusal(404, "Not found", str(exc))
        except Refused as exc:
            return gate.refusal(409, "Refused", str(exc))
        query = urlencode({"changed": change.name, "state": change.after})
        return RedirectResponse(f"/ui/destinations?{query}", status_code=303)

    return [
        Route("/destinations", gate.page(listing)),
        Route("/destinations/{name}/{action}", gate.page(act), methods=["POST"]),
    ]
