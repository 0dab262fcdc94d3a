"""Text a request puts into text columns (or a filter compares with them), made storable.

The body and the headers are stored as bytes (``bytea``/``BLOB``) and are never touched
here. The few values kept as text (the provider's event id and type, the path, the
content type, the client address, the verdict's reason) come from the sender, and
PostgreSQL refuses some text: a NUL character, and anything that is not UTF-8 (a lone
surrogate, which a JSON ``\\ud800`` escape decodes to). One refused value used to fail
the whole group-commit batch it was in.

* The event id and type are labels: a value that is not storable, or longer than
  ``MAX_LABEL_CHARS``, is no id (no dedup) and no type. Replacing characters would make
  up an id the provider never sent, and two different ids could collide.
* The other columns describe what arrived (its bytes are in the headers): each NUL or
  lone surrogate there becomes U+FFFD, the rest is kept.

Both checks are a few string scans per request; ASCII, the common case, skips the
UTF-8 check.
"""

from __future__ import annotations

import re

#: Longest event id or type kept, in characters. At 4 UTF-8 bytes a character this stays
#: under PostgreSQL's limit for a btree entry (2704 bytes), which the dedup key and the
#: type index must fit in; real providers' ids and types are under 100 characters.
MAX_LABEL_CHARS = 512

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> bool:
    """Whether every backend can keep ``value`` as text: no NUL, valid UTF-8."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def label(value: str | None) -> str | None:
    """An event id or type as it can be stored, or None when it cannot be (see above)."""
    if value is None or len(value) > MAX_LABEL_CHARS or not storable(value):
        return None
    return value


def text(value: str) -> str:
    """A descriptive text value with each unstorable character replaced by U+FFFD."""
    return value if storable(value) else _UNSTORABLE.sub("\ufffd", value)
