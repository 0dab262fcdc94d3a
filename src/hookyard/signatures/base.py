"""The contract every signature scheme implements, and the helpers they share.

A scheme never raises on request input: anything malformed becomes an ``invalid``
verdict with a precise reason. It raises ``SchemeError`` only for misuse by the
operator (an unusable key or option), which is caught at config load time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from hookyard.exceptions import SchemeError
from hookyard.models import HeaderList, Verdict, header_value

DEFAULT_TOLERANCE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """What a verifier sees: headers as received, the raw body, and the URL it was sent to."""

    headers: HeaderList
    body: bytes
    url: str | None = None

    def header(self, name: str) -> str | None:
        value = header_value(self.headers, name)
        return None if value is None else value.decode("latin-1")

    @classmethod
    def from_text_headers(
        cls, headers: Sequence[tuple[str, str]], body: bytes, url: str | None = None
    ) -> SignedMessage:
        pairs = tuple((n.encode("latin-1"), v.encode("latin-1")) for n, v in headers)
        return cls(headers=pairs, body=body, url=url)


@dataclass(frozen=True, slots=True)
class SchemeHeaders:
    """The headers a scheme owns on the wire, in the provider's spelling (compare them
    case-insensitively). Declared on each scheme, so that what passthrough forwards, which
    headers a diff calls volatile and the signing helpers' wire profiles are derived from
    the schemes (``registry.signature_header_names``) instead of listed by hand."""

    #: The headers that carry the signature; ``sign`` fills the first.
    signature: tuple[str, ...] = ()
    #: Other headers the signature covers: its timestamp, a signed delivery id.
    signed: tuple[str, ...] = ()
    #: Unsigned headers with the provider's id of this delivery or event (for dedup).
    ids: tuple[str, ...] = ()
    #: Other unsigned headers of the scheme's envelope that ``sign`` sends.
    envelope: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.signature, *self.signed, *self.ids, *self.envelope)


class Scheme(ABC):
    """One provider's way of signing webhooks."""

    name: ClassVar[str]
    #: True when the signature covers a timestamp that the receiver must check.
    timestamped: ClassVar[bool] = False
    #: True when the signature covers the request URL (ingest then passes it in).
    needs_url: ClassVar[bool] = False
    #: Option names this scheme accepts from ``[sources.NAME]`` besides the common ones.
    options: ClassVar[frozenset[str]] = frozenset()
    #: The headers it signs with, reads and sends; ``sign`` adds no other. A class value
    #: for providers; schemes with configurable header names set it per instance.
    scheme_headers: SchemeHeaders = SchemeHeaders()

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = dict(options or {})
        unknown = sorted(set(options) - self.options)
        if unknown:
            raise SchemeError(f"scheme {self.name!r} has no option {unknown[0]!r}")
        self.configure(options)

    def configure(self, options: dict[str, Any]) -> None:  # noqa: B027 - an optional hook
        """Validate and keep scheme options; the default scheme takes none."""

    @abstractmethod
    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        """Judge ``message``; ``tolerance=None`` skips the timestamp window."""

    @abstractmethod
    def sign(
        self,
        body: bytes,
        secret: str,
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
        url: str | None = None,
    ) -> list[tuple[str, str]]:
        """Headers a sender adds so that ``verify`` accepts ``body``."""

    def check_secret(self, secret: str) -> None:
        """Raise ``SchemeError`` when ``secret`` is unusable; config loading calls this.

        The default signs an empty probe. Schemes whose keys may be verify-only (public
        keys) override it, since such a key is valid yet cannot sign.
        """
        self.sign(b"", secret, msg_id="probe", timestamp=0, url="https://probe.invalid/")

    def event_id(self, message: SignedMessage) -> str | None:
        """The provider's id for this event, used for dedup; None when it has none."""
        return None

    def handshake(self, message: SignedMessage) -> str | None:
        """Plain text a provider expects back instead of ``202`` (subscription checks).

        Only consulted for requests whose signature verified.
        """
        return None

    def event_type(self, message: SignedMessage) -> str | None:
        """The provider's event type; by default the top-level JSON ``type`` field."""
        value = json_field(message.body, "type")
        return value if isinstance(value, str) else None


class SenderFields(Scheme):
    """A scheme for senders that follow no provider (``none``, ``hmac``): the event id and
    type are in a header (``id_header``, ``type_header``) or at a dotted path in a JSON
    body (``id_field``, ``type_field``, e.g. ``data.id``). Without either, the type is the
    body's ``type``. Subclasses validate header names their own way and pass them to
    ``configure_fields``.
    """

    FIELD_OPTIONS: ClassVar[frozenset[str]] = frozenset({"id_field", "type_field"})
    id_header: str | None
    type_header: str | None
    id_field: tuple[str, ...] | None
    type_field: tuple[str, ...] | None

    def configure_fields(
        self, options: Mapping[str, Any], id_header: str | None, type_header: str | None
    ) -> None:
        self.id_header, self.type_header = id_header, type_header
        self.scheme_headers = SchemeHeaders(ids=(id_header,) if id_header else ())
        self.id_field = _field_path(options, "id_field", self.name)
        self.type_field = _field_path(options, "type_field", self.name)
        pairs = (("id", id_header, self.id_field), ("type", type_header, self.type_field))
        for what, header, field in pairs:
            if header and field:
                raise SchemeError(f"{self.name}: set {what}_header or {what}_field, not both")

    def event_id(self, message: SignedMessage) -> str | None:
        if self.id_header:
            return message.header(self.id_header)
        return _field_text(message.body, self.id_field) if self.id_field else None

    def event_type(self, message: SignedMessage) -> str | None:
        if self.type_header:
            return message.header(self.type_header)
        if self.type_field:
            return _field_text(message.body, self.type_field)
        return super().event_type(message)


def _field_path(options: Mapping[str, Any], key: str, scheme: str) -> tuple[str, ...] | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not all(value.split(".")):
        raise SchemeError(
            f"{scheme} option {key!r} must be a dotted path of JSON keys, like 'data.id'"
        )
    return tuple(value.split("."))


def _field_text(body: bytes, path: tuple[str, ...]) -> str | None:
    """A string value as it is; an integer as its digits (``{"id": 42}`` → ``"42"``)."""
    value = json_field(body, *path)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


# -- helpers shared by schemes ---------------------------------------------------------------


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode("latin-1") if isinstance(a, str) else a
    right = b.encode("latin-1") if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def describe_signed(content: bytes) -> str:
    """Identify signed content without revealing it."""
    return f"{len(content)} bytes, sha256 {hashlib.sha256(content).hexdigest()}"


def window_problem(timestamp: int, now: float, tolerance: int | None) -> str | None:
    """Why ``timestamp`` is outside the window around ``now``, or None when inside."""
    if tolerance is None:
        return None
    skew = int(now) - timestamp
    if skew > tolerance:
        return f"timestamp too old: {skew}s before now, tolerance {tolerance}s"
    if -skew > tolerance:
        return f"timestamp in the future: {-skew}s after now, tolerance {tolerance}s"
    return None


def parse_unix_timestamp(raw: str | None) -> int | None:
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        return None
    return int(raw)


_JSON_PARSE_LIMIT = 1 << 20


def json_body(body: bytes) -> Any:
    """Parse a body as JSON for id/type extraction; any failure gives None.

    orjson first: the standard parser was a tenth of an ingest request's CPU. What orjson
    refuses and ``json`` may still read (UTF-16 or UTF-32, ``NaN``, lone surrogate
    escapes) goes to ``json``. orjson reads integers beyond 64 bits as floats; ids and
    types are taken only where they are strings, so no extracted value differs.
    """
    if not body or len(body) > _JSON_PARSE_LIMIT or body.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def json_field(body: bytes, *path: str) -> Any:
    value = json_body(body)
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def require_secret(secret: str, scheme: str) -> None:
    if not secret:
        raise SchemeError(f"scheme {scheme!r} needs a secret")


def invalid(reason: str, **details: Any) -> Verdict:
    return Verdict(status="invalid", reason=reason, **details)
