"""What the admin API reads from a request besides the filters: JSON bodies and ids.

A body is read up to :data:`MAX_JSON_BYTES` (413 past it) and parsed strictly: no
``NaN``/``Infinity``, no number that overflows a float, no nesting deeper than
:data:`MAX_DEPTH` (Python's parser raises ``RecursionError`` on 100,000 brackets, and a
merely deep one could overflow the stack later, wherever it is walked).

An id from the path that is not storable text names nothing: the handlers answer 404
without asking the store (PostgreSQL raises on a NUL byte).
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from hookyard.filtering import text_problem

MAX_JSON_BYTES = 1024 * 1024
MAX_DEPTH = 32


class BadBody(ValueError):
    """A body that is not the JSON asked for; ``status`` is 400 or 413."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.status = status


async def read_json(request: Request, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The request's JSON body; raises :class:`BadBody` with a one-line reason."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BadBody(f"the body must be at most {max_bytes} bytes", status=413)
        chunks.append(chunk)
    return parse_json(b"".join(chunks))


def parse_json(raw: bytes) -> Any:
    """``raw`` as strict JSON with bounded nesting; raises :class:`BadBody`."""
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:  # the C parser's own bound, far below 100,000 levels
        raise BadBody(f"the body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # UnicodeDecodeError is one too
        raise BadBody("the body must be a JSON object") from None
    if _depth(value) > MAX_DEPTH:
        raise BadBody(f"the body nests deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """How deep lists and objects nest in ``value``, walked without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((child, depth + 1) for child in item)
    return deepest


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number out of range: {text[:20]}")
    return number


def path_id(request: Request, name: str) -> str | None:
    """The path parameter ``name``, or None when it cannot be any stored id."""
    value: str = request.path_params[name]
    return value if text_problem(value) is None else None
