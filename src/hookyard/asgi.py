"""The ASGI types, named once: what ingest, the app, the server and the API pass around.

The same shapes as starlette's ``types``, kept here so the framework-free ingest path
does not import starlette to spell a type, and so every module names them alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
