"""The one masking policy: which values are secrets, and what is shown in their place.

Headers: a name is sensitive when it is a known credential header (Authorization,
Cookie, API keys) or contains a credential word (token, secret, password, …); its
value is shown as stars with a length hint, keeping what helps debugging (the
Authorization scheme word, cookie names). Signature headers are MACs of one body,
not credentials, and stay visible. Every display of stored headers (``events show``,
the CLI's ``--json``, every admin API answer) goes through here.

Query strings: a parameter is sensitive when its name (percent-decoded, case-folded)
is a known credential name (``key``, ``auth``, ``pwd``, …: ``SENSITIVE_QUERY_NAMES``)
or contains one of the header credential words (``access_token``, ``api_key``, …);
its value becomes ``****``, names and order kept, so the masked query still parses
and still says which parameters came. Signature parameters stay visible, as
signature headers do.

JSON: member names (case-folded) and RFC 6901 pointers given by the caller replace a
value whole, for a corpus that must not carry personal data (``hookyard export``).
These work on documents read by :mod:`hookyard.inspect.exact_json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

from hookyard.inspect.exact_json import JsonObject
from hookyard.models import HeaderList
from hookyard.redaction.headers import MARKER

# ----------------------------------------------------------------------- headers

_SENSITIVE_NAMES = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
_SENSITIVE_WORDS = ("token", "secret", "password", "passwd", "apikey", "api_key", "credential")
_SCHEME_HEADERS = frozenset({"authorization", "proxy-authorization"})
_AUTH_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*")


def is_sensitive_header(name: str | bytes) -> bool:
    """Whether a header carries a credential and must be masked on display.

    Signature headers are not credentials (they are MACs of one body) and stay
    visible, since comparing them is how a verification failure gets explained.
    """
    if isinstance(name, bytes):
        name = name.decode("latin-1")
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
    if value == MARKER:  # redacted at ingest: nothing secret is stored, say so
        return value
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


def mask_header(name: bytes, value: bytes) -> bytes:
    """One header value as it may be shown: masked when the name is sensitive, else as is."""
    if not is_sensitive_header(name):
        return value
    return mask_value(name.decode("latin-1"), value.decode("latin-1")).encode("latin-1")


def mask_headers(headers: HeaderList) -> tuple[tuple[str, str], ...]:
    """Headers as display strings, in arrival order, credentials masked."""
    return mask_text_headers((n.decode("latin-1"), v.decode("latin-1")) for n, v in headers)


def mask_text_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """:func:`mask_headers` of headers already decoded (a destination's response headers)."""
    return tuple(
        (name, mask_value(name, value) if is_sensitive_header(name) else value)
        for name, value in headers
    )


# ------------------------------------------------------------------ query strings

#: Parameter names that are credentials by themselves; any name containing one of
#: ``_SENSITIVE_WORDS`` (token, secret, password, apikey, ...) is one too.
SENSITIVE_QUERY_NAMES = frozenset(
    {
        "key",
        "api-key",
        "access_key",
        "access-key",
        "private_key",
        "auth",
        "authorization",
        "pass",
        "pwd",
        "session",
        "sessionid",
        "session_id",
        "jwt",
    }
)
QUERY_MASK = "****"


def is_sensitive_query_name(name: str) -> bool:
    """Whether a query parameter's value is a credential (``name`` percent-decoded)."""
    lowered = name.strip().lower()
    return lowered in SENSITIVE_QUERY_NAMES or any(word in lowered for word in _SENSITIVE_WORDS)


def mask_query(query: bytes | str) -> str:
    """A query string as it may be shown: credential values replaced by ``****``.

    Parameter names, order, separators and every other value are kept exactly; a
    parameter without ``=`` or with an empty value hides nothing and stays as it is.
    """
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    parts: list[str] = []
    for part in text.split("&"):
        name, sep, value = part.partition("=")
        if sep and value and is_sensitive_query_name(unquote_plus(name, errors="replace")):
            part = f"{name}={QUERY_MASK}"
        parts.append(part)
    return "&".join(parts)


def mask_url(url: str) -> str:
    """``url`` with :func:`mask_query` applied to its query; the rest unchanged."""
    head, sep, rest = url.partition("?")
    if not sep:
        return url
    query, hash_sign, fragment = rest.partition("#")
    return f"{head}?{mask_query(query)}{hash_sign}{fragment}"


# -------------------------------------------------------------------------- JSON


def mask_json_pointer(node: Any, tokens: tuple[str, ...], replacement: str) -> tuple[Any, int]:
    """Mask what ``tokens`` reaches below ``node``; containers on the way are copied.

    Recursion depth is bounded by the document's depth (``MAX_JSON_DEPTH``).
    Every member with a matching name is followed, duplicates included.
    """
    if not tokens:
        return replacement, 1
    head, rest = tokens[0], tokens[1:]
    if isinstance(node, JsonObject):
        hits = 0
        members: list[tuple[str, Any]] = []
        for key, value in node.members:
            if key == head:
                value, found = mask_json_pointer(value, rest, replacement)
                hits += found
            members.append((key, value))
        return (JsonObject(tuple(members)) if hits else node), hits
    if isinstance(node, list):
        index = _array_index(head, len(node))
        if index is None:
            return node, 0
        value, hits = mask_json_pointer(node[index], rest, replacement)
        if not hits:
            return node, 0
        copy = list(node)
        copy[index] = value
        return copy, hits
    return node, 0


def mask_json_keys(root: Any, keys: set[str], replacement: str) -> tuple[Any, int]:
    """Replace the value of every member whose name (case-folded) is in ``keys``.

    Iterative post-order rebuild: children are finished before their parent.
    """
    count = 0
    done: list[Any] = []
    # ("visit", node) pushes its children; ("build", node, n) pops n results.
    stack: list[tuple[str, Any, int]] = [("visit", root, 0)]
    while stack:
        action, node, size = stack.pop()
        if action == "build":
            built = done[len(done) - size :]
            del done[len(done) - size :]
            if isinstance(node, JsonObject):
                members = tuple(
                    (key, replacement if key.casefold() in keys else value)
                    for (key, _), value in zip(node.members, built, strict=True)
                )
                done.append(JsonObject(members))
            else:
                done.append(built)
            continue
        if isinstance(node, JsonObject):
            stack.append(("build", node, len(node.members)))
            for key, value in reversed(node.members):
                if key.casefold() in keys:
                    count += 1
                    # Masked whole: its children are never visited, so a secret
                    # object is not partially kept.
                    stack.append(("visit", None, 0))
                else:
                    stack.append(("visit", value, 0))
        elif isinstance(node, list):
            stack.append(("build", node, len(node)))
            stack.extend(("visit", value, 0) for value in reversed(node))
        else:
            done.append(node)
    return done[0], count


def _array_index(token: str, length: int) -> int | None:
    # RFC 6901: digits without leading zeros; "-" (past the end) never matches.
    if not token.isascii() or not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        return None
    index = int(token)
    return index if index < length else None
