"""The login and logout pages."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hookyard.clock import US_PER_SECOND, now_us
from hookyard.dashboard.auth import PREFIX, Gate, Visit, safe_next


def access_routes(gate: Gate) -> list[Route]:
    keys = gate.keys

    async def login(visit: Visit) -> Response:
        request = visit.request
        if keys.open or (visit.session.authenticated and request.method == "GET"):
            return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        target = safe_next(visit.form.get("next") or request.query_params.get("next"))
        if request.method == "GET":
            return gate.templates.render("login.html", visit.context(next=target, wrong=False))
        if not keys.token_matches(visit.form.get("token", "")):
            return gate.templates.render(
                "login.html", visit.context(next=target, wrong=True), status=401
            )
        _, cookie = keys.new(now_us() // US_PER_SECOND, authenticated=True)
        response = RedirectResponse(target, status_code=303)
        gate.set_cookie(response, request, cookie)
        return response

    async def logout(visit: Visit) -> Response:
        _, cookie = keys.new(now_us() // US_PER_SECOND, authenticated=keys.open)
        response = RedirectResponse(f"{PREFIX}/login" if not keys.open else f"{PREFIX}/", 303)
        gate.set_cookie(response, visit.request, cookie)
        return response

    return [
        Route("/login", gate.page(login, sign_in=False), methods=["GET", "POST"]),
        Route("/logout", gate.page(logout), methods=["POST"]),
    ]
