"""Settings: one TOML file, secrets by reference, and errors that name file, key and problem."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hookyard.admin_tokens import AdminToken, parse_admin_tokens
from hookyard.canary import NAME as CANARY_NAME
from hookyard.canary import SCHEME as CANARY_SCHEME
from hookyard.canary import CanaryConfig, canary_destination, parse_canary
from hookyard.delivery.alerts import AlertConfig, parse_alerts
from hookyard.delivery.destinations import Destination, parse_destinations
from hookyard.delivery.netpolicy import IPNetwork, NetPolicy, parse_networks
from hookyard.durations import parse_duration
from hookyard.exceptions import ConfigError, SchemeError
from hookyard.http_limits import LIMIT_KEYS, HttpLimits
from hookyard.keyring import PLAIN, Keyring, keyring_from
from hookyard.mirror.settings import Mirror, parse_mirrors
from hookyard.redaction.fields import FieldRedaction, check_fields
from hookyard.redaction.headers import DEFAULT_REDACT_HEADERS, header_names
from hookyard.retention.policy import RetentionPolicy, SourceRetention, parse_retention
from hookyard.secrets import resolve_secret_value
from hookyard.signatures.base import DEFAULT_TOLERANCE_SECONDS, Scheme
from hookyard.signatures.registry import create_scheme
from hookyard.store.registry import check_configured_url

DEFAULT_DATABASE = "sqlite:///hookyard.db"
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_DEDUP_WINDOW = 72 * 3600
SOURCE_KEYS = frozenset(
    {"scheme", "secrets", "tolerance_seconds", "max_body_bytes", "dedup_window", "public_url"}
)
#: The top-level tables hookyard reads; any other is a mistake, not a feature to ignore.
TABLES = ("server", "sources", "destinations", "alerts", "mirrors", "canary")
SERVER_KEYS = frozenset(
    {
        "host",
        "port",
        "database",
        "admin_token",
        "max_body_bytes",
        "queue_size",
        "access_log",
        "allow_networks",
        "admin_tokens",
        "lease_seconds",
    }
)
#: Who may reach the admin API (``hookyard.api.guard`` and ``serve``'s start-up check).
ADMIN_EXPOSURE_KEYS = frozenset({"allow_open_admin", "allowed_hosts", "allowed_origins"})


#: A source name is a path segment (``/in/{name}``) and shows in logs and metrics.
SOURCE_NAME = re.compile(r"[A-Za-z0-9._-]+")
#: Keys whose values are secrets; a value without ``env:``/``file:`` is one in clear.
SECRET_KEYS = frozenset({"secrets", "secret", "admin_token", "token"})

# Encryption at rest (hookyard.keyring): the keys, first seals, all open (see _keyring).
SERVER_KEYS |= {"encryption_key"}
SECRET_KEYS |= {"encryption_key"}

# What one client may make the server hold (header size, time, connections): see _limits.
SERVER_KEYS |= LIMIT_KEYS

# Retention (hookyard.retention): how long events stay, and how often the purge runs.
SERVER_KEYS |= {"retention", "dlq_retention", "purge_interval"}
SOURCE_KEYS |= {"retention"}
# Redaction (hookyard.redaction): header values stored as a marker, body fields replaced.
SOURCE_KEYS |= {"redact_headers", "redact_fields", "redact_after"}
DEFAULT_PURGE_INTERVAL = 3600.0
# -- operations (metrics, backlog sampling) ---------------------------------------------
#: ``metrics = false`` only to measure their cost; ``sample_interval`` is how often one
#: process reads the dispatch backlog from the store for ``/metrics`` and alerts.
SERVER_KEYS |= {"metrics", "sample_interval"}
DEFAULT_SAMPLE_SECONDS = 5.0


@dataclass(frozen=True)
class SourceConfig:
    name: str
    scheme_name: str
    scheme: Scheme
    secrets: tuple[str, ...] = ()
    tolerance_seconds: int | None = DEFAULT_TOLERANCE_SECONDS
    max_body_bytes: int = DEFAULT_MAX_BODY
    dedup_window_seconds: float = DEFAULT_DEDUP_WINDOW
    #: The URL the provider posts to, for schemes that sign it (Square, Twilio).
    public_url: str | None = None
    #: Seconds this source's events are kept, "keep", or None for ``[server] retention``.
    retention: SourceRetention = None
    #: Headers whose values are stored as a marker (lower-cased names), after verifying.
    redact_headers: frozenset[bytes] = header_names(DEFAULT_REDACT_HEADERS)
    #: JSON keys or pointers replaced in the stored body once it is ``redact_after`` old.
    redact_fields: tuple[str, ...] = ()
    redact_after: float | None = None

    def __repr__(self) -> str:  # never show secrets
        return f"SourceConfig(name={self.name!r}, scheme={self.scheme_name!r})"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    database: str = DEFAULT_DATABASE
    admin_token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    limits: HttpLimits = field(default_factory=HttpLimits)
    queue_size: int = 10_000
    access_log: bool = True
    allow_open_admin: bool = False
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    #: Networks the SSRF guard lets deliveries, replays and alerts connect to.
    allow_networks: tuple[IPNetwork, ...] = ()
    # Retention: seconds events and dead letters are kept (None: kept), purge period.
    retention: float | None = None
    dlq_retention: float | None = None
    purge_interval: float = DEFAULT_PURGE_INTERVAL
    #: ``encryption_key``: what seals bodies and header lists at rest (none: in clear).
    keyring: Keyring = PLAIN
    # -- operations
    metrics: bool = True
    sample_interval: float = DEFAULT_SAMPLE_SECONDS
    #: Named admin tokens, ``admin_token`` first (as ``admin``); empty: /api is open.
    admin_tokens: tuple[AdminToken, ...] = ()
    #: How long a worker's claim lasts unless renewed; None: the worker's default.
    lease_seconds: float | None = None

    @property
    def net_policy(self) -> NetPolicy:
        return NetPolicy(self.allow_networks)

    def __repr__(self) -> str:
        return f"ServerConfig(host={self.host!r}, port={self.port}, database={self.database!r})"


@dataclass(frozen=True)
class Settings:
    server: ServerConfig = field(default_factory=ServerConfig)
    sources: Mapping[str, SourceConfig] = field(default_factory=dict)
    destinations: Mapping[str, Destination] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None
    alerts: AlertConfig | None = None
    mirrors: Mapping[str, Mirror] = field(default_factory=dict)

    @property
    def field_redactions(self) -> list[FieldRedaction]:
        return [
            FieldRedaction(name, source.redact_fields, source.redact_after)
            for name, source in sorted(self.sources.items())
            if source.redact_fields and source.redact_after is not None
        ]

    @property
    def retention_policy(self) -> RetentionPolicy:
        return RetentionPolicy.from_settings(
            self.server.retention,
            self.server.dlq_retention,
            {name: source.retention for name, source in self.sources.items()},
            {name: source.dedup_window_seconds for name, source in self.sources.items()},
        )

    canary: CanaryConfig | None = None


class _Reader:
    """Reads typed values out of a TOML table, raising ConfigError with the full key path."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {key}: {problem}")

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key.rpartition(".")[2], {})
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a table")
        return value

    def integer(self, data: Mapping[str, Any], key: str, default: int, *, minimum: int = 0) -> int:
        value = data.get(key.rpartition(".")[2], default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        return value

    def string(self, data: Mapping[str, Any], key: str, default: str | None) -> str | None:
        value = data.get(key.rpartition(".")[2], default)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {value!r}")
        return value

    def strings(self, data: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = data.get(key.rpartition(".")[2], [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be a list of non-empty strings")
        return tuple(value)

    def secret(self, value: object, key: str) -> str:
        try:
            return resolve_secret_value(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None


def _server(reader: _Reader, data: Mapping[str, Any]) -> ServerConfig:
    table = reader.table(data, "server")
    unknown = sorted(set(table) - SERVER_KEYS - ADMIN_EXPOSURE_KEYS)
    if unknown:
        raise reader.fail(f"server.{unknown[0]}", "unknown key")
    database = reader.string(table, "server.database", DEFAULT_DATABASE) or DEFAULT_DATABASE
    try:
        check_configured_url(database)
    except ValueError as exc:
        raise reader.fail("server.database", str(exc)) from None
    token = table.get("admin_token")
    legacy = None if token is None else _admin_token(reader, token)
    access_log = table.get("access_log", True)
    if not isinstance(access_log, bool):
        raise reader.fail("server.access_log", "must be true or false")
    allow_open_admin = table.get("allow_open_admin", False)
    if not isinstance(allow_open_admin, bool):
        raise reader.fail("server.allow_open_admin", "must be true or false")
    networks = table.get("allow_networks", [])
    if not isinstance(networks, list) or not all(isinstance(n, str) for n in networks):
        raise reader.fail("server.allow_networks", "must be a list of CIDRs such as 10.0.0.0/8")
    try:
        allow_networks = parse_networks(networks)
    except ValueError as exc:
        raise reader.fail("server.allow_networks", str(exc)) from None
    metrics = table.get("metrics", True)
    if not isinstance(metrics, bool):
        raise reader.fail("server.metrics", "must be true or false")
    sample_interval = _timeout(reader, table, "server.sample_interval", DEFAULT_SAMPLE_SECONDS)
    return ServerConfig(
        metrics=metrics,
        sample_interval=sample_interval,
        host=reader.string(table, "server.host", "127.0.0.1") or "127.0.0.1",
        port=reader.integer(table, "server.port", 8000, minimum=0),
        database=database,
        admin_token=legacy,
        max_body_bytes=reader.integer(table, "server.max_body_bytes", DEFAULT_MAX_BODY, minimum=1),
        limits=_limits(reader, table),
        queue_size=reader.integer(table, "server.queue_size", 10_000, minimum=1),
        access_log=access_log,
        allow_open_admin=allow_open_admin,
        allowed_hosts=_allowed_hosts(reader, table),
        allowed_origins=_allowed_origins(reader, table),
        allow_networks=allow_networks,
        **_retention(reader, table),
        keyring=_keyring(reader, table.get("encryption_key")),
        admin_tokens=_admin_tokens(reader, table, legacy),
        lease_seconds=_lease(reader, table),
    )


def _retention(reader: _Reader, table: Mapping[str, Any]) -> dict[str, Any]:
    """``retention``, ``dlq_retention`` (a duration; absent keeps) and ``purge_interval``."""
    values: dict[str, Any] = {}
    for key in ("retention", "dlq_retention"):
        if key in table:
            seconds = _retention_value(reader, table[key], f"server.{key}")
            values[key] = None if seconds == "keep" else seconds
    values["purge_interval"] = _timeout(
        reader, table, "server.purge_interval", DEFAULT_PURGE_INTERVAL
    )
    return values


def _retention_value(reader: _Reader, value: object, key: str) -> float | Literal["keep"]:
    try:
        return parse_retention(value)
    except ValueError as exc:
        raise reader.fail(key, str(exc)) from None


def _lease(reader: _Reader, table: Mapping[str, Any]) -> float | None:
    if "lease_seconds" not in table:
        return None
    seconds = _timeout(reader, table, "server.lease_seconds", 0)
    if seconds < 1:
        raise reader.fail("server.lease_seconds", f"must be at least 1 second, got {seconds:g}")
    return seconds


def _admin_tokens(
    reader: _Reader, table: Mapping[str, Any], legacy: str | None
) -> tuple[AdminToken, ...]:
    def resolve(value: object, key: str) -> str:
        try:
            return resolve_secret_value(value)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None

    try:
        return parse_admin_tokens(table.get("admin_tokens"), legacy=legacy, resolve=resolve)
    except ConfigError as exc:
        raise ConfigError(f"{reader.origin}: {exc}") from None


def _admin_token(reader: _Reader, value: object) -> str:
    token = reader.secret(value, "server.admin_token")
    if not token.strip():
        # An empty token used to mean "no token": /api open, silently.
        raise reader.fail(
            "server.admin_token",
            "is empty or blank (after env:/file: resolution); "
            "set a token, or remove the key to run without one",
        )
    return token


def _keyring(reader: _Reader, value: object) -> Keyring:
    """``encryption_key``: one key or a list, each a secret reference (``env:NAME``,
    ``file:PATH``) or a table ``{id = "...", key = "env:NAME"}``; the first seals."""
    key = "server.encryption_key"
    if value is None:
        return PLAIN
    entries = value if isinstance(value, list) else [value]
    if not entries:
        raise reader.fail(key, "is an empty list; remove the key to store payloads in clear")
    pairs: list[tuple[str | None, str]] = []
    for index, entry in enumerate(entries):
        where = f"{key}[{index}]" if isinstance(value, list) else key
        if isinstance(entry, Mapping):
            unknown = sorted(set(entry) - {"id", "key"})
            if unknown or "key" not in entry:
                raise reader.fail(where, 'a table must be {id = "NAME", key = "env:VAR"}')
            given_id = entry.get("id")
            if given_id is not None and not isinstance(given_id, str):
                raise reader.fail(f"{where}.id", "must be a string")
            pairs.append((given_id, reader.secret(entry["key"], f"{where}.key")))
        else:
            pairs.append((None, reader.secret(entry, where)))
    try:
        return keyring_from(pairs)
    except ValueError as exc:
        raise reader.fail(key, str(exc)) from None


def _allowed_hosts(reader: _Reader, table: Mapping[str, Any]) -> tuple[str, ...]:
    hosts = reader.strings(table, "server.allowed_hosts")
    for host in hosts:
        if any(c.isspace() or c in "/@?#" for c in host):
            raise reader.fail("server.allowed_hosts", f"{host!r} is not a host name")
    return hosts


def _allowed_origins(reader: _Reader, table: Mapping[str, Any]) -> tuple[str, ...]:
    origins = reader.strings(table, "server.allowed_origins")
    for origin in origins:
        scheme, sep, authority = origin.rstrip("/").partition("://")
        if scheme.lower() not in ("http", "https") or not sep or not authority or "/" in authority:
            raise reader.fail(
                "server.allowed_origins", f"{origin!r} is not an origin like https://host:port"
            )
    return origins


def _limits(reader: _Reader, table: Mapping[str, Any]) -> HttpLimits:
    default = HttpLimits()
    return HttpLimits(
        # Below 1 KiB ordinary requests would be refused.
        max_header_bytes=reader.integer(
            table, "server.max_header_bytes", default.max_header_bytes, minimum=1024
        ),
        max_headers=reader.integer(table, "server.max_headers", default.max_headers, minimum=1),
        header_timeout=_timeout(reader, table, "server.header_timeout", default.header_timeout),
        body_timeout=_timeout(reader, table, "server.body_timeout", default.body_timeout),
        max_connections=reader.integer(
            table, "server.max_connections", default.max_connections, minimum=1
        ),
    )


def _timeout(reader: _Reader, table: Mapping[str, Any], key: str, default: float) -> float:
    try:
        seconds = parse_duration(table.get(key.rpartition(".")[2], default))
    except ValueError as exc:
        raise reader.fail(key, str(exc)) from None
    if seconds <= 0:
        raise reader.fail(key, f"must be more than 0, got {seconds:g}")
    return seconds


def _source(
    reader: _Reader, name: str, table: Mapping[str, Any], server: ServerConfig
) -> SourceConfig:
    key = f"sources.{name}"
    if not SOURCE_NAME.fullmatch(name):
        raise reader.fail(
            f"sources.{name!r}", "a source name may hold only A-Z, a-z, 0-9, '.', '_' and '-'"
        )
    if not isinstance(table, Mapping):
        raise reader.fail(key, "must be a table")
    scheme_name = reader.string(table, f"{key}.scheme", "none") or "none"
    raw_secrets = table.get("secrets", [])
    if isinstance(raw_secrets, str):
        raw_secrets = [raw_secrets]
    if not isinstance(raw_secrets, list):
        raise reader.fail(f"{key}.secrets", "must be a list of strings")
    secrets = tuple(reader.secret(v, f"{key}.secrets[{i}]") for i, v in enumerate(raw_secrets))
    options = {k: v for k, v in table.items() if k not in SOURCE_KEYS}
    try:
        scheme = create_scheme(scheme_name, options)
        for secret in secrets:
            scheme.check_secret(secret)
    except SchemeError as exc:
        raise reader.fail(key, str(exc)) from None
    if scheme_name != "none" and not secrets:
        raise reader.fail(f"{key}.secrets", f"scheme {scheme_name!r} needs at least one secret")
    tolerance: int | None = reader.integer(
        table, f"{key}.tolerance_seconds", DEFAULT_TOLERANCE_SECONDS, minimum=0
    )
    try:
        window = parse_duration(table.get("dedup_window", DEFAULT_DEDUP_WINDOW))
    except ValueError as exc:
        raise reader.fail(f"{key}.dedup_window", str(exc)) from None
    return SourceConfig(
        name=name,
        scheme_name=scheme_name,
        scheme=scheme,
        secrets=secrets,
        tolerance_seconds=tolerance,
        max_body_bytes=reader.integer(
            table, f"{key}.max_body_bytes", server.max_body_bytes, minimum=1
        ),
        dedup_window_seconds=window,
        public_url=reader.string(table, f"{key}.public_url", None),
        retention=None
        if "retention" not in table
        else _retention_value(reader, table["retention"], f"{key}.retention"),
        **_redaction(reader, table, key),
    )


def _redaction(reader: _Reader, table: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``redact_headers`` (default: the usual credentials), ``redact_fields`` with
    ``redact_after`` (each needs the other)."""
    values: dict[str, Any] = {}
    if "redact_headers" in table:
        names = table["redact_headers"]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise reader.fail(f"{key}.redact_headers", "must be a list of header names")
        values["redact_headers"] = header_names(names)
    fields = reader.strings(table, f"{key}.redact_fields")
    if problem := check_fields(fields):
        raise reader.fail(f"{key}.redact_fields", problem)
    after = table.get("redact_after")
    if fields and after is None:
        raise reader.fail(f"{key}.redact_after", 'required with redact_fields (e.g. "7d")')
    if after is not None:
        if not fields:
            raise reader.fail(f"{key}.redact_fields", "required with redact_after")
        try:
            seconds = parse_duration(after)
        except ValueError as exc:
            raise reader.fail(f"{key}.redact_after", str(exc)) from None
        values["redact_after"] = seconds
    values["redact_fields"] = fields
    return values


def _check_forwarded_redactions(
    reader: _Reader, destinations: Mapping[str, Destination], sources: Mapping[str, SourceConfig]
) -> None:
    """A destination that forwards a header its source stores as the marker would send
    ``[redacted]``, silently: say so at start, with the fix."""
    for name, destination in destinations.items():
        signing = destination.signing
        passthrough = signing.headers if signing.mode == "passthrough" else ()
        for header in (*destination.forward_headers, *passthrough):
            if any(c in header for c in "*?["):
                continue  # a glob may match it or not; only a name is a sure mistake
            for source_name in destination.sources or sorted(sources):
                source = sources.get(source_name)
                if source is not None and header.lower().encode("latin-1") in source.redact_headers:
                    raise reader.fail(
                        f"destinations.{name}.forward_headers",
                        f"{header!r} is stored as [redacted] by source {source_name!r}; "
                        f"leave it out of sources.{source_name}.redact_headers to forward it",
                    )


def settings_from_mapping(
    data: Mapping[str, Any], origin: str = "<config>", *, load_handlers: bool = True
) -> Settings:
    reader = _Reader(origin)
    unknown = sorted(set(data) - set(TABLES))
    if unknown:
        raise reader.fail(unknown[0], f"unknown section (known: {', '.join(TABLES)})")
    server = _server(reader, data)
    sources_table = reader.table(data, "sources")
    sources = {name: _source(reader, name, table, server) for name, table in sources_table.items()}
    try:
        destinations = parse_destinations(
            reader.table(data, "destinations"), sources=sources, load_handlers=load_handlers
        )
        alerts = parse_alerts(reader.table(data, "alerts"))
        mirrors = parse_mirrors(
            reader.table(data, "mirrors"), sources=sources, destinations=destinations
        )
        canary = parse_canary(reader.table(data, "canary"))
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    if canary is not None:
        sources, destinations = _with_canary(reader, canary, sources, destinations)
    _check_forwarded_redactions(reader, destinations, sources)
    return Settings(
        server=server,
        sources=sources,
        destinations=destinations,
        raw=data,
        path=origin,
        alerts=alerts,
        mirrors=mirrors,
        canary=canary,
    )


# -- operations: the canary's own source and destination --------------------------------


def _with_canary(
    reader: _Reader,
    canary: CanaryConfig,
    sources: dict[str, SourceConfig],
    destinations: dict[str, Destination],
) -> tuple[dict[str, SourceConfig], dict[str, Destination]]:
    """Add the canary's source and built-in sink; a destination that takes every source
    is narrowed to the configured ones, so canary events never reach a real endpoint."""
    for table, names in (("sources", sources), ("destinations", destinations)):
        if CANARY_NAME in names:
            raise reader.fail(f"{table}.{CANARY_NAME}", "is reserved while [canary] is set")
    scheme = create_scheme(CANARY_SCHEME)
    own = SourceConfig(
        name=CANARY_NAME, scheme_name=CANARY_SCHEME, scheme=scheme, secrets=(canary.secret,)
    )
    user_sources = tuple(sources)
    narrowed = {
        name: d if d.sources is not None else dataclasses.replace(d, sources=user_sources)
        for name, d in destinations.items()
    }
    return {**sources, CANARY_NAME: own}, {**narrowed, CANARY_NAME: canary_destination()}


def load_settings(path: str | os.PathLike[str], *, load_handlers: bool = True) -> Settings:
    """The settings of the TOML file at ``path``; ``load_handlers=False`` leaves Python
    handler modules unimported (see ``parse_destinations``)."""
    origin = str(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{origin}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{origin}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from None
    return settings_from_mapping(data, origin, load_handlers=load_handlers)


def literal_secret_warning(settings: Settings) -> str | None:
    """A one-line warning when the config file holds a secret in clear and others may read
    it (group or world read bit); None otherwise. ``serve`` and ``worker`` print it."""
    if settings.path is None:
        return None
    try:
        mode = os.stat(settings.path).st_mode
    except OSError:
        return None
    key = _literal_secret(settings.raw, "")
    if key is None or not mode & (stat.S_IRGRP | stat.S_IROTH):
        return None
    return (
        f"warning: {settings.path} holds a secret in clear ({key}) and is readable by others "
        f"(mode {stat.S_IMODE(mode):04o}); chmod 600 it, or use env:NAME or file:PATH"
    )


def _literal_secret(data: Mapping[str, Any], prefix: str) -> str | None:
    """The key path of the first secret given as a literal, at any depth."""
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            found = _literal_secret(value, f"{key}.")
            if found is not None:
                return found
        elif isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):  # admin_tokens = [{token = ...}]
                if isinstance(item, Mapping):
                    found = _literal_secret(item, f"{key}[{i}].")
                    if found is not None:
                        return found
        elif name in SECRET_KEYS:
            values = value if isinstance(value, list) else [value]
            if any(_in_clear(v) for v in values):
                return key
    return None


def _in_clear(value: object) -> bool:
    return isinstance(value, str) and bool(value) and not value.startswith(("env:", "file:"))


def default_settings(database: str = DEFAULT_DATABASE) -> Settings:
    """No config file: SQLite at ./hookyard.db and one unsigned ``demo`` source."""
    server = ServerConfig(database=database)
    demo = SourceConfig(name="demo", scheme_name="none", scheme=create_scheme("none"))
    return Settings(server=server, sources={"demo": demo}, path=None)


def with_overrides(
    settings: Settings, *, host: str | None, port: int | None, database: str | None
) -> Settings:
    changes: dict[str, Any] = {}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    if database is not None:
        try:
            changes["database"] = check_configured_url(database)
        except ValueError as exc:
            raise ConfigError(f"--db: {exc}") from None
    if not changes:
        return settings
    server = ServerConfig(**{**settings.server.__dict__, **changes})
    return dataclasses.replace(settings, server=server)
