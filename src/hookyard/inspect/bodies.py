"""Bodies prepared for a person: Content-Encoding undone, pretty-printed by content type.

Everything here runs on read; the stored bytes are never touched. Payloads are
attacker-controlled, so every expansion is capped (gzip bombs, huge bodies, deep
JSON), and XML is only pretty-printed when it declares no DOCTYPE, so no entity can
be expanded or fetched. Text in the results is already terminal-safe.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Literal, NoReturn
from urllib.parse import parse_qsl
from xml.dom import minidom
from xml.parsers import expat

from hookyard.inspect.exact_json import JsonObject, NotJson, children, dump_json, load_json
from hookyard.inspect.text import decode_text, media_type, safe_text
from hookyard.models import HeaderList, header_value

MAX_DECODED_BYTES = 16 * 1024 * 1024
"""Cap on a decompressed body: a 16 KiB gzip bomb can inflate to gigabytes."""

MAX_PRETTY_BYTES = 2 * 1024 * 1024
"""Bodies above this are previewed, not parsed: minidom and a terminal both choke first."""

HEX_PREVIEW_BYTES = 4096
"""How much of a binary body the hex dump shows by default."""

MAX_FORM_FIELDS = 1000


# ------------------------------------------------------------------ content-encoding


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """A body with its ``Content-Encoding`` removed, for display and comparison."""

    data: bytes
    notes: tuple[str, ...] = ()
    decoded: bool = False
    truncated: bool = False


_GZIP_WBITS = 16 + zlib.MAX_WBITS


def decode_content(
    headers: HeaderList, body: bytes, *, limit: int = MAX_DECODED_BYTES
) -> DecodedBody:
    """Undo gzip (or deflate) ``Content-Encoding``, never producing more than ``limit`` bytes.

    Anything that cannot be decoded comes back as the stored bytes with a note
    saying why, so the caller can always show *something*.
    """
    raw = header_value(headers, "content-encoding")
    if raw is None:
        return DecodedBody(body)
    declared = raw.decode("latin-1")
    codings = [c.strip().lower() for c in declared.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return DecodedBody(body)
    if any(c not in ("gzip", "x-gzip", "deflate") for c in codings):
        note = f"Content-Encoding {safe_text(declared)!r} is not decoded; showing stored bytes"
        return DecodedBody(body, (note,))
    data = body
    notes: list[str] = []
    truncated = False
    # Codings are listed in the order they were applied, so undo them backwards.
    for coding in reversed(codings):
        try:
            data, truncated, trailing = _inflate(data, coding, limit)
        except zlib.error as exc:
            note = f"Content-Encoding {coding} could not be decoded ({exc}); showing stored bytes"
            return DecodedBody(body, (note,))
        if trailing:
            notes.append(f"{trailing} bytes after the {coding} stream were ignored")
        if truncated:
            break
    summary = f"decoded from Content-Encoding {declared.strip()} ({len(body)} -> {len(data)} bytes)"
    notes.insert(0, safe_text(summary))
    if truncated:
        notes.append(f"decompressed output cut at {limit} bytes (decompression limit)")
    return DecodedBody(data, tuple(notes), decoded=True, truncated=truncated)


def _inflate(data: bytes, coding: str, limit: int) -> tuple[bytes, bool, int]:
    """(output, cut at limit, ignored trailing bytes). Raises ``zlib.error``."""
    if coding == "deflate":
        # "deflate" is meant to be zlib-wrapped, but many servers send raw deflate.
        try:
            return _inflate_members(data, zlib.MAX_WBITS, limit, many=False)
        except zlib.error:
            return _inflate_members(data, -zlib.MAX_WBITS, limit, many=False)
    return _inflate_members(data, _GZIP_WBITS, limit, many=True)


def _inflate_members(data: bytes, wbits: int, limit: int, *, many: bool) -> tuple[bytes, bool, int]:
    out = bytearray()
    rest = data
    first = True
    while rest:
        inflater = zlib.decompressobj(wbits)
        try:
            # max_length bounds the output of this call, which is what makes a
            # bomb harmless: we never hold more than limit + 1 bytes.
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error:
            if first:
                raise
            return bytes(out), False, len(rest)
        if len(out) > limit:
            return bytes(out[:limit]), True, 0
        if not inflater.eof:
            if first:
                raise zlib.error("compressed stream ends early")
            return bytes(out), False, len(rest)
        rest = inflater.unused_data
        first = False
        if not many:
            return bytes(out), False, len(rest)
    if first:
        raise zlib.error("empty body")
    return bytes(out), False, 0


# -------------------------------------------------------------------------- bodies

BodyKind = Literal["empty", "json", "form", "xml", "text", "binary"]


@dataclass(frozen=True, slots=True)
class PrettyBody:
    """A body prepared for display. ``text`` is already terminal-safe."""

    kind: BodyKind
    text: str
    size: int
    fields: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "text": self.text,
            "size": self.size,
            "fields": [list(pair) for pair in self.fields],
            "notes": list(self.notes),
        }


def _is_json_type(media: str) -> bool:
    return media in ("application/json", "text/json") or media.endswith("+json")


def _is_xml_type(media: str) -> bool:
    return media in ("application/xml", "text/xml") or media.endswith("+xml")


_SNIFFABLE = frozenset({"", "text/plain", "application/octet-stream"})


def pretty_body(
    body: bytes,
    content_type: str = "",
    headers: HeaderList = (),
    *,
    max_bytes: int = MAX_PRETTY_BYTES,
    hex_bytes: int = HEX_PREVIEW_BYTES,
) -> PrettyBody:
    """Pretty-print a body by content type: JSON, form, XML, text, or a hex dump.

    The declared type is tried first; a body that does not match it is shown as
    text or hex with a note. An undeclared, ``text/plain`` or octet-stream body
    that looks like JSON (AWS SNS sends JSON as text/plain) is shown as JSON.
    """
    decoded = decode_content(headers, body)
    data, notes = decoded.data, list(decoded.notes)
    media = media_type(content_type)
    if not data:
        return PrettyBody("empty", "", len(body), notes=tuple(notes))
    if len(data) > max_bytes:
        notes.append(f"body is {len(data)} bytes; showing the first {max_bytes} without parsing")
        return _fallback(data[:max_bytes], content_type, len(body), notes, hex_bytes, partial=True)

    stripped = data.lstrip()
    if _is_json_type(media) or (media in _SNIFFABLE and stripped[:1] in (b"{", b"[")):
        shown = _pretty_json(data, notes, declared=_is_json_type(media))
        if shown is not None:
            return PrettyBody("json", shown, len(body), notes=tuple(notes))
    elif media == "application/x-www-form-urlencoded":
        form = _pretty_form(data, content_type, notes)
        if form is not None:
            return PrettyBody("form", _form_text(form), len(body), fields=form, notes=tuple(notes))
    elif _is_xml_type(media) or (media in _SNIFFABLE and stripped[:5] == b"<?xml"):
        shown = _pretty_xml(data, notes)
        if shown is not None:
            return PrettyBody("xml", shown, len(body), notes=tuple(notes))
    return _fallback(data, content_type, len(body), notes, hex_bytes, partial=False)


def _fallback(
    data: bytes, content_type: str, size: int, notes: list[str], hex_bytes: int, *, partial: bool
) -> PrettyBody:
    text = decode_text(data, content_type)
    if text is None and partial:
        # A cut may split a multi-byte character; drop up to three trailing bytes.
        for cut in (1, 2, 3):
            text = decode_text(data[:-cut], content_type)
            if text is not None:
                break
    if text is not None:
        if "\r\n" in text:
            text = text.replace("\r\n", "\n")
            notes.append("CRLF line endings shown as LF")
        return PrettyBody("text", safe_text(text), size, notes=tuple(notes))
    if len(data) > hex_bytes:
        notes.append(f"binary body; hex dump of the first {hex_bytes} of {len(data)} bytes")
    return PrettyBody("binary", hex_dump(data[:hex_bytes]), size, notes=tuple(notes))


def _pretty_json(data: bytes, notes: list[str], *, declared: bool) -> str | None:
    try:
        loaded = load_json(data, keep_duplicates=True)
    except NotJson as exc:
        if declared:
            notes.append(f"declared JSON but {exc}")
        return None
    if _has_duplicate_keys(loaded.value):
        notes.append("an object repeats a key; every occurrence is shown")
    return safe_text(dump_json(loaded.value, indent=2))


def _has_duplicate_keys(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, JsonObject):
            keys = [key for key, _ in node.members]
            if len(set(keys)) != len(keys):
                return True
        stack.extend(children(node))
    return False


def _pretty_form(
    data: bytes, content_type: str, notes: list[str]
) -> tuple[tuple[str, str], ...] | None:
    text = decode_text(data, content_type)
    if text is None:
        notes.append("declared form-urlencoded but the body is not text")
        return None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        notes.append(f"more than {MAX_FORM_FIELDS} form fields; shown as text")
        return None
    return tuple((safe_text(k, multiline=False), safe_text(v)) for k, v in pairs)


def _form_text(fields: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"{key} = {value}" for key, value in fields)


class _XmlRefused(Exception):
    pass


def _refuse_doctype(*_: object) -> NoReturn:
    raise _XmlRefused("declares a DOCTYPE")


def _refuse_entity(*_: object) -> NoReturn:
    raise _XmlRefused("declares an entity")


def _xml_refusal(data: bytes) -> str | None:
    """Why ``data`` must not be handed to minidom, or ``None`` when it is safe.

    Without a DOCTYPE no entity can be declared, so there is nothing to expand
    (billion laughs) or fetch (XXE). Expat itself reports the DOCTYPE, whatever
    the document's encoding, so this cannot be fooled by UTF-16 or comments.
    """
    # Namespace-aware, like minidom's own parser, so both reject the same documents
    # (an unbound prefix is well-formed XML but not well-formed with namespaces).
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    try:
        parser.Parse(data, True)
    except _XmlRefused as exc:
        return f"{exc}; not pretty-printed (entities are never expanded)"
    except expat.ExpatError as exc:
        return f"not well-formed XML ({exc})"
    except (ValueError, LookupError) as exc:  # e.g. an unknown declared encoding
        return f"not readable XML ({exc})"
    return None


def _pretty_xml(data: bytes, notes: list[str]) -> str | None:
    refusal = _xml_refusal(data)
    if refusal is not None:
        notes.append(refusal)
        return None
    try:
        # Safe: _xml_refusal rejected every document with a DOCTYPE, so no entities exist.
        document = minidom.parseString(data)  # noqa: S318
    except (expat.ExpatError, ValueError, LookupError) as exc:
        notes.append(f"not readable XML ({exc})")
        return None
    pretty = document.toprettyxml(indent="  ")
    # toprettyxml re-indents existing whitespace nodes into blank lines; drop them.
    lines = [line for line in pretty.splitlines() if line.strip()]
    notes.append("re-indented for display")
    return safe_text("\n".join(lines))


def hex_dump(data: bytes, *, start: int = 0) -> str:
    """``hexdump -C`` style lines: offset, 16 bytes in hex, printable ASCII."""
    lines: list[str] = []
    for offset in range(0, len(data), 16):
        row = data[offset : offset + 16]
        left = " ".join(f"{b:02x}" for b in row[:8])
        right = " ".join(f"{b:02x}" for b in row[8:])
        ascii_ = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in row)
        lines.append(f"{start + offset:08x}  {left:<23}  {right:<23}  |{ascii_}|")
    return "\n".join(lines)
