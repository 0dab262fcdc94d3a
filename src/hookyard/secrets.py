"""Secret references: a literal, ``env:NAME`` or ``file:PATH``, resolved in one place.

Every place that takes a secret (source secrets, the admin token, a destination's
signing secret and header values, ``--secret`` and ``--sign-secret`` flags) resolves it
here, so the forms and their error messages are the same everywhere. A problem is a
``ValueError`` whose text the caller prefixes with the key or flag it came from.

This module imports nothing of hookyard's: config and delivery both depend on it, and
neither needs the other for it.
"""

from __future__ import annotations

import os
from pathlib import Path

FORMS = "a literal, env:NAME or file:PATH"


def resolve_secret(value: str) -> str:
    """A literal secret, ``env:NAME`` or ``file:PATH`` (trailing newline dropped)."""
    if value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]
    if value.startswith("file:"):
        path = Path(value[5:]).expanduser()
        try:
            return path.read_text().rstrip("\r\n")
        except OSError as exc:
            raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None
    return value


def resolve_secret_value(value: object) -> str:
    """:func:`resolve_secret` of a value read from TOML, which need not be a string."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string ({FORMS})")
    return resolve_secret(value)
