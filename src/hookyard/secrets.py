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
import stat
from pathlib import Path

FORMS = "a literal, env:NAME or file:PATH"
#: A secret file larger than this is a mistake (``file:/dev/zero``, a log), not a key.
MAX_FILE_BYTES = 64 * 1024


def resolve_secret(value: str) -> str:
    """A literal secret, ``env:NAME`` or ``file:PATH`` (trailing newline dropped)."""
    if value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]
    if value.startswith("file:"):
        return _read_secret_file(Path(value[5:]).expanduser())
    return value


def _read_secret_file(path: Path) -> str:
    """A regular file of at most :data:`MAX_FILE_BYTES`, as UTF-8 text.

    Checked before reading: a FIFO would block start-up until something writes to it, and
    ``/dev/zero`` would be read until memory runs out. Opened with ``O_NONBLOCK`` too, so
    a path swapped for a FIFO between the check and the open cannot block either.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ValueError(f"secret file {path} is not a regular file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ValueError(f"secret file {path} is not a regular file")
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"secret file {path} is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValueError(f"secret file {path} is not UTF-8 text") from None


def resolve_secret_value(value: object) -> str:
    """:func:`resolve_secret` of a value read from TOML, which need not be a string."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string ({FORMS})")
    return resolve_secret(value)
