"""Showing a stored request to a person: pretty bodies, masked headers, safe text.

Everything here runs on read. The stored bytes are never touched; each function
takes bytes and returns a new value meant for a screen or an API response.

Payloads are attacker-controlled, so three rules hold throughout:

* text that reaches a terminal goes through :func:`safe_text` first (no escape
  sequences, no bidi overrides, no lone surrogates that would break UTF-8 output);
* every expansion is capped (gzip bombs, huge bodies, deep JSON);
* XML is only pretty-printed when it declares no DOCTYPE, so no entity can be
  expanded or fetched.

The JSON helpers (:func:`load_json`, :func:`dump_json`, :class:`JsonNumber`) live
here because diff and sanitize read JSON the same way: numbers kept as the literal
text that arrived, so 5,000-digit integers and ``10.10`` vs ``10.1`` survive.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NoReturn
from urllib.parse import parse_qsl
from xml.dom import minidom
from xml.parsers import expat

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from hookyard.models import HeaderList, header_value

MAX_DECODED_BYTES = 16 * 1024 * 1024
"""Cap on a decompressed body: a 16 KiB gzip bomb can inflate to gigabytes."""

MAX_PRETTY_BYTES = 2 * 1024 * 1024
"""Bodies above this are previewed, not parsed: minidom and a terminal both choke first."""

HEX_PREVIEW_BYTES = 4096
"""How much of a binary body the hex dump shows by default."""

MAX_JSON_DEPTH = 200
"""Deeper documents are treated as not-JSON. Real webhooks nest a few dozen levels;
the limit keeps every later step (compare, dump, ``json.dumps`` of a subtree) far
from Python's recursion limit."""

MAX_FORM_FIELDS = 1000

# --------------------------------------------------------------------------- text


def _build_escape_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]:
        table[code] = f"\\x{code:02x}"
    table[0x09], table[0x0A], table[0x0D] = "\\t", "\\n", "\\r"
    # Bidi controls can make a terminal show text in an order other than stored
    # ("Trojan Source"); lone surrogates cannot be encoded as UTF-8 at all.
    for code in [0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]:
        table[code] = f"\\u{code:04x}"
    for code in range(0xD800, 0xE000):
        table[code] = f"\\u{code:04x}"
    return table


_ESCAPES = _build_escape_table()
_MULTILINE_ESCAPES = {k: v for k, v in _ESCAPES.items() if k not in (0x09, 0x0A)}


def safe_text(text: str, *, multiline: bool = True) -> str:
    """``text`` with control characters, bidi overrides and lone surrogates escaped.

    A payload containing ``ESC [ 2 J`` must not clear the operator's terminal, and
    one containing U+202E must not reorder what they read. With ``multiline`` tabs
    and newlines pass through; ``\\r`` is always shown, since a stray carriage
    return can overwrite the start of a line on screen.
    """
    return text.translate(_MULTILINE_ESCAPES if multiline else _ESCAPES)


def media_type(content_type: str) -> str:
    """``application/json`` from ``Application/JSON; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').strip() or None
    return None


# Codecs that are technically text encodings but interpret escapes or behave in
# surprising ways; a declared charset never selects them.
_REFUSED_CODECS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "utf-7"}
)


def decode_text(data: bytes, content_type: str = "") -> str | None:
    """The body as text, or ``None`` when it is not text.

    A declared charset wins (as in a browser); otherwise UTF-8, which covers JSON
    and nearly every webhook. Text with NUL bytes or many control characters is
    treated as binary.
    """
    text = _decode_declared(data, _charset(content_type))
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None if _looks_binary(text) else text


def _decode_declared(data: bytes, charset: str | None) -> str | None:
    if charset is None:
        return None
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return None
    if name in _REFUSED_CODECS:
        return None
    try:
        return data.decode(name)
    except (UnicodeError, LookupError, ValueError):
        return None


def _looks_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    if not text:
        return False
    controls = sum(1 for ch in text[:4096] if ch in _BINARY_HINTS)
    return controls * 20 > min(len(text), 4096)


_BINARY_HINTS = frozenset(
    chr(c) for c in [*range(0x00, 0x20), 0x7F] if chr(c) not in "\t\n\r\f\x1b"
)


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


# -------------------------------------------------------------------------- JSON


@dataclass(frozen=True, slots=True)
class JsonNumber:
    """A JSON number as the literal text that arrived.

    Python's ``int`` refuses to parse more than 4,300 digits and ``float`` rounds
    ``0.1000000000000000001``; keeping the text avoids both and lets sanitised
    output repeat every number exactly.
    """

    text: str

    @property
    def is_integer(self) -> bool:
        return not any(ch in self.text for ch in ".eE")

    def same_value(self, other: JsonNumber) -> bool:
        """Equal as numbers of one kind: ``1.50`` equals ``1.5``, ``100`` differs from ``100.0``."""
        if self.text == other.text:
            return True
        if self.is_integer != other.is_integer:
            return False
        try:
            return Decimal(self.text) == Decimal(other.text)
        except (InvalidOperation, ValueError):
            # Exponents beyond what Decimal can hold: only the text is comparable.
            return False

    def to_python(self) -> int | float | str:
        """The closest plain JSON value: int, exact float, or the literal text."""
        if self.is_integer:
            try:
                return int(self.text)
            except ValueError:  # more digits than int() will convert
                return self.text
        try:
            as_float = float(self.text)
            if Decimal(repr(as_float)) == Decimal(self.text):
                return as_float
        except (InvalidOperation, ValueError, OverflowError):
            pass
        return self.text


@dataclass(frozen=True, slots=True)
class JsonObject:
    """A JSON object as its ordered member list, duplicates included."""

    members: tuple[tuple[str, Any], ...]


class NotJson(ValueError):
    """The bytes are not a JSON document hookyard will work with; the message says why."""


@dataclass(frozen=True, slots=True)
class LoadedJson:
    value: Any
    duplicate_keys: bool = False


def _refuse_constant(name: str) -> NoReturn:
    raise NotJson(f"uses the non-standard constant {name}")


def load_json(body: bytes, *, keep_duplicates: bool = False) -> LoadedJson:
    """Parse strict JSON: UTF-8, no NaN/Infinity, at most ``MAX_JSON_DEPTH`` deep.

    Objects become ``dict`` (last duplicate wins, flagged) or, with
    ``keep_duplicates``, :class:`JsonObject`; numbers become :class:`JsonNumber`.
    Raises :class:`NotJson` with a one-line reason.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson(f"not valid UTF-8 (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    duplicates: list[bool] = []

    def make_object(pairs: list[tuple[str, Any]]) -> Any:
        if keep_duplicates:
            return JsonObject(tuple(pairs))
        obj = dict(pairs)
        if len(obj) != len(pairs):
            duplicates.append(True)
        return obj

    try:
        value = json.loads(
            text,
            object_pairs_hook=make_object,
            parse_int=JsonNumber,
            parse_float=JsonNumber,
            parse_constant=_refuse_constant,
        )
    except NotJson:
        raise
    except json.JSONDecodeError as exc:
        raise NotJson(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise NotJson("nested too deeply to parse") from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise NotJson(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return LoadedJson(value, bool(duplicates))


def children(value: Any) -> Iterator[Any]:
    """The direct members of a JSON container (nothing for scalars)."""
    if isinstance(value, dict):
        yield from value.values()
    elif isinstance(value, JsonObject):
        for _, member in value.members:
            yield member
    elif isinstance(value, list):
        yield from value


def _deeper_than(value: Any, limit: int) -> bool:
    # Iterative on purpose: this is the guard that makes recursion safe elsewhere.
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list | JsonObject):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in children(node))
    return False


def json_type(value: Any) -> str:
    """The JSON type name: null, boolean, number, string, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, JsonNumber | int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _dump_string(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800" in the source) can only be written escaped.
        return json.dumps(text)
    return json.dumps(text, ensure_ascii=False)


def _dump_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, str):
        return _dump_string(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, int | float):
        return json.dumps(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def dump_json(value: Any, *, indent: int | None = None) -> str:
    """Serialise a value from :func:`load_json`, numbers and key order as they arrived.

    Compact (``,`` and ``:``) without ``indent``. Iterative, so depth is no concern.
    """
    out: list[str] = []
    # The stack holds literal strings to emit and (value, level) pairs to encode.
    stack: list[str | tuple[Any, int]] = [(value, 0)]

    def newline(level: int) -> str:
        return "" if indent is None else "\n" + " " * (indent * level)

    colon = ":" if indent is None else ": "
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        node, level = item
        if isinstance(node, dict | JsonObject):
            pairs = list(node.items()) if isinstance(node, dict) else list(node.members)
            if not pairs:
                out.append("{}")
                continue
            work: list[str | tuple[Any, int]] = ["{"]
            for index, (key, member) in enumerate(pairs):
                work.append(("," if index else "") + newline(level + 1) + _dump_string(key) + colon)
                work.append((member, level + 1))
            work.append(newline(level) + "}")
            stack.extend(reversed(work))
        elif isinstance(node, list):
            if not node:
                out.append("[]")
                continue
            work = ["["]
            for index, member in enumerate(node):
                work.append(("," if index else "") + newline(level + 1))
                work.append((member, level + 1))
            work.append(newline(level) + "]")
            stack.extend(reversed(work))
        else:
            out.append(_dump_scalar(node))
    return "".join(out)


def to_plain(value: Any) -> Any:
    """``json.dumps`` hook: a :class:`JsonNumber` as int, exact float, or its text."""
    if isinstance(value, JsonNumber):
        return value.to_python()
    if isinstance(value, JsonObject):
        return dict(value.members)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


# ----------------------------------------------------------------------- headers

_SENSITIVE_NAMES = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
_SENSITIVE_WORDS = ("token", "secret", "password", "passwd", "apikey", "api_key", "credential")
_SCHEME_HEADERS = frozenset({"authorization", "proxy-authorization"})
_AUTH_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*")


def is_sensitive_header(name: str) -> bool:
    """Whether a header carries a credential and must be masked on display.

    Signature headers are not credentials (they are MACs of one body) and stay
    visible, since comparing them is how a verification failure gets explained.
    """
    lowered = name.strip().lower()
    return lowered in _SENSITIVE_NAMES or any(word in lowered for word in _SENSITIVE_WORDS)


def _length_hint(text: str) -> str:
    return f"({len(text)} char{'' if len(text) == 1 else 's'})"


def _stars(secret: str) -> str:
    return f"**** {_length_hint(secret)}" if secret else ""


def mask_value(name: str, value: str) -> str:
    """The display form of a sensitive header value: ``Bearer **** (40 chars)``.

    Authorization keeps its scheme word and cookies keep their names, because
    "which scheme / which cookie" is usually the debugging question.
    """
    lowered = name.strip().lower()
    if lowered == "cookie":
        return _mask_cookie_pairs(value, every_pair=True)
    if lowered == "set-cookie":
        return _mask_cookie_pairs(value, every_pair=False)
    if lowered in _SCHEME_HEADERS:
        scheme, _, credentials = value.strip().partition(" ")
        if credentials.strip() and _AUTH_SCHEME.fullmatch(scheme):
            return f"{scheme} {_stars(credentials.strip())}"
    return _stars(value)


def _mask_cookie_pairs(value: str, *, every_pair: bool) -> str:
    masked: list[str] = []
    for index, part in enumerate(value.split(";")):
        if not part.strip() or not (every_pair or index == 0):
            # Empty segments and Set-Cookie attributes (Path, HttpOnly, ...) hide nothing.
            masked.append(part)
            continue
        cookie_name, sep, _ = part.partition("=")
        if sep:
            masked.append(f"{cookie_name}=****")
        else:
            # A bare value with no name is all secret.
            masked.append(part[: len(part) - len(part.lstrip())] + "****")
    return ";".join(masked) + " " + _length_hint(value)


def mask_headers(headers: HeaderList) -> tuple[tuple[str, str], ...]:
    """Headers as display strings, in arrival order, credentials masked."""
    shown: list[tuple[str, str]] = []
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        shown.append((name, mask_value(name, value) if is_sensitive_header(name) else value))
    return tuple(shown)


def render_headers(headers: HeaderList) -> Table:
    """A two-column table of masked headers, safe for a terminal."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("header", style="cyan", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in mask_headers(headers):
        table.add_row(
            Text(safe_text(name, multiline=False)), Text(safe_text(value, multiline=False))
        )
    return table


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


def render_body(pretty: PrettyBody) -> RenderableType:
    """A ``rich`` renderable for :func:`pretty_body`'s result."""
    parts: list[RenderableType] = [Text(note, style="dim italic") for note in pretty.notes]
    if pretty.kind == "empty":
        parts.append(Text("(empty body)", style="dim"))
    elif pretty.kind in ("json", "xml"):
        parts.append(Syntax(pretty.text, pretty.kind, word_wrap=True, background_color="default"))
    elif pretty.kind == "form":
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("field", style="cyan")
        table.add_column("value", overflow="fold")
        for key, value in pretty.fields:
            table.add_row(Text(key), Text(value))
        parts.append(table)
    else:
        parts.append(Text(pretty.text))
    return Group(*parts)
