"""Former home of the display helpers, kept so existing imports keep working.

The code now lives by concept: :mod:`hookyard.inspect.text` (terminal-safe text,
charsets), :mod:`hookyard.inspect.exact_json` (JSON kept exactly),
:mod:`hookyard.inspect.masking` (the masking policy), :mod:`hookyard.inspect.bodies`
(decoding and pretty bodies), and the ``rich`` renderers in :mod:`hookyard.cli.render`.
Import from those; nothing new is added here.
"""

from __future__ import annotations

from hookyard.inspect.bodies import (
    HEX_PREVIEW_BYTES,
    MAX_DECODED_BYTES,
    MAX_FORM_FIELDS,
    MAX_PRETTY_BYTES,
    BodyKind,
    DecodedBody,
    PrettyBody,
    decode_content,
    hex_dump,
    pretty_body,
)
from hookyard.inspect.exact_json import (
    MAX_JSON_DEPTH,
    JsonNumber,
    JsonObject,
    LoadedJson,
    NotJson,
    children,
    dump_json,
    json_type,
    load_json,
    to_plain,
)
from hookyard.inspect.masking import is_sensitive_header, mask_headers, mask_value
from hookyard.inspect.text import decode_text, media_type, safe_text

__all__ = [
    "HEX_PREVIEW_BYTES",
    "MAX_DECODED_BYTES",
    "MAX_FORM_FIELDS",
    "MAX_JSON_DEPTH",
    "MAX_PRETTY_BYTES",
    "BodyKind",
    "DecodedBody",
    "JsonNumber",
    "JsonObject",
    "LoadedJson",
    "NotJson",
    "PrettyBody",
    "children",
    "decode_content",
    "decode_text",
    "dump_json",
    "hex_dump",
    "is_sensitive_header",
    "json_type",
    "load_json",
    "mask_headers",
    "mask_value",
    "media_type",
    "pretty_body",
    "safe_text",
    "to_plain",
]
