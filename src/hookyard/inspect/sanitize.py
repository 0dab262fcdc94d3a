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

from hookyard.exceptions import UsageError
from hookyard.inspect.exact_json import NotJson, dump_json, load_json
from hookyard.inspect.masking import mask_json_keys, mask_json_pointer
from hookyard.inspect.text import media_type
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
        root, hits = mask_json_pointer(root, tokens, replacement)
        count += hits
        if not hits:
            unmatched.append(pointer)
    if mask_keys:
        root, hits = mask_json_keys(root, {key.casefold() for key in mask_keys}, replacement)
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


# ----------------------------------------------------------------------- headers


def drop_headers(headers: HeaderList, names: Iterable[str]) -> HeaderList:
    """``headers`` without any of ``names`` (case-insensitive, every repeat), order kept."""
    unwanted = {name.strip().lower().encode("latin-1") for name in names}
    return tuple((name, value) for name, value in headers if name.lower() not in unwanted)
