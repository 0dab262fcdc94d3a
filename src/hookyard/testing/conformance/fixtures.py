"""Captured requests read from disk: ``NAME.body`` + ``NAME.json``, as ``hookyard export`` writes.

One loader for every reader of that layout: the battery's ``--fixtures`` and the corpus
helper (``hookyard.testing.corpus``) read the same files the same way, and differ only
in the words their error messages use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookyard.exceptions import UsageError
from hookyard.testing.conformance.model import Material
from hookyard.testing.signing import Headers


@dataclass(frozen=True, slots=True)
class Fixture:
    """A captured request in the layout ``hookyard export`` writes: NAME.body + NAME.json."""

    name: str
    body: bytes
    headers: Headers = ()
    source: str | None = None
    event_type: str | None = None
    #: The whole ``NAME.json`` object (empty when there is none), for fields beyond these.
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def material(self) -> Material:
        return Material(self.name, self.body, self.headers)


@dataclass(frozen=True, slots=True)
class Wording:
    """What error messages call the directory and one of its files."""

    directory: str
    file: str


FIXTURES = Wording("fixtures directory", "fixture")
CORPUS = Wording("corpus directory", "corpus file")


def load_fixtures(
    directory: str | Path, *, allow_empty: bool = False, wording: Wording = FIXTURES
) -> list[Fixture]:
    """Every ``NAME.body`` in ``directory`` with its ``NAME.json`` (headers, source, …), by name.

    Raises ``UsageError`` for a missing or unreadable directory, a malformed
    ``NAME.json``, and, unless ``allow_empty``, a directory without bodies (a set of
    fixtures that silently vanished would otherwise pass everything).
    """
    root = Path(directory)
    if not root.is_dir():
        raise UsageError(f"{wording.directory} {root} does not exist or is not a directory")
    try:
        bodies = sorted(path for path in root.iterdir() if path.suffix == ".body")
    except OSError as exc:
        raise UsageError(f"cannot read {wording.directory} {root}: {exc.strerror or exc}") from None
    if not bodies and not allow_empty:
        raise UsageError(f"no NAME.body files in {wording.directory} {root}")
    return [load_fixture(path, wording=wording) for path in bodies]


def load_fixture(body_path: Path, *, wording: Wording = FIXTURES) -> Fixture:
    """``NAME.body`` and, when present, ``NAME.json`` next to it."""
    meta_path = body_path.with_suffix(".json")
    try:
        body = body_path.read_bytes()
        meta: Any = json.loads(meta_path.read_bytes()) if meta_path.exists() else {}
    except OSError as exc:
        raise UsageError(f"cannot read {wording.file} {body_path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{wording.file} {meta_path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise UsageError(f"{wording.file} {meta_path} must hold a JSON object")
    return Fixture(
        name=body_path.stem,
        body=body,
        headers=_headers(meta.get("headers", []), meta_path, wording),
        source=_text(meta, "source"),
        event_type=_text(meta, "event_type"),
        meta=meta,
    )


def _headers(raw: object, where: Path, wording: Wording) -> Headers:
    if not isinstance(raw, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
        for pair in raw
    ):
        raise UsageError(f"{wording.file} {where}: headers must be a list of [name, value] pairs")
    return tuple((name, value) for name, value in raw)


def _text(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return value if isinstance(value, str) else None
