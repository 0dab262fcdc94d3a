"""Captured requests on disk in the layout ``hookyard export`` writes and the kit loads."""

from __future__ import annotations

import json
from pathlib import Path


def write_export(root: Path, name: str, body: bytes, meta: object = None) -> None:
    """``NAME.body`` with the exact bytes and, unless ``meta`` is None, ``NAME.json``."""
    (root / f"{name}.body").write_bytes(body)
    if meta is not None:
        (root / f"{name}.json").write_text(json.dumps(meta))
