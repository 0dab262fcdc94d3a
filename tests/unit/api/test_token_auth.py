"""``TokenAuth`` driven directly as ASGI: which paths it guards and what it answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookyard.api.app import TokenAuth
from hookyard.asgi import Message, Receive, Scope, Send

TOKEN = "s3cret-token"


class Behind:
    """The app behind the middleware: records that it was reached and answers 200."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(scope.get("path", scope["type"]))
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


def http_scope(path: str, authorization: str | None = None) -> Scope:
    headers = [(b"host", b"127.0.0.1")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode("latin-1")))
    return {"type": "http", "method": "GET", "path": path, "headers": headers}


async def call(app: TokenAuth, scope: Scope) -> tuple[int, dict[str, str], Any]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(body) if body != b"ok" else body


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer wrong",
        TOKEN,
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        f"Bearer{TOKEN}",
        f"Bearer {TOKEN.upper()}",  # the scheme word is case-insensitive, the token is not
        f"Bearers {TOKEN}",
    ],
)
async def test_api_without_the_exact_bearer_token_is_401(authorization: str | None) -> None:
    behind = Behind()
    status, headers, body = await call(
        TokenAuth(behind, token=TOKEN), http_scope("/api/events", authorization)
    )
    assert status == 401
    assert headers["www-authenticate"] == "Bearer"
    assert body == {"error": "unauthorized", "detail": "missing or wrong bearer token"}
    assert behind.paths == []


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
async def test_the_right_token_reaches_the_app_whatever_the_case_of_the_scheme(
    scheme: str,
) -> None:
    behind = Behind()
    auth = TokenAuth(behind, token=TOKEN)
    status, _, _ = await call(auth, http_scope("/api/events/x/body", f"{scheme} {TOKEN}"))
    assert (status, behind.paths) == (200, ["/api/events/x/body"])


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/nothing-here"])
async def test_paths_outside_the_api_stay_open(path: str) -> None:
    behind = Behind()
    status, _, _ = await call(TokenAuth(behind, token=TOKEN), http_scope(path))
    assert (status, behind.paths) == (200, [path])


async def test_without_a_token_everything_passes() -> None:
    behind = Behind()
    status, _, _ = await call(TokenAuth(behind, token=None), http_scope("/api/events"))
    assert (status, behind.paths) == (200, ["/api/events"])


async def test_lifespan_passes_through() -> None:
    behind = Behind()

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError("the middleware answered a lifespan scope")

    await TokenAuth(behind, token=TOKEN)({"type": "lifespan"}, receive, send)
    assert behind.paths == ["lifespan"]
