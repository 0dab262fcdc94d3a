"""Masking secrets out of requests before they leave as a regression corpus.

Unmasked export keeps the stored bytes exact. Masking a JSON body means
re-serialising it, so the exported bytes differ from what the provider signed
and the original signature no longer verifies; ``replay-corpus`` signs each
fixture afresh for that reason. Re-serialisation keeps key order, duplicate
keys and every number's literal text; only spacing changes (output is compact).

A body that is not JSON is never half-masked: it comes back unchanged with
``is_json`` false, and the exporter decides whether that is acceptable.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hookyard.exceptions import UsageError
from hookyard.inspect.render import JsonObject, NotJson, dump_json, load_json, media_type
from hookyard.models import HeaderList

# ----------------------------------------------------------------- JSON pointers


def pointer_token(key: str) -> str:
    """Escape one reference token for an RFC 6901 pointer (``~`` then ``/``)."""
    return key.replace("~", "~0").replace("/", "~1")


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """The unescaped reference tokens of an RFC 6901 pointer; ``""`` is the root.

    Raises :class:`~hookyard.exceptions.UsageError` for a pointer that does not
    start with ``/`` or uses an escape other than ``~0`` / ``~1``.
    """
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise UsageError(f"JSON pointer {pointer!r} must be empty or start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        stripped = token.replace("~0", "").replace("~1", "")
        if "~" in stripped:
            raise UsageError(f"JSON pointer {pointer!r}: '~' must be followed by 0 or 1")
    # ~1 first, then ~0: "~01" is the key "~1", not "/".
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in tokens)


def _array_index(token: str, length: int) -> int | None:
    # RFC 6901: digits without leading zeros; "-" (past the end) never matches.
    if not token.isascii() or not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        return None
    index = int(token)
    return index if index < length else None


# -------------------------------------------------------------------------- body


@dataclass(frozen=True, slots=True)
class SanitizedBody:
    """The result of :func:`sanitize_body`.

    ``body`` is the input, byte for byte, unless something was masked
    (``masked_count > 0``). ``is_json`` false means the body was not touched
    because it is not JSON (``note`` says why). ``unmatched_pointers`` lists
    the requested pointers that pointed at nothing in this body.
    """

    body: bytes
    is_json: bool
    masked_count: int = 0
    unmatched_pointers: tuple[str, ...] = ()
    note: str = ""

    @property
    def changed(self) -> bool:
        return self.masked_count > 0


def sanitize_body(
    body: bytes,
    content_type: str,
    *,
    mask_keys: Collection[str] = (),
    mask_pointers: Sequence[str] = (),
    replacement: str = "***",
) -> SanitizedBody:
    """Replace secret values in a JSON body with ``replacement`` (a JSON string).

    ``mask_keys`` match object member names anywhere in the document, ignoring
    case (over-masking is the safe mistake); the whole value is replaced, even an
    object. ``mask_pointers`` are RFC 6901 pointers (``/data/object/customer_email``,
    ``/a~1b`` for the key ``a/b``); every member a pointer reaches is masked, so a
    repeated key cannot smuggle a second copy past it.

    When nothing matches, the original bytes are returned untouched.
    Raises :class:`~hookyard.exceptions.UsageError` for a malformed pointer,
    before looking at the body, so a typo fails the export rather than one file.
    """
    pointers = [(pointer, parse_pointer(pointer)) for pointer in mask_pointers]
    try:
        loaded = load_json(body, keep_duplicates=True)
    except NotJson as exc:
        declared = media_type(content_type) or "no content type"
        return SanitizedBody(body, is_json=False, note=f"body ({declared}) left unchanged: {exc}")

    root = loaded.value
    count = 0
    unmatched: list[str] = []
    for pointer, tokens in pointers:
        root, hits = _mask_pointer(root, tokens, replacement)
        count += hits
        if not hits:
            unmatched.append(pointer)
    if mask_keys:
        root, hits = _mask_keys(root, {key.casefold() for key in mask_keys}, replacement)
        count += hits
    if not count:
        return SanitizedBody(body, is_json=True, unmatched_pointers=tuple(unmatched))
    return SanitizedBody(
        dump_json(root).encode("utf-8"),
        is_json=True,
        masked_count=count,
        unmatched_pointers=tuple(unmatched),
        note="re-serialised after masking; original signatures no longer verify",
    )


def _mask_pointer(node: Any, tokens: tuple[str, ...], replacement: str) -> tuple[Any, int]:
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
                value, found = _mask_pointer(value, rest, replacement)
                hits += found
            members.append((key, value))
        return (JsonObject(tuple(members)) if hits else node), hits
    if isinstance(node, list):
        index = _array_index(head, len(node))
        if index is None:
            return node, 0
        value, hits = _mask_pointer(node[index], rest, replacement)
        if not hits:
            return node, 0
        copy = list(node)
        copy[index] = value
        return copy, hits
    return node, 0


def _mask_keys(root: Any, keys: set[str], replacement: str) -> tuple[Any, int]:
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


# ----------------------------------------------------------------------- headers


def drop_headers(headers: HeaderList, names: Iterable[str]) -> HeaderList:
    """``headers`` without any of ``names`` (case-insensitive, every repeat), order kept."""
    unwanted = {name.strip().lower().encode("latin-1") for name in names}
    return tuple((name, value) for name, value in headers if name.lower() not in unwanted)
