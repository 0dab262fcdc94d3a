"""URLs as hookyard prints them: the password masked, everything else as given.

Database, destination and alert URLs may carry credentials (``postgresql://app:pw@db/x``,
``https://user:token@hooks.example``, libpq's ``?password=``). Every banner, start line
and error that shows one shows :func:`mask_url` of it, so a log or a terminal recording
never holds the password. This module imports nothing of hookyard's.
"""

from __future__ import annotations

import re

MASK = "***"
#: Query parameters that are a password by another name (libpq reads ``password``).
_SECRET_PARAMS = re.compile(r"(?i)([?&;](?:password|passwd|pwd|sslpassword)=)[^&;#]*")


def mask_url(url: str) -> str:
    """``url`` with the password of its user info and password parameters as ``***``.

    Plain text surgery, not ``urlsplit``: it must work on a URL too broken to parse (the
    one a config error is about) and leave every other character as given.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    query_at = min((i for i in map(rest.find, "?#") if i >= 0), default=len(rest))
    # The user info ends at the last "@" before the query: a password may hold an
    # unescaped "/" (people write them so), and masking a path's "h:80/a@" beats a leak.
    at_sign = rest.rfind("@", 0, query_at)
    start = at_sign + 1 if at_sign >= 0 and ":" in rest[:at_sign] else 0
    end = min((i for i in (rest.find(c, start) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    tail = _SECRET_PARAMS.sub(lambda found: found.group(1) + MASK, tail)
    return f"{scheme}://{authority}{tail}"
