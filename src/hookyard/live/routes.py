"""``hookyard listen --map FILE``: which local URL each event type goes to (pure).

The file is a small TOML table, event type glob → a path (joined to the origin of
``--forward-to``) or a full URL, tried in file order; an event no glob matches goes to
``--forward-to`` itself::

    "invoice.*"        = "/billing/webhooks"
    "customer.created" = "http://127.0.0.1:4000/hooks"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from hookyard.exceptions import UsageError
from hookyard.store.filters import glob_matcher

MAX_ROUTES = 200


@dataclass(frozen=True, slots=True)
class Routes:
    default: str
    routes: tuple[tuple[str, str], ...] = ()

    def target(self, event_type: str | None) -> str:
        """The URL of an event of ``event_type`` (an untyped event matches no glob)."""
        if event_type is not None:
            for pattern, url in self.routes:
                if glob_matcher(pattern)(event_type):
                    return url
        return self.default

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.default, *(url for _, url in self.routes))))


def load_routes(default: str, path: str | None) -> Routes:
    if path is None:
        return Routes(default)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--map {path}: cannot read it: {_reason(exc)}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--map {path}: not valid TOML: {exc}") from None
    return parse_routes(default, table, label=f"--map {path}")


def parse_routes(default: str, table: dict[str, object], *, label: str = "--map") -> Routes:
    if not table:
        raise UsageError(f'{label}: no routes; give lines like "invoice.*" = "/billing"')
    if len(table) > MAX_ROUTES:
        raise UsageError(f"{label}: at most {MAX_ROUTES} routes")
    routes = []
    for pattern, value in table.items():
        if not pattern or any(ord(c) < 32 for c in pattern):
            raise UsageError(f"{label}: {pattern!r} is not an event type glob")
        if not isinstance(value, str):
            raise UsageError(
                f"{label}: {pattern!r} must map to a path or URL (a string), "
                f"not a {type(value).__name__}"
            )
        routes.append((pattern, _target(default, value, f"{label}: {pattern!r}")))
    return Routes(default, tuple(routes))


def _target(default: str, value: str, label: str) -> str:
    if value.startswith("/"):
        base = urlsplit(default)
        path, _, query = value.partition("?")
        return urlunsplit((base.scheme, base.netloc, path, query, ""))
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return value
    raise UsageError(f"{label}: {value!r} is neither a path (/...) nor an http(s) URL")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return "not UTF-8 text"
