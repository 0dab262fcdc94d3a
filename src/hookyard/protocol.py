"""The HTTP/1.1 connection: uvicorn's httptools protocol, keeping header case.

The ASGI spec lowercases header names. hookyard stores headers exactly as they
arrived, so ``RawHeaderProtocol`` records the original names alongside, exposed to
the app as ``scope["extensions"]["hookyard.raw_headers"]``.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hookyard.ingest.capture import RAW_HEADERS_KEY


class RawHeaderProtocol(HttpToolsProtocol):
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self.scope["extensions"] = {RAW_HEADERS_KEY: self._raw_headers}  # type: ignore[dict-item]

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._raw_headers.append((bytes(name), bytes(value)))
