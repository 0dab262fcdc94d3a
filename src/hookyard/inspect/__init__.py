"""Looking at stored requests without changing them.

``render``   pretty bodies by content type, hex dumps, masked headers, terminal-safe text
``diff``     structural JSON diff, header diff, unified text diff, byte summary
``sanitize`` masking JSON keys and pointers, dropping headers, for corpus export

All of it is pure: bytes in, new values out. Nothing here touches the store.
"""

from __future__ import annotations

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
from hookyard.inspect.render import (
    PrettyBody,
    decode_content,
    hex_dump,
    is_sensitive_header,
    mask_headers,
    mask_value,
    pretty_body,
    render_body,
    render_headers,
    safe_text,
)
from hookyard.inspect.sanitize import (
    SanitizedBody,
    drop_headers,
    parse_pointer,
    pointer_token,
    sanitize_body,
)

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
