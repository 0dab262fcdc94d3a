"""Running the app under uvicorn (uvloop + httptools).

The HTTP protocol (``hookyard.protocol``) keeps header case and enforces the
``[server]`` limits on header size, time and connections.
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
from types import FrameType
from typing import Any

import uvicorn

from hookyard.app import HookyardApp
from hookyard.asgi import ASGIApp
from hookyard.canary import NAME as CANARY_NAME
from hookyard.exceptions import StartError
from hookyard.http_limits import HttpLimits
from hookyard.protocol import protocol_class
from hookyard.urls import mask_url

GRACEFUL_SHUTDOWN_SECONDS = 10
#: An idle kept-alive connection is closed after this long (uvicorn's default, made explicit).
KEEP_ALIVE_SECONDS = 5


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, banner: bool) -> None:
        super().__init__(config)
        self.banner = banner

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        app = self.config.app
        if isinstance(app, HookyardApp):
            app.draining = True  # the listener closes before services stop
            app.note_draining(signal.Signals(sig).name)
        super().handle_exit(sig, frame)
        if isinstance(self.config.app, HookyardApp):
            self.config.app.begin_shutdown()  # live streams end now, not at the grace's end
        # uvicorn re-raises the signal after shutdown; a drained SIGTERM is a clean exit (0).
        if sig == signal.SIGTERM:
            self._captured_signals.remove(sig)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.banner:
            for server in self.servers:
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    app = self.config.app
                    if isinstance(app, HookyardApp):
                        print_banner(app, host, port)


def print_banner(app: HookyardApp, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    lines = [f"hookyard listening on {base} (database {mask_url(app.settings.server.database)})"]
    for name, source in app.settings.sources.items():
        if name == CANARY_NAME:
            continue  # hookyard's own: not for providers
        lines.append(f"  source {name!r} ({source.scheme_name}): POST {base}/in/{name}")
    if app.settings.sources:
        first = next(iter(app.settings.sources))
        lines.append(
            f"send a first webhook:  curl -i -X POST {base}/in/{first} "
            "-H 'content-type: application/json' -d '{\"type\": \"hello\"}'"
        )
    lines.append(f"then see it:           curl {base}/api/events")
    print("\n".join(lines), flush=True)
    sys.stdout.flush()


def server_config(
    app: ASGIApp, host: str, port: int, limits: HttpLimits | None = None
) -> uvicorn.Config:
    """The server settings hookyard runs with (also used by the ingest benchmark's baseline)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=protocol_class(limits or HttpLimits()),
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,  # the remote address is the peer; X-Forwarded-For is kept as a header
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        backlog=2048,
    )


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for uvicorn to listen on; a port in use or not
    permitted raises ``StartError`` (one line, exit 2)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError) as exc:
        raise StartError(f"cannot listen on {host}:{port}: {exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = (exc.strerror or str(exc)).lower()
        hint = (
            "; is another hookyard running? choose another with --port"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        raise StartError(f"cannot listen on {host}:{port}: {why}{hint}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    app: HookyardApp,
    host: str,
    port: int,
    *,
    banner: bool = True,
    sock: socket.socket | None = None,
) -> None:
    config = server_config(app, host, port, app.settings.server.limits)
    server = _Server(config, banner)
    server.run(sockets=[sock] if sock is not None else None)
