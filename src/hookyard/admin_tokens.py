"""Named admin tokens: ``[server] admin_tokens = [{name, token, role}]``.

Each token has a name (what the audit trail records as the actor) and a role:
``read`` may use every ``GET`` of ``/api``, ``operate`` may also change state (replay,
pause, resume, enable). The single ``admin_token`` of earlier configs is an
``operate`` token named ``admin``. Parsing is pure; ``hookyard.config`` calls it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from hookyard.exceptions import ConfigError

Role = Literal["read", "operate"]
ROLES: tuple[str, ...] = get_args(Role)
LEGACY_NAME = "admin"
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_KEYS = frozenset({"name", "token", "role"})


@dataclass(frozen=True)
class AdminToken:
    name: str
    token: str = field(repr=False)
    role: Role = "operate"

    @property
    def may_change(self) -> bool:
        return self.role == "operate"


def parse_admin_tokens(
    value: object, *, legacy: str | None, resolve: Callable[[object, str], str]
) -> tuple[AdminToken, ...]:
    """The ``admin_tokens`` list (``resolve`` turns ``env:``/``file:`` references into
    the token), after ``legacy`` (``admin_token``) as ``admin``. Raises ``ConfigError``
    naming ``server.admin_tokens[i].key``."""
    tokens = [AdminToken(LEGACY_NAME, legacy, "operate")] if legacy is not None else []
    if value is None:
        return tuple(tokens)
    if not isinstance(value, list):
        raise ConfigError(
            'server.admin_tokens: must be a list of tables like {name = "ci", '
            'token = "env:CI_TOKEN", role = "read"}'
        )
    for i, item in enumerate(value):
        tokens.append(_token(item, f"server.admin_tokens[{i}]", resolve))
    names = [t.name for t in tokens]
    for name in names:
        if names.count(name) > 1:
            clash = " (admin_token is named admin)" if name == LEGACY_NAME and legacy else ""
            raise ConfigError(f"server.admin_tokens: the name {name!r} is used twice{clash}")
    secrets = [t.token for t in tokens]
    if len(set(secrets)) < len(secrets):
        raise ConfigError("server.admin_tokens: two tokens are the same; give each its own")
    return tuple(tokens)


def _token(item: object, key: str, resolve: Callable[[object, str], str]) -> AdminToken:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{key}: must be a table with name, token and role")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}: unknown key")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{key}.name: required, 1-64 of A-Z, a-z, 0-9, '.', '_', '-'")
    if "token" not in item:
        raise ConfigError(f"{key}.token: required")
    token = resolve(item["token"], f"{key}.token")
    if not token.strip():
        raise ConfigError(f"{key}.token: is empty or blank (after env:/file: resolution)")
    if any(c.isspace() or ord(c) < 32 for c in token):
        raise ConfigError(f"{key}.token: must not hold spaces or control characters")
    role = item.get("role")
    if role not in ROLES:
        raise ConfigError(f'{key}.role: required, "read" or "operate"')
    return AdminToken(name, token, role)
