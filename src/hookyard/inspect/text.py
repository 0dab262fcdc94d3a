"""Text from payloads, made safe to show: terminal-safe escaping and charset decoding.

Payloads are attacker-controlled: text that reaches a terminal goes through
:func:`safe_text` first (no escape sequences, no bidi overrides, no lone surrogates
that would break UTF-8 output), and a declared charset never selects a codec that
interprets escapes.
"""

from __future__ import annotations

import codecs


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
