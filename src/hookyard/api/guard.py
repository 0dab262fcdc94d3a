"""``RequestGuard``: which requests may reach ``/api`` at all, before any token check.

Three defences for an admin API that a browser can reach:

* **Host** (DNS rebinding): a page on ``evil.example`` whose name resolves to
  127.0.0.1 reaches the API with ``Host: evil.example``. Only loopback names, the
  address the server listens on and ``[server] allowed_hosts`` are served; any other
  Host is a 421. ``allowed_hosts = ["*"]`` turns the check off.
* **Origin** (CSRF): a state-changing request (anything but GET, HEAD, OPTIONS) that
  carries ``Origin`` must come from the API's own origin (the Origin's host and port
  equal the Host header) or one in ``[server] allowed_origins``; else 403.
* **Content type**: a state-changing request must be ``application/json`` (415
  otherwise). A cross-site page can send ``text/plain`` and form bodies without a
  CORS preflight; it cannot send JSON.

``/healthz`` and ``/metrics`` are not guarded: probes and scrapers send whatever Host
their platform uses. The policy is pure (:class:`GuardPolicy`); the middleware only
reads headers and answers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from hookyard.asgi import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANY_HOST = "*"
#: Addresses that mean "every interface": the server has no name of its own to add.
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names, not a bind
_SHOWN = 100


def host_name(host: str) -> str:
    """The name in a Host header or listen address: port, brackets and final dot dropped."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:  # name:port; a bare IPv6 address has several colons
        host = host.partition(":")[0]
    return host.rstrip(".")


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost`` (RFC 6761), 127.0.0.0/8 or ::1."""
    name = host_name(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def normalise_origin(origin: str) -> str:
    return origin.strip().lower().rstrip("/")


@dataclass(frozen=True)
class GuardPolicy:
    """Host names (lower-case, no port) and origins (``scheme://host[:port]``) accepted
    besides the loopback names and the request's own origin."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_origins: frozenset[str] = frozenset()

    @classmethod
    def for_server(
        cls,
        listen_host: str,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
    ) -> GuardPolicy:
        hosts = {host_name(h) if h != ANY_HOST else h for h in allowed_hosts}
        if host_name(listen_host) not in _WILDCARDS:
            hosts.add(host_name(listen_host))
        return cls(frozenset(hosts), frozenset(normalise_origin(o) for o in allowed_origins))

    def host_allowed(self, host: str) -> bool:
        if ANY_HOST in self.allowed_hosts or is_loopback_host(host):
            return True
        return host_name(host) in self.allowed_hosts

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        origin = normalise_origin(origin)
        if origin in self.allowed_origins:
            return True
        scheme, sep, authority = origin.partition("://")
        # "null" (sandboxed frames, file: pages) never matches; nor does a missing Host.
        return bool(sep) and scheme in ("http", "https") and authority == (host or "").lower()

    def refuse(self, method: str, headers: Headers) -> tuple[int, str, str] | None:
        """``(status, code, detail)`` for a request that must not reach the API, else None."""
        host = headers.get("host")
        # HTTP/1.0 may omit Host; a browser never does, so nothing to defend there.
        if host is not None and not self.host_allowed(host):
            return (
                421,
                "misdirected_request",
                f"Host {host[:_SHOWN]!r} is not served here; "
                "add its name to [server] allowed_hosts",
            )
        if method.upper() in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin, host):
            return (
                403,
                "forbidden_origin",
                f"Origin {origin[:_SHOWN]!r} may not change state here; "
                "add it to [server] allowed_origins",
            )
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            return 415, "unsupported_media_type", "send the body as Content-Type: application/json"
        return None


def open_admin_refusal(host: str, *, allow_open_admin: bool) -> str | None:
    """Why ``serve`` must not start with no admin token on ``host``, or None.

    Without a token anyone who reaches the port can read every stored request and
    start replays; on loopback that is the local user, on any other address the network.
    """
    if is_loopback_host(host) or allow_open_admin:
        return None
    return (
        f"server.host {host!r} is not a loopback address and server.admin_token is not set, "
        "so /api would be open to the network; set server.admin_token "
        "(or server.allow_open_admin = true to serve it open)"
    )


class RequestGuard:
    """Pure ASGI middleware applying :class:`GuardPolicy` to ``/api/...``."""

    def __init__(self, app: ASGIApp, policy: GuardPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api"):
            refused = self.policy.refuse(scope["method"], Headers(scope=scope))
            if refused is not None:
                status, code, detail = refused
                response = JSONResponse({"error": code, "detail": detail}, status_code=status)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
