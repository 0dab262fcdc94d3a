"""Comparing two requests: structural JSON diff, header diff, text or byte diff.

The question this answers is "what changed between these two deliveries?", most
often "did the provider change its payload without telling us?". So a JSON body
is compared as a tree (paths, not lines), a number turning into a string is its
own kind of change, and headers that differ on every delivery anyway
(signatures, timestamps, ids) are flagged so a UI can fade them out.

Everything is computed from the stored bytes on read and is bounded: nesting
depth, number of changes, lines fed to ``difflib`` and output lines all have caps,
and hitting one produces a note instead of an exception.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hookyard.inspect.bodies import DecodedBody, decode_content
from hookyard.inspect.exact_json import (
    JsonNumber,
    NotJson,
    dump_json,
    json_type,
    load_json,
    to_plain,
)
from hookyard.inspect.masking import is_sensitive_header, mask_value
from hookyard.inspect.sanitize import pointer_token
from hookyard.inspect.text import decode_text, media_type, safe_text
from hookyard.models import CapturedRequest, HeaderList
from hookyard.signatures.registry import delivery_id_header_names, signature_header_names

MAX_JSON_CHANGES = 10_000
"""A diff of two unrelated 10 MB arrays is not useful past this many entries."""

MAX_TEXT_DIFF_INPUT_LINES = 20_000
"""``difflib`` is quadratic in the worst case; above this a byte summary is given instead."""

MAX_TEXT_DIFF_OUTPUT_LINES = 5_000

ChangeKind = Literal["added", "removed", "changed", "type_changed"]
HeaderChangeKind = Literal["added", "removed", "changed"]
BodyMode = Literal["identical", "json", "text", "binary"]


@dataclass(frozen=True, slots=True)
class DiffSide:
    """One side of a comparison: what the diff needs from a stored request."""

    headers: HeaderList
    body: bytes
    content_type: str = ""

    @classmethod
    def from_request(cls, request: CapturedRequest) -> DiffSide:
        return cls(request.headers, request.body, request.content_type)


@dataclass(frozen=True, slots=True)
class JsonChange:
    """One difference between two JSON documents.

    ``path`` is an RFC 6901 JSON pointer (``""`` is the whole document). A side
    that is absent (``added`` has no old value, ``removed`` no new one) has type
    ``None``; a JSON ``null`` has type ``"null"``. Values are as parsed by
    :func:`~hookyard.inspect.exact_json.load_json` (numbers are ``JsonNumber``).
    """

    path: str
    kind: ChangeKind
    old: Any = None
    new: Any = None
    old_type: str | None = None
    new_type: str | None = None

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"path": _utf8_safe(self.path), "kind": self.kind}
        if self.old_type is not None:
            entry["old"] = _plain(self.old)
            entry["old_type"] = self.old_type
        if self.new_type is not None:
            entry["new"] = _plain(self.new)
            entry["new_type"] = self.new_type
        return entry


@dataclass(frozen=True, slots=True)
class HeaderChange:
    """A header whose values differ. ``name`` is lower-case; values keep arrival order.

    Values of credential headers are masked (``masked`` is then true), so a
    diff can be shown or returned by the API without leaking a token.
    """

    name: str
    kind: HeaderChangeKind
    old: tuple[str, ...]
    new: tuple[str, ...]
    volatile: bool
    masked: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "old": list(self.old),
            "new": list(self.new),
            "volatile": self.volatile,
            "masked": self.masked,
        }


@dataclass(frozen=True, slots=True)
class ByteSummary:
    """Sizes, hashes and the first differing offset of the two compared byte strings."""

    size_a: int
    size_b: int
    sha256_a: str
    sha256_b: str
    first_difference: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "size_a": self.size_a,
            "size_b": self.size_b,
            "sha256_a": self.sha256_a,
            "sha256_b": self.sha256_b,
            "first_difference": self.first_difference,
        }


@dataclass(frozen=True, slots=True)
class BodyDiff:
    """How two bodies differ.

    ``mode`` says how they were compared: ``json`` (``changes``), ``text``
    (``unified``, a unified diff without line terminators), ``binary``
    (``summary`` only) or ``identical``. ``summary`` is present whenever the
    compared bytes differ. ``notes`` explain fallbacks and decoding.
    """

    mode: BodyMode
    bytes_identical: bool
    changes: tuple[JsonChange, ...] = ()
    unified: tuple[str, ...] = ()
    summary: ByteSummary | None = None
    truncated: bool = False
    notes: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """No difference in content (a JSON body may still differ in spacing or key order)."""
        return self.mode == "identical" or (self.mode == "json" and not self.changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "bytes_identical": self.bytes_identical,
            "changes": [change.as_dict() for change in self.changes],
            "unified": list(self.unified),
            "summary": self.summary.as_dict() if self.summary else None,
            "truncated": self.truncated,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class EventDiff:
    """The full comparison of two requests (A is the old side, B the new)."""

    headers: tuple[HeaderChange, ...]
    body: BodyDiff
    content_type_a: str
    content_type_b: str

    @property
    def is_empty(self) -> bool:
        return not self.headers and self.body.is_empty and not self.content_type_changed

    @property
    def content_type_changed(self) -> bool:
        return self.content_type_a != self.content_type_b

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (plain types only) for the API and ``--json``."""
        return {
            "identical": self.is_empty,
            "content_type": {
                "a": self.content_type_a,
                "b": self.content_type_b,
                "changed": self.content_type_changed,
            },
            "headers": [change.as_dict() for change in self.headers],
            "body": self.body.as_dict(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


# ---------------------------------------------------------------------- top level


def diff_events(a: DiffSide, b: DiffSide) -> EventDiff:
    """Compare two requests: headers, content type and body. Never raises on input."""
    return EventDiff(
        headers=diff_headers(a.headers, b.headers),
        body=diff_bodies(a, b),
        content_type_a=a.content_type,
        content_type_b=b.content_type,
    )


# ------------------------------------------------------------------------ headers

# What differs on every delivery: the schemes' signature, timestamp and delivery id headers
# (declared on each scheme), and the transport's and tracers' own.
_VOLATILE_NAMES = frozenset(
    {
        *signature_header_names(),
        *delivery_id_header_names(),
        "content-length",
        "date",
        "x-shopify-triggered-at",
        "x-amz-sns-message-id",
        "idempotency-key",
        "x-idempotency-key",
        "x-correlation-id",
        "traceparent",
        "tracestate",
        "cf-ray",
        "sentry-trace",
        "baggage",
    }
)
_VOLATILE_WORDS = ("signature", "timestamp", "delivery", "nonce", "request-id", "hmac", "trace")
_VOLATILE_PREFIXES = ("x-hookyard-",)


def is_volatile_header(name: str) -> bool:
    """Whether a header is expected to differ on every delivery (signatures, ids, times).

    Such a difference is real but rarely the interesting one, so it is flagged
    for de-emphasis rather than hidden.
    """
    lowered = name.strip().lower()
    return (
        lowered in _VOLATILE_NAMES
        or any(word in lowered for word in _VOLATILE_WORDS)
        or lowered.startswith(_VOLATILE_PREFIXES)
    )


def _group_headers(headers: HeaderList) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for raw_name, raw_value in headers:
        grouped.setdefault(raw_name.decode("latin-1").lower(), []).append(
            raw_value.decode("latin-1")
        )
    return grouped


def _shown(name: str, values: list[str], masked: bool) -> tuple[str, ...]:
    return tuple(mask_value(name, v) for v in values) if masked else tuple(values)


def diff_headers(a: HeaderList, b: HeaderList) -> tuple[HeaderChange, ...]:
    """Header differences by case-insensitive name, in A's order then B's additions.

    A repeated header is compared as its ordered list of values, so two
    ``Set-Cookie`` lines becoming one is a change. Case-only differences in a
    name are not changes (HTTP names are case-insensitive).
    """
    old, new = _group_headers(a), _group_headers(b)
    changes: list[HeaderChange] = []

    def change(name: str, kind: HeaderChangeKind, before: list[str], after: list[str]) -> None:
        masked = is_sensitive_header(name)
        changes.append(
            HeaderChange(
                name=name,
                kind=kind,
                old=_shown(name, before, masked),
                new=_shown(name, after, masked),
                volatile=is_volatile_header(name),
                masked=masked,
            )
        )

    for name, values in old.items():
        if name not in new:
            change(name, "removed", values, [])
        elif new[name] != values:
            change(name, "changed", values, new[name])
    for name, values in new.items():
        if name not in old:
            change(name, "added", [], values)
    return tuple(changes)


# --------------------------------------------------------------------------- JSON


def _same_scalar(x: Any, y: Any) -> bool:
    if isinstance(x, JsonNumber) and isinstance(y, JsonNumber):
        return x.same_value(y)
    return bool(x == y)


# A path is built lazily as a chain of (parent, token) links, so descending one
# level costs O(1) rather than copying the whole pointer string; it is joined
# only when a change is reported.
_Path = tuple["_Path", str] | None
_Work = JsonChange | tuple[_Path, Any, Any]


def _pointer(path: _Path) -> str:
    tokens: list[str] = []
    while path is not None:
        path, token = path
        tokens.append(token)
    return "".join(f"/{token}" for token in reversed(tokens))


def diff_json(
    a: Any, b: Any, *, limit: int = MAX_JSON_CHANGES
) -> tuple[tuple[JsonChange, ...], bool]:
    """Structural differences between two parsed documents, in document order.

    Objects are compared by key (order ignored, as JSON defines), arrays by
    index. Returns the changes and whether the list stopped at ``limit``.
    Iterative, so it does not care how deep the documents are.
    """
    changes: list[JsonChange] = []
    # Work items: a pending change to emit, or a (path, old, new) triple to compare.
    # Both go through one stack so output follows document order.
    stack: list[_Work] = [(None, a, b)]
    while stack:
        item = stack.pop()
        found = item if isinstance(item, JsonChange) else _compare_node(item, stack)
        if found is None:
            continue
        if len(changes) == limit:
            return tuple(changes), True
        changes.append(found)
    return tuple(changes), False


def _compare_node(item: tuple[_Path, Any, Any], stack: list[_Work]) -> JsonChange | None:
    """Compare one pair: return a change for a leaf, or push the children's work."""
    path, x, y = item
    x_type, y_type = json_type(x), json_type(y)
    if x_type != y_type:
        return JsonChange(_pointer(path), "type_changed", x, y, x_type, y_type)
    work: list[_Work] = []
    if isinstance(x, dict) and isinstance(y, dict):
        for key, old in x.items():
            child = (path, pointer_token(key))
            if key in y:
                work.append((child, old, y[key]))
            else:
                work.append(
                    JsonChange(_pointer(child), "removed", old=old, old_type=json_type(old))
                )
        for key, new in y.items():
            if key not in x:
                child = (path, pointer_token(key))
                work.append(JsonChange(_pointer(child), "added", new=new, new_type=json_type(new)))
    elif isinstance(x, list) and isinstance(y, list):
        common = min(len(x), len(y))
        work.extend(((path, str(i)), x[i], y[i]) for i in range(common))
        if len(x) != len(y):  # joining the path costs O(depth); only pay it when used
            prefix = _pointer(path)
            work.extend(
                JsonChange(f"{prefix}/{i}", "removed", old=x[i], old_type=json_type(x[i]))
                for i in range(common, len(x))
            )
            work.extend(
                JsonChange(f"{prefix}/{i}", "added", new=y[i], new_type=json_type(y[i]))
                for i in range(common, len(y))
            )
    elif not _same_scalar(x, y):
        return JsonChange(_pointer(path), "changed", x, y, x_type, y_type)
    stack.extend(reversed(work))
    return None


def _plain(value: Any) -> Any:
    # A round trip through json (C code, depth-checked) turns JsonNumber into plain
    # numbers, or their text when no plain number is exact.
    dumped = json.dumps(value, default=to_plain)
    plain = json.loads(dumped)
    # "\ud800" is legal in a JSON string but cannot be encoded as UTF-8, so a
    # consumer serialising with ensure_ascii=False would fail. Rare: only walk
    # when the dump shows a surrogate escape at all.
    return _scrub_surrogates(plain) if "\\ud" in dumped else plain


def _utf8_safe(text: str) -> str:
    """Lone surrogates as visible ``\\udXXX`` text, so the string encodes as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _scrub_surrogates(value: Any) -> Any:
    # Recursion is bounded: values come from load_json (at most MAX_JSON_DEPTH
    # deep) and json.dumps above already walked the same depth.
    if isinstance(value, str):
        return _utf8_safe(value)
    if isinstance(value, list):
        return [_scrub_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_utf8_safe(k): _scrub_surrogates(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- body


def _first_difference(a: bytes, b: bytes) -> int | None:
    if a == b:
        return None
    shorter = min(len(a), len(b))
    view_a, view_b = memoryview(a), memoryview(b)
    step = 4096
    for start in range(0, shorter, step):
        if view_a[start : start + step] != view_b[start : start + step]:
            for offset in range(start, min(start + step, shorter)):
                if a[offset] != b[offset]:
                    return offset
    return shorter  # one is a prefix of the other


def summarize_bytes(a: bytes, b: bytes) -> ByteSummary:
    return ByteSummary(
        size_a=len(a),
        size_b=len(b),
        sha256_a=hashlib.sha256(a).hexdigest(),
        sha256_b=hashlib.sha256(b).hexdigest(),
        first_difference=_first_difference(a, b),
    )


def _declares_json(content_type: str) -> bool:
    media = media_type(content_type)
    return media in ("application/json", "text/json") or media.endswith("+json")


def diff_bodies(a: DiffSide, b: DiffSide) -> BodyDiff:
    """Compare bodies: as JSON trees when both parse, else as text, else as bytes.

    Gzip ``Content-Encoding`` is undone first (with a size cap), so a gzipped
    and a plain copy of one payload compare as identical.
    """
    bytes_identical = a.body == b.body
    decoded_a = decode_content(a.headers, a.body)
    decoded_b = decode_content(b.headers, b.body)
    notes = [f"body A: {n}" for n in decoded_a.notes] + [f"body B: {n}" for n in decoded_b.notes]
    data_a, data_b = decoded_a.data, decoded_b.data
    if data_a == data_b:
        if not bytes_identical:
            notes.append("stored bytes differ only in Content-Encoding")
        return BodyDiff("identical", bytes_identical, notes=tuple(notes))
    summary = summarize_bytes(data_a, data_b)

    json_diff = _try_json(a, b, decoded_a, decoded_b, notes)
    if json_diff is not None:
        changes, truncated = json_diff
        if truncated:
            notes.append(f"stopped after {MAX_JSON_CHANGES} changes")
        if not changes:
            notes.append(
                "bodies differ in bytes but not in structure (spacing, key order, escapes)"
            )
        return BodyDiff(
            "json", False, changes, summary=summary, truncated=truncated, notes=tuple(notes)
        )

    text_a = decode_text(data_a, a.content_type)
    text_b = decode_text(data_b, b.content_type)
    for label, text in (("A", text_a), ("B", text_b)):
        if text is None:
            notes.append(f"body {label} is not text (binary or invalid UTF-8); compared as bytes")
    if text_a is None or text_b is None:
        return BodyDiff("binary", False, summary=summary, notes=tuple(notes))
    return _diff_text(text_a, text_b, summary, notes)


def _try_json(
    a: DiffSide,
    b: DiffSide,
    decoded_a: DecodedBody,
    decoded_b: DecodedBody,
    notes: list[str],
) -> tuple[tuple[JsonChange, ...], bool] | None:
    results: list[Any] = []
    failures: list[tuple[str, str, str]] = []
    for label, side, decoded in (("A", a, decoded_a), ("B", b, decoded_b)):
        try:
            loaded = load_json(decoded.data)
        except NotJson as exc:
            failures.append((label, side.content_type, str(exc)))
            continue
        if loaded.duplicate_keys:
            notes.append(f"body {label} repeats an object key; the last value is compared")
        results.append(loaded.value)
    if not failures:
        return diff_json(results[0], results[1])
    for label, content_type, reason in failures:
        # Only worth saying when JSON was expected: declared, or the other side was.
        if results or _declares_json(content_type):
            notes.append(f"body {label} is not usable JSON: {reason}")
    return None


def _diff_text(text_a: str, text_b: str, summary: ByteSummary, notes: list[str]) -> BodyDiff:
    if text_a == text_b:
        notes.append("bodies decode to the same text (their charsets differ)")
        return BodyDiff("text", False, summary=summary, notes=tuple(notes))
    # split("\n") rather than splitlines(): a missing final newline or a CR
    # before LF is a real difference and must show up.
    lines_a, lines_b = text_a.split("\n"), text_b.split("\n")
    if max(len(lines_a), len(lines_b)) > MAX_TEXT_DIFF_INPUT_LINES:
        notes.append(f"more than {MAX_TEXT_DIFF_INPUT_LINES} lines; byte summary only")
        return BodyDiff("binary", False, summary=summary, notes=tuple(notes))
    produced = difflib.unified_diff(lines_a, lines_b, "a", "b", lineterm="", n=3)
    unified = list(itertools.islice(produced, MAX_TEXT_DIFF_OUTPUT_LINES + 1))
    truncated = len(unified) > MAX_TEXT_DIFF_OUTPUT_LINES
    if truncated:
        unified = unified[:MAX_TEXT_DIFF_OUTPUT_LINES]
        notes.append(f"unified diff cut at {MAX_TEXT_DIFF_OUTPUT_LINES} lines")
    return BodyDiff(
        "text",
        False,
        unified=tuple(unified),
        summary=summary,
        truncated=truncated,
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------- render

_KIND_STYLES: dict[str, str] = {
    "added": "green",
    "removed": "red",
    "changed": "yellow",
    "type_changed": "bold magenta",
}
_KIND_MARKS = {"added": "+", "removed": "-", "changed": "~", "type_changed": "!"}
_VALUE_WIDTH = 80
_LINE_WIDTH = 400
"""A minified body is one line; the terminal view shows its start, ``to_json`` all of it."""


def _show_value(value: Any, present: bool) -> Text:
    if not present:
        return Text("")
    shown = safe_text(dump_json(value), multiline=False)
    if len(shown) > _VALUE_WIDTH:
        shown = shown[: _VALUE_WIDTH - 1] + "…"
    return Text(shown)


def _show_header_values(values: tuple[str, ...]) -> Text:
    return Text("\n".join(safe_text(v, multiline=False) for v in values))


def _header_table(changes: tuple[HeaderChange, ...]) -> Table:
    table = Table(title="headers", title_justify="left", box=None, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("header", no_wrap=True)
    table.add_column("A", overflow="fold")
    table.add_column("B", overflow="fold")
    for change in changes:
        style = _KIND_STYLES[change.kind]
        name = Text(safe_text(change.name, multiline=False))
        if change.volatile:
            name.append(" (volatile)", style="italic")
            style = f"dim {style}"
        table.add_row(
            Text(_KIND_MARKS[change.kind]),
            name,
            _show_header_values(change.old),
            _show_header_values(change.new),
            style=style,
        )
    return table


def _json_table(changes: tuple[JsonChange, ...]) -> Table:
    table = Table(title="body (JSON)", title_justify="left", box=None, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("path", overflow="fold")
    table.add_column("change", no_wrap=True)
    table.add_column("A", overflow="fold")
    table.add_column("B", overflow="fold")
    for change in changes:
        kind: str = change.kind
        if change.kind == "type_changed":
            kind = f"type {change.old_type} → {change.new_type}"
        table.add_row(
            Text(_KIND_MARKS[change.kind]),
            Text(safe_text(change.path or "(whole body)", multiline=False)),
            Text(kind),
            _show_value(change.old, change.old_type is not None),
            _show_value(change.new, change.new_type is not None),
            style=_KIND_STYLES[change.kind],
        )
    return table


def _unified_text(lines: tuple[str, ...]) -> Text:
    out = Text()
    for line in lines:
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        shown = safe_text(line, multiline=False)
        if len(shown) > _LINE_WIDTH:
            shown = f"{shown[:_LINE_WIDTH]}… ({len(shown) - _LINE_WIDTH} more chars)"
        out.append(shown + "\n", style=style)
    return out


def _summary_table(summary: ByteSummary) -> Table:
    table = Table(title="body (bytes)", title_justify="left", box=None, pad_edge=False)
    table.add_column("")
    table.add_column("A")
    table.add_column("B")
    table.add_row("size", str(summary.size_a), str(summary.size_b))
    table.add_row("sha256", summary.sha256_a, summary.sha256_b, style="yellow")
    offset = summary.first_difference
    table.add_row("first difference", "" if offset is None else f"byte {offset}", "")
    return table


def render_diff(diff: EventDiff, *, show_volatile: bool = True) -> RenderableType:
    """A coloured terminal view: added green, removed red, changed yellow,
    type changes magenta; volatile headers dimmed (or left out)."""
    parts: list[RenderableType] = []
    if diff.is_empty:
        parts.append(Text("no differences", style="green"))
    if diff.content_type_changed:
        line = Text("content-type: ", style="bold")
        line.append(safe_text(diff.content_type_a, multiline=False) or "(none)", style="red")
        line.append(" → ")
        line.append(safe_text(diff.content_type_b, multiline=False) or "(none)", style="green")
        parts.append(line)
    headers = tuple(h for h in diff.headers if show_volatile or not h.volatile)
    if headers:
        parts.append(_header_table(headers))
    hidden = len(diff.headers) - len(headers)
    if hidden:
        parts.append(Text(f"{hidden} volatile header change(s) hidden", style="dim"))
    body = diff.body
    if body.mode == "json" and body.changes:
        parts.append(_json_table(body.changes))
    elif body.mode == "text" and body.unified:
        parts.append(_unified_text(body.unified))
    elif body.mode == "binary" and body.summary is not None:
        parts.append(_summary_table(body.summary))
    parts.extend(Text(note, style="dim italic") for note in body.notes)
    return Group(*parts)
