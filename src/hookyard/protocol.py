"""The HTTP/1.1 connection: uvicorn's httptools protocol, keeping header case and bounded.

Header case: the ASGI spec lowercases header names. hookyard stores headers exactly as
they arrived, so the original names are recorded alongside, exposed to the app as
``scope["extensions"]["hookyard.raw_headers"]``.

Bounds (``hookyard.http_limits``), enforced while parsing, before the app sees a request:

- Head size. llhttp hands a header over only once it is complete, and httptools buffers
  its pieces until then, so ``on_header`` alone would see a 50 MB value only after
  holding it whole. The raw bytes of the head are therefore summed as they arrive (one
  addition per read) and the head is refused once the sum passes what could still fit;
  ``on_header`` then checks names + values and the count exactly (an addition and two
  comparisons per header).
- Time. One timer per connection, re-armed lazily: each phase (head, body) only sets a
  deadline, and the timer, when it fires, acts or re-arms for what is left; a request
  costs two ``loop.time()`` reads, not a timer made and cancelled per phase.
- Connections. Beyond ``max_connections`` a new connection is answered 503 at once.

A refusal writes its answer, half-closes, and discards whatever the client still sends
for a moment before closing: closing with unread input would reset the connection and
could destroy the answer before the client read it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from hookyard.http_limits import HttpLimits, Refusal, Refusals, refusals_for
from hookyard.ingest.capture import RAW_HEADERS_KEY
from hookyard.logs import log_event
from hookyard.metrics import count_refusal

log = logging.getLogger("hookyard.server")
#: How long a refused connection drains the client's input before it is closed.
LINGER_SECONDS = 1.0
_HEAD, _BODY, _IDLE = 0, 1, 2


class _Refused(Exception):
    """Raised in a parser callback to stop parsing; the refusal is already chosen."""


class RawHeaderProtocol(HttpToolsProtocol):
    limits: ClassVar[HttpLimits] = HttpLimits()
    refusals: ClassVar[Refusals] = refusals_for(limits)

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = self.limits
        self._max_header_bytes = limits.max_header_bytes
        self._max_headers = limits.max_headers
        self._head_allowance = limits.head_allowance
        self._phase = _HEAD
        self._head_bytes = 0  # raw bytes read while no head was complete
        self._header_bytes = 0
        self._header_count = 0
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._refusal: Refusal | None = None  # chosen in a parser callback
        self._lingering = False

    # Connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(self.refusals.too_many_connections)
            return
        self._enter(_HEAD, self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # drained and dropped: the answer is already on its way
        self._unset_keepalive_if_required()
        if self._phase != _BODY:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._phase = _IDLE  # another protocol takes the connection over
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(self._refusal)
                return
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)
            return
        if self._phase != _BODY and self._head_bytes > self._head_allowance:
            self._refuse(self.refusals.head_bytes)

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self.scope["extensions"] = {RAW_HEADERS_KEY: self._raw_headers}  # type: ignore[dict-item]
        self._header_bytes = self._header_count = 0
        if self._phase == _IDLE:  # a further request on a kept-alive connection
            self._enter(_HEAD, self.limits.header_timeout)

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's on_header inlined: this runs for every header of every request.
        count = self._header_count = self._header_count + 1
        size = self._header_bytes = self._header_bytes + len(name) + len(value)
        if size > self._max_header_bytes or count > self._max_headers:
            self._refusal = (
                self.refusals.header_bytes
                if size > self._max_header_bytes
                else self.refusals.too_many_headers
            )
            raise _Refused
        lower = name.lower()
        if lower == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((lower, value))
        self._raw_headers.append((bytes(name), bytes(value)))

    def on_headers_complete(self) -> None:
        self._head_bytes = 0
        self._enter(_BODY, self.limits.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._phase = _IDLE
        super().on_message_complete()

    # Deadlines

    def _enter(self, phase: int, seconds: float) -> None:
        self._phase = phase
        self._deadline = deadline = self.loop.time() + seconds
        timer = self._timer
        if timer is not None and timer.when() <= deadline:
            return  # it fires first and re-arms for what is left
        if timer is not None:
            timer.cancel()
        self._timer = self.loop.call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._timer = None
        if self._phase == _IDLE or self._lingering or self.transport.is_closing():
            return
        if self.loop.time() < self._deadline:
            self._timer = self.loop.call_at(self._deadline, self._on_deadline)
        elif self._phase == _HEAD:
            self._head_timed_out()
        else:
            self._body_timed_out()

    def _head_timed_out(self) -> None:
        if self._head_bytes == 0:  # not a byte of a request: nothing to answer
            count_refusal(self.refusals.header_timeout.reason)
            log_event(log, logging.INFO, "idle connection closed", client=self._peer())
            self.transport.close()
        else:
            self._refuse(self.refusals.header_timeout)

    def _body_timed_out(self) -> None:
        cycle = self.cycle
        if cycle is None or cycle.response_started or self.pipeline:
            self.transport.close()  # an answer is (or may be) under way: do not mix in another
            return
        # The app reads a disconnect, as if the client had gone, and its answer is dropped.
        cycle.disconnected = True
        cycle.message_event.set()
        self._refuse(self.refusals.body_timeout)

    # Refusing

    def _refuse(self, refusal: Refusal) -> None:
        count_refusal(refusal.reason)
        log_event(
            log,
            logging.WARNING,
            "request refused",
            reason=refusal.reason,
            status=refusal.status,
            client=self._peer(),
        )
        self._lingering = True
        self._refusal = None
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(refusal.response)
        if transport.can_write_eof():
            transport.write_eof()
        self.flow.resume_reading()
        self.loop.call_later(LINGER_SECONDS, self._close)

    def _close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def _peer(self) -> str | None:
        return f"{self.client[0]}:{self.client[1]}" if self.client else None


def protocol_class(limits: HttpLimits) -> type[RawHeaderProtocol]:
    """The protocol bound to ``limits`` (uvicorn makes one instance per connection)."""

    class BoundedProtocol(RawHeaderProtocol):
        pass

    BoundedProtocol.limits = limits
    BoundedProtocol.refusals = refusals_for(limits)
    return BoundedProtocol
