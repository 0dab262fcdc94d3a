"""JSON read and written back exactly: key order, duplicate keys and number literals kept.

Diff, pretty bodies and export masking all read JSON this way: numbers stay the
literal text that arrived, so 5,000-digit integers and ``10.10`` vs ``10.1`` survive,
and a re-serialised document differs from the original only in spacing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

MAX_JSON_DEPTH = 200
"""Deeper documents are treated as not-JSON. Real webhooks nest a few dozen levels;
the limit keeps every later step (compare, dump, ``json.dumps`` of a subtree) far
from Python's recursion limit."""


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
