"""Looking at stored requests without changing them.

``text``        terminal-safe text, charset decoding
``exact_json``  JSON read and written back with key order, duplicates and number literals
``masking``     the one masking policy: credential headers, JSON keys and pointers
``bodies``      Content-Encoding undone, pretty bodies by content type, hex dumps, caps
``diff``        structural JSON diff, header diff, unified text diff, byte summary
``sanitize``    a body and headers made fit for a shared corpus (``hookyard export``)

All of it is pure: bytes in, new values out. Nothing here touches the store. The
``rich`` renderers for a terminal live in :mod:`hookyard.cli.render`; ``render_body``
and ``render_headers`` are still importable from here, resolved on first use so that
importing this package does not import the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from hookyard.inspect.bodies import PrettyBody, decode_content, hex_dump, pretty_body
from hookyard.inspect.diff import (
    BodyDiff,
    ByteSummary,
    DiffSide,
    EventDiff,
    HeaderChange,
    JsonChange,
    diff_bodies,
    diff_events,
    diff_headers,
    diff_json,
    is_volatile_header,
    render_diff,
)
from hookyard.inspect.masking import is_sensitive_header, mask_headers, mask_value
from hookyard.inspect.sanitize import (
    SanitizedBody,
    drop_headers,
    parse_pointer,
    pointer_token,
    sanitize_body,
)
from hookyard.inspect.text import safe_text

if TYPE_CHECKING:
    from hookyard.cli.render import render_body, render_headers

_RENDERERS = frozenset({"render_body", "render_headers"})


def __getattr__(name: str) -> object:
    if name not in _RENDERERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("hookyard.cli.render"), name)
    globals()[name] = value
    return value


__all__ = [
    "BodyDiff",
    "ByteSummary",
    "DiffSide",
    "EventDiff",
    "HeaderChange",
    "JsonChange",
    "PrettyBody",
    "SanitizedBody",
    "decode_content",
    "diff_bodies",
    "diff_events",
    "diff_headers",
    "diff_json",
    "drop_headers",
    "hex_dump",
    "is_sensitive_header",
    "is_volatile_header",
    "mask_headers",
    "mask_value",
    "parse_pointer",
    "pointer_token",
    "pretty_body",
    "render_body",
    "render_diff",
    "render_headers",
    "safe_text",
    "sanitize_body",
]
