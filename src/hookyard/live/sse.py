"""Server-sent events (the WHATWG ``text/event-stream`` format): writing and reading it.

Pure: bytes in, messages out, and back. The writer never lets a field hold a line break
(each data line is its own ``data:`` field); the reader follows the specification's
rules (a leading space after the colon is dropped, a comment line starts with ``:``, a
blank line ends a message, ``id`` with a NUL is ignored).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Message:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


def encode(message: Message) -> bytes:
    lines = []
    if message.retry is not None:
        lines.append(f"retry: {message.retry}")
    if message.id is not None:
        lines.append(f"id: {_one_line(message.id)}")
    if message.event != "message":
        lines.append(f"event: {_one_line(message.event)}")
    lines.extend(f"data: {line}" for line in message.data.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str) -> bytes:
    """A comment: clients ignore it; it keeps idle connections (and proxies) open."""
    return f": {_one_line(text)}\n\n".encode()


def _one_line(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValueError("an SSE field cannot hold a line break")
    return text


class Decoder:
    """Feed it chunks as they arrive; it returns the messages they complete."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        #: The id of the last message with one (the stream's ``Last-Event-ID``).
        self.last_id: str | None = None
        #: Whether anything arrived since the last look (heartbeats included).
        self.heard = False

    def feed(self, chunk: bytes) -> list[Message]:
        self.heard = self.heard or bool(chunk)
        self._buffer += chunk
        messages: list[Message] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return messages
            end, after = cut
            line = self._buffer[:end].decode("utf-8", "replace")
            self._buffer = self._buffer[after:]
            message = self._line(line)
            if message is not None:
                messages.append(message)

    def _line(self, line: str) -> Message | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> Message | None:
        if self._id is not None:
            self.last_id = self._id
        if not self._data and self._retry is None:
            self._event, self._id = "", None
            return None
        message = Message(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._id,
            retry=self._retry,
        )
        self._event, self._data, self._id, self._retry = "", [], None, None
        return message


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Where the first line ends (CRLF, LF or a lone CR) and the next begins."""
    lf = buffer.find(b"\n")
    cr = buffer.find(b"\r")
    if cr == -1 and lf == -1:
        return None
    if cr != -1 and (lf == -1 or cr < lf):
        if cr + 1 == len(buffer):
            return None  # a CR at the end may be the first half of CRLF
        return cr, cr + 2 if buffer[cr + 1 : cr + 2] == b"\n" else cr + 1
    return lf, lf + 1
