"""``RequestGuard`` driven directly as ASGI: Host, Origin and Content-Type on ``/api``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookyard.api.guard import GuardPolicy, RequestGuard, is_loopback_host, open_admin_refusal
from hookyard.asgi import Message, Receive, Scope, Send

LOCAL = "127.0.0.1:8000"


class Behind:
    """The API behind the guard: records that it was reached and answers 200."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def scope(
    method: str = "GET",
    path: str = "/api/replays",
    *,
    host: str | None = LOCAL,
    origin: str | None = None,
    content_type: str | None = None,
) -> Scope:
    headers: list[tuple[bytes, bytes]] = []
    for name, value in (("host", host), ("origin", origin), ("content-type", content_type)):
        if value is not None:
            headers.append((name.encode(), value.encode("latin-1")))
    return {"type": "http", "method": method, "path": path, "headers": headers}


async def call(policy: GuardPolicy, request: Scope) -> tuple[int, Any, list[str]]:
    behind = Behind()
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await RequestGuard(behind, policy)(request, receive, send)
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], json.loads(body) if body != b"ok" else None, behind.paths


JSON = "application/json"


# ----------------------------------------------------------------------------- Host


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", LOCAL, "127.8.9.10:1", "localhost", "LOCALHOST:8000", "app.localhost",
     "[::1]:8000", "[::1]", "::1", "localhost."],
)  # fmt: skip
async def test_loopback_hosts_reach_the_api(host: str) -> None:
    status, _, paths = await call(GuardPolicy(), scope(host=host))
    assert (status, paths) == (200, ["/api/replays"])


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example",
     "10.0.0.5", "[fe80::1]:80", "0.0.0.0", ""],
)  # fmt: skip
async def test_a_foreign_host_is_421_before_anything_else(host: str) -> None:
    status, body, paths = await call(GuardPolicy(), scope("POST", host=host, content_type=JSON))
    assert status == 421 and paths == []
    assert body["error"] == "misdirected_request"
    assert "[server] allowed_hosts" in body["detail"]


async def test_configured_and_listening_hosts_are_served_any_case_any_port() -> None:
    policy = GuardPolicy.for_server("10.0.0.5", allowed_hosts=["Hooks.Example.com"])
    for host in ("hooks.example.com", "HOOKS.example.com:8443", "10.0.0.5:8000", "localhost"):
        assert (await call(policy, scope(host=host)))[0] == 200, host
    assert (await call(policy, scope(host="other.example.com")))[0] == 421


async def test_a_wildcard_listen_address_adds_no_name_and_star_allows_every_host() -> None:
    assert (await call(GuardPolicy.for_server("0.0.0.0"), scope(host="0.0.0.0:8000")))[0] == 421
    assert (await call(GuardPolicy.for_server("::"), scope(host="[::]:8000")))[0] == 421
    anything = GuardPolicy.for_server("0.0.0.0", allowed_hosts=["*"])
    assert (await call(anything, scope(host="whatever.example")))[0] == 200


async def test_a_request_without_host_passes() -> None:
    status, _, _ = await call(GuardPolicy(), scope(host=None))
    assert status == 200


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
async def test_probes_are_not_guarded(path: str) -> None:
    status, _, paths = await call(GuardPolicy(), scope("POST", path, host="10.1.2.3"))
    assert (status, paths) == (200, [path])


# --------------------------------------------------------------------------- Origin


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:8000", "https://127.0.0.1:8000", "HTTP://127.0.0.1:8000/"]
)
async def test_a_same_origin_post_passes(origin: str) -> None:
    status, _, _ = await call(GuardPolicy(), scope("POST", origin=origin, content_type=JSON))
    assert status == 200


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://127.0.0.1:9999", "http://127.0.0.1", "null", "",
     "file://127.0.0.1:8000", "127.0.0.1:8000"],
)  # fmt: skip
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_a_foreign_origin_may_not_change_state(origin: str, method: str) -> None:
    request = scope(method, origin=origin, content_type=JSON)
    status, body, paths = await call(GuardPolicy(), request)
    assert (status, paths) == (403, [])
    assert body["error"] == "forbidden_origin"
    assert "[server] allowed_origins" in body["detail"]


async def test_a_foreign_origin_may_read() -> None:
    # The browser will not let it see the answer (no CORS headers); rebinding is the
    # Host check's business.
    status, _, _ = await call(GuardPolicy(), scope("GET", origin="https://evil.example"))
    assert status == 200


async def test_allowed_origins_may_change_state() -> None:
    policy = GuardPolicy.for_server("127.0.0.1", allowed_origins=["https://Admin.Example.com/"])
    ok = scope("POST", origin="https://admin.example.com", content_type=JSON)
    assert (await call(policy, ok))[0] == 200
    other = scope("POST", origin="https://admin.example.com:8443", content_type=JSON)
    assert (await call(policy, other))[0] == 403


# --------------------------------------------------------------------- Content-Type


@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
     "multipart/form-data; boundary=x", "application/jsonx", "application/json-patch+json"],
)  # fmt: skip
async def test_state_changing_requests_must_be_json(content_type: str | None) -> None:
    status, body, paths = await call(GuardPolicy(), scope("POST", content_type=content_type))
    assert (status, paths) == (415, [])
    assert body == {
        "error": "unsupported_media_type",
        "detail": "send the body as Content-Type: application/json",
    }


@pytest.mark.parametrize(
    "content_type", [JSON, "application/json; charset=utf-8", "Application/JSON ; charset=UTF-8"]
)
async def test_json_in_any_spelling_passes(content_type: str) -> None:
    status, _, _ = await call(GuardPolicy(), scope("POST", content_type=content_type))
    assert status == 200


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
async def test_safe_methods_need_no_content_type(method: str) -> None:
    status, _, _ = await call(GuardPolicy(), scope(method))
    assert status == 200


# ------------------------------------------------------------------- start-up policy


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.255.0.1", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("", False), ("10.0.0.1", False),
     ("hooks.example.com", False), ("128.0.0.1", False)],
)  # fmt: skip
def test_which_listen_addresses_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
    refusal = open_admin_refusal(host, allow_open_admin=False)
    assert (refusal is None) is loopback
    if refusal is not None:
        assert "server.admin_token" in refusal and "server.allow_open_admin" in refusal
    assert open_admin_refusal(host, allow_open_admin=True) is None
