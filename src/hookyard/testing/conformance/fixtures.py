"""Captured requests as attack material: ``NAME.body`` + ``NAME.json`` (``hookyard export``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
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

    def material(self) -> Material:
        return Material(self.name, self.body, self.headers)


def load_fixtures(directory: str | Path) -> list[Fixture]:
    """Every ``NAME.body`` in ``directory`` with its ``NAME.json`` (headers, source, …)."""
    root = Path(directory)
    if not root.is_dir():
        raise UsageError(f"fixtures directory {root} does not exist or is not a directory")
    try:
        bodies = sorted(root.glob("*.body"))
    except OSError as exc:
        raise UsageError(f"cannot read fixtures directory {root}: {exc.strerror or exc}") from None
    if not bodies:
        raise UsageError(f"no NAME.body files in fixtures directory {root}")
    return [_load_fixture(path) for path in bodies]


def _load_fixture(body_path: Path) -> Fixture:
    meta_path = body_path.with_suffix(".json")
    try:
        body = body_path.read_bytes()
        meta: Any = json.loads(meta_path.read_bytes()) if meta_path.exists() else {}
    except OSError as exc:
        raise UsageError(f"cannot read fixture {body_path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"fixture {meta_path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise UsageError(f"fixture {meta_path} must hold a JSON object")
    raw_headers = meta.get("headers", [])
    if not isinstance(raw_headers, list) or not all(
        isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
        for pair in raw_headers
    ):
        raise UsageError(f"fixture {meta_path}: headers must be a list of [name, value] pairs")
    source, event_type = meta.get("source"), meta.get("event_type")
    return Fixture(
        name=body_path.stem,
        body=body,
        headers=tuple((str(n), str(v)) for n, v in raw_headers),
        source=source if isinstance(source, str) else None,
        event_type=event_type if isinstance(event_type, str) else None,
    )
