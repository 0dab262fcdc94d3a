"""``/ui/events/stream``: the live event stream of ``GET /api/events/stream`` behind the
dashboard's session instead of a bearer token (an ``EventSource`` cannot send one).

The Events page's live tail listens to it only as a wake-up: on an event it asks for the
first page's rows again (``/ui/events/rows``), so rows are rendered, escaped and masked
on the server as everywhere else; without ``EventSource`` it polls those rows instead.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from hookyard.asgi import ASGIApp, Receive, Scope, Send
from hookyard.dashboard.auth import Gate, Visit


class _Streamed(Response):
    """A response that is another ASGI app (the stream), run once the gate let it in."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__()
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def live_routes(gate: Gate, stream: ASGIApp | None) -> list[Route]:
    async def events_stream(visit: Visit) -> Response:
        if stream is None:
            detail = "The live stream is not served here; the live tail polls instead."
            return gate.refusal(404, "Not found", detail)
        return _Streamed(stream)

    return [Route("/events/stream", gate.page(events_stream))]
