from __future__ import annotations

import re
from pathlib import Path

import hookyard

ALIAS = re.compile(r"^(Scope|Message|Receive|Send|ASGIApp)\s*=", re.MULTILINE)


def test_asgi_types_are_defined_once() -> None:
    src = Path(hookyard.__file__).parent
    defining = sorted(
        path.relative_to(src).as_posix()
        for path in src.rglob("*.py")
        if ALIAS.search(path.read_text())
    )
    assert defining == ["asgi.py"]
