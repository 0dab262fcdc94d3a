"""What a mirrored body becomes: masked, reduced to its envelope, or left as stored.

Pure functions over bytes. ``mask`` entries without a dot are member names masked
anywhere in a JSON document (ignoring case) and field names in a form body; dotted
entries are paths from the root (``data.object.email``). ``payload = "envelope"`` keeps
the top-level members that say what the event is (id, type, created time, provider
metadata) and replaces everything else with a synthetic value of the same shape: same
keys, same JSON types, fake values derived from the member's path, so the same event
always yields the same bytes. A body that the configured shaping cannot be applied to
(masking a body that is neither JSON nor a form, an envelope of a non-JSON body) is not
sent at all: nothing unmasked leaves by accident.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hookyard.inspect.exact_json import JsonNumber, JsonObject, NotJson, dump_json, load_json
from hookyard.inspect.masking import mask_json_keys, mask_json_pointer
from hookyard.inspect.sanitize import parse_pointer, pointer_token
from hookyard.inspect.text import media_type

MASK = "***"
#: Top-level members an envelope keeps as they are, across the common providers.
ENVELOPE_KEYS = frozenset(
    {
        "id",
        "type",
        "event",
        "event_type",
        "eventtype",
        "event_id",
        "object",
        "created",
        "created_at",
        "timestamp",
        "occurred_at",
        "api_version",
        "livemode",
        "webhook_id",
        "topic",
        "action",
        "version",
        "source",
        "specversion",
        "time",
    }
)
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class MaskSpec:
    #: Member or field names, case-folded, masked wherever they appear.
    keys: frozenset[str] = frozenset()
    #: RFC 6901 pointers built from the dotted paths.
    pointers: tuple[str, ...] = ()
    #: The dotted paths as written, for form field names.
    paths: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.keys or self.pointers)


@dataclass(frozen=True, slots=True)
class Shaped:
    body: bytes
    changed: bool


@dataclass(frozen=True, slots=True)
class Unshapeable:
    reason: str


def parse_mask(entries: tuple[str, ...]) -> MaskSpec:
    keys: set[str] = set()
    pointers: list[str] = []
    for entry in entries:
        if "." in entry:
            parts = entry.split(".")
            if any(not part for part in parts):
                raise ValueError(f"{entry!r} has an empty path segment")
            pointers.append("/" + "/".join(pointer_token(part) for part in parts))
        else:
            keys.add(entry.casefold())
    return MaskSpec(frozenset(keys), tuple(pointers), tuple(e for e in entries if "." in e))


def shape_body(
    body: bytes, content_type: str, mask: MaskSpec, *, envelope: bool
) -> Shaped | Unshapeable:
    if not mask and not envelope:
        return Shaped(body, changed=False)
    if media_type(content_type) == FORM and not envelope:
        return _mask_form(body, mask)
    try:
        root = load_json(body, keep_duplicates=True).value
    except NotJson as exc:
        what = "an envelope" if envelope else "masking"
        return Unshapeable(f"{what} needs a JSON body; {exc}")
    count = 0
    for pointer in mask.pointers:
        root, hits = mask_json_pointer(root, parse_pointer(pointer), MASK)
        count += hits
    if mask.keys:
        root, hits = mask_json_keys(root, set(mask.keys), MASK)
        count += hits
    if envelope:
        if not isinstance(root, JsonObject):
            return Unshapeable("an envelope needs a JSON object body")
        root = _envelope(root)
    elif not count:
        return Shaped(body, changed=False)
    return Shaped(dump_json(root).encode("utf-8"), changed=True)


def _mask_form(body: bytes, mask: MaskSpec) -> Shaped | Unshapeable:
    try:
        fields = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return Unshapeable("masking a form body needs ASCII (percent-encoded) bytes")
    wanted = set(mask.keys) | {path.casefold() for path in mask.paths}
    masked = [(name, MASK if name.casefold() in wanted else value) for name, value in fields]
    if masked == fields:
        return Shaped(body, changed=False)
    return Shaped(urlencode(masked).encode("ascii"), changed=True)


def _envelope(root: JsonObject) -> JsonObject:
    return JsonObject(
        tuple(
            (name, value if name.casefold() in ENVELOPE_KEYS else synthetic(value, "/" + name))
            for name, value in root.members
        )
    )


def synthetic(value: Any, path: str) -> Any:
    """A value of ``value``'s shape and JSON types whose leaves depend only on ``path``."""
    if isinstance(value, JsonObject):
        return JsonObject(
            tuple(
                (name, synthetic(member, f"{path}/{pointer_token(name)}"))
                for name, member in value.members
            )
        )
    if isinstance(value, list):
        return [synthetic(item, f"{path}/{index}") for index, item in enumerate(value)]
    if value is None:
        return None
    seed = hashlib.sha256(path.encode("utf-8", "surrogatepass")).digest()
    if isinstance(value, bool):
        return bool(seed[0] & 1)
    if isinstance(value, JsonNumber):
        whole = int.from_bytes(seed[:3], "big") % 100_000
        return JsonNumber(str(whole) if value.is_integer else f"{whole}.5")
    if isinstance(value, str):
        return "synthetic-" + seed[:6].hex()
    return value
