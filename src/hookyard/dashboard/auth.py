"""Who may see and change what: each dashboard request goes through :func:`Gate.page`.

In order: the Host check of the API's guard (DNS rebinding), the session cookie
(:mod:`hookyard.dashboard.session`; a visitor without one gets an anonymous session),
a redirect to the login page while an admin token is configured and not given, and for
a state-changing request the Origin check and the CSRF token of the form. A refusal is
a small page with a deliberate status, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.datastructures import MultiDict
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hookyard.api.guard import SAFE_METHODS, GuardPolicy
from hookyard.clock import US_PER_SECOND, now_us
from hookyard.dashboard.forms import BadForm, read_form
from hookyard.dashboard.render import Templates
from hookyard.dashboard.session import COOKIE_NAME, MAX_AGE_SECONDS, Session, SessionKeys

PREFIX = "/ui"


@dataclass(frozen=True)
class Visit:
    """One request as a page handler sees it: the session, its CSRF token, the form."""

    request: Request
    session: Session
    csrf: str
    open: bool
    form: MultiDict

    def context(self, **values: object) -> dict[str, object]:
        """What every template gets, plus ``values``."""
        return {
            "csrf": self.csrf,
            "open": self.open,
            "signed_in": self.session.authenticated,
            "path": self.request.url.path,
            **values,
        }


Handler = Callable[[Visit], Awaitable[Response]]


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of the dashboard, never another site."""
    ours = bool(target) and str(target).startswith(PREFIX + "/")
    if ours and target is not None and "\\" not in target and target.isprintable():
        return target
    return PREFIX + "/"


class Gate:
    def __init__(self, keys: SessionKeys, guard: GuardPolicy, templates: Templates) -> None:
        self.keys = keys
        self.guard = guard
        self.templates = templates

    def refusal(self, status: int, title: str, detail: str) -> Response:
        return self.templates.render(
            "refused.html",
            {
                "title": title,
                "detail": detail,
                "open": self.keys.open,
                "signed_in": False,
                "csrf": "",
                "path": "",
            },
            status=status,
        )

    def set_cookie(self, response: Response, request: Request, cookie: str) -> None:
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=MAX_AGE_SECONDS,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def page(
        self, handler: Handler, *, sign_in: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` behind the gate; ``sign_in=False`` for the login page itself."""

        async def endpoint(request: Request) -> Response:
            host = request.headers.get("host")
            if host is not None and not self.guard.host_allowed(host):
                return self.refusal(
                    421,
                    "Misdirected request",
                    "This Host is not served here; add its name to [server] allowed_hosts.",
                )
            now_s = now_us() // US_PER_SECOND
            session = self.keys.read(request.cookies.get(COOKIE_NAME), now_s)
            cookie = None
            if session is None:
                session, cookie = self.keys.new(now_s, authenticated=self.keys.open)
            if sign_in and not session.authenticated:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response: Response = RedirectResponse(
                    f"{PREFIX}/login?next={quote(target, safe='/')}", status_code=303
                )
            elif request.method not in SAFE_METHODS:
                response = await self._changing(request, session, handler)
            else:
                response = await handler(
                    Visit(request, session, self.keys.csrf(session), self.keys.open, MultiDict())
                )
            if cookie is not None and COOKIE_NAME not in response.headers.get("set-cookie", ""):
                self.set_cookie(response, request, cookie)
            return response

        return endpoint

    async def _changing(self, request: Request, session: Session, handler: Handler) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and not self.guard.origin_allowed(
            origin, request.headers.get("host")
        ):
            return self.refusal(
                403, "Forbidden origin", "A page of another origin may not change state here."
            )
        try:
            form = await read_form(request)
        except BadForm as exc:
            return self.refusal(exc.status, "Bad form", str(exc))
        if not self.keys.csrf_matches(session, form.get("csrf")):
            return self.refusal(
                403,
                "Forbidden",
                "The form's CSRF token is missing or wrong: reload the page and try again.",
            )
        return await handler(Visit(request, session, self.keys.csrf(session), self.keys.open, form))
