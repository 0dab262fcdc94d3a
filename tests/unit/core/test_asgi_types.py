from __future__ import annotations

import re
from pathlib import Path

import hookyard

# Its owner moves it onto hookyard.asgi in their own change; drop it then.
NOT_YET_ON_THE_TYPES = ("testing/conformance.py",)
ALIAS = re.compile(r"^(Scope|Message|Receive|Send|ASGIApp)\s*=", re.MULTILINE)


def test_asgi_types_are_defined_once() -> None:
    src = Path(hookyard.__file__).parent
    defining = sorted(
        path.relative_to(src).as_posix()
        for path in src.rglob("*.py")
        if ALIAS.search(path.read_text())
        and path.relative_to(src).as_posix() not in NOT_YET_ON_THE_TYPES
    )
    assert defining == ["asgi.py"]
