"""The HTTP/1.1 connection: uvicorn's httptools protocol, keeping header case, bounded.

Header case: the ASGI spec lowercases header names. hookyard stores headers exactly as
they arrived, so the original names are recorded alongside, exposed to the app as
``scope["extensions"]["hookyard.raw_headers"]``.

Head size (``hookyard.http_limits``), enforced while parsing, before the app sees a
request: llhttp hands a header over only once it is complete, and httptools buffers its
pieces until then, so ``on_header`` alone would see a 50 MB value only after holding it
whole. The raw bytes of the head are therefore summed as they arrive (one addition per
read) and the head is refused once the sum passes what could still fit; ``on_header``
then checks names + values and the count exactly (an addition and two comparisons per
header).

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
        self._in_head = True
        self._head_bytes = 0  # raw bytes read while no head was complete
        self._header_bytes = 0
        self._header_count = 0
        self._refusal: Refusal | None = None  # chosen in a parser callback
        self._lingering = False

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # drained and dropped: the answer is already on its way
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
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
        if self._in_head and self._head_bytes > self._head_allowance:
            self._refuse(self.refusals.head_bytes)

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self.scope["extensions"] = {RAW_HEADERS_KEY: self._raw_headers}  # type: ignore[dict-item]
        self._header_bytes = self._header_count = 0

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
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True  # what follows is the next request's head
        super().on_message_complete()

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
