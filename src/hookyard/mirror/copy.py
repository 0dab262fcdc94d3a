"""One stored event turned into the request a mirror sends, or the reason it sends none.

The copy is a ``Destination`` plus a ``DeliveryEvent`` for ``delivery.attempt``, so it is
built byte for byte like every other request hookyard sends. What it carries of the
provider's headers is decided here: never the body framing, never a credential
(``Authorization``, ``Cookie``, anything the masking policy calls sensitive, the source's
redacted headers), never a signature of any known scheme (with ``resign`` the copy gets
a fresh one made with the staging secret), never an ``X-Hookyard-*`` header a sender may
have spoofed. Every copy says what it is: ``X-Hookyard-Mirror: production`` and
``X-Hookyard-Mirror-Of: ID``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from hookyard.delivery.destinations import Destination
from hookyard.delivery.routing import compile_rule
from hookyard.delivery.sender import header_text
from hookyard.inspect.masking import is_sensitive_header
from hookyard.mirror.settings import Mirror
from hookyard.mirror.shaping import Unshapeable, shape_body
from hookyard.models import DeliveryEvent
from hookyard.signatures.base import Scheme
from hookyard.signatures.registry import signature_header_names

MIRROR_HEADER = "X-Hookyard-Mirror"
MIRROR_OF_HEADER = "X-Hookyard-Mirror-Of"
#: Framing and hop-by-hop headers, and the ones ``build_request`` writes itself.
_NOT_CARRIED = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "idempotency-key",
    }
)


@dataclass(frozen=True, slots=True)
class MirrorCopy:
    destination: Destination
    event: DeliveryEvent
    #: SHA-256 of the body bytes sent (the stored bytes unless shaping applied).
    body_sha256: str
    reshaped: bool


@dataclass(frozen=True, slots=True)
class NotCopied:
    reason: str
    detail: str


class CopyMaker:
    """Builds the copies of one mirror; ``schemes`` are the sources' verifying schemes
    (their own header names join the stripped ones), ``redacted_headers`` the names each
    source keeps out of sight."""

    def __init__(
        self,
        mirror: Mirror,
        schemes: Mapping[str, Scheme],
        *,
        redacted_headers: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.mirror = mirror
        self._rule = compile_rule(
            Destination(
                name=mirror.name, url=mirror.url, sources=mirror.sources, events=mirror.events
            )
        )
        common = set(signature_header_names())
        redacted = redacted_headers or {}
        self._dropped: dict[str, frozenset[str]] = {}
        for source in mirror.sources:
            names = set(common) | {h.lower() for h in redacted.get(source, ())}
            scheme = schemes.get(source)
            if scheme is not None:
                declared = scheme.scheme_headers
                names |= {h.lower() for h in (*declared.signature, *declared.signed)}
            self._dropped[source] = frozenset(names)

    def wants(self, event: DeliveryEvent) -> bool:
        """Whether the mirror copies this event at all (its sources and event types)."""
        return self._rule.matches(event.source, event.event_type)

    def make(self, event: DeliveryEvent) -> MirrorCopy | NotCopied:
        mirror = self.mirror
        shaped = shape_body(
            event.body, event.content_type, mirror.mask, envelope=mirror.payload == "envelope"
        )
        if isinstance(shaped, Unshapeable):
            return NotCopied("unshapeable", shaped.reason)
        carried = self.carried_headers(event, reshaped=shaped.changed)
        destination = Destination(
            name=f"mirror:{mirror.name}",
            url=mirror.url_for(event.source),
            signing=mirror.signing,
            timeout_seconds=mirror.timeout_seconds,
            dry_run=mirror.dry_run,
            headers=(
                (MIRROR_HEADER, "production"),
                (MIRROR_OF_HEADER, header_text(event.id)),
            ),
            forward_headers=tuple(_literal_glob(name) for name in carried),
            circuit_breaker=None,
        )
        body = shaped.body
        sent = event if body is event.body else dataclasses.replace(event, body=body)
        return MirrorCopy(destination, sent, hashlib.sha256(body).hexdigest(), shaped.changed)

    def carried_headers(self, event: DeliveryEvent, *, reshaped: bool) -> list[str]:
        """Names of the provider headers the copy carries, in order, each once."""
        dropped = self._dropped.get(event.source, frozenset())
        names: dict[str, None] = {}
        for raw, _ in event.headers:
            name = raw.decode("latin-1")
            lowered = name.lower()
            if (
                lowered in _NOT_CARRIED
                or lowered in dropped
                or lowered.startswith("x-hookyard-")
                or lowered.startswith("proxy-")
                or is_sensitive_header(lowered)
                or (reshaped and lowered in ("content-encoding", "digest", "content-md5"))
            ):
                continue
            names.setdefault(lowered, None)
        return list(names)


def _literal_glob(name: str) -> str:
    """A header name as a glob that matches only itself (``*`` is a legal name character)."""
    if not _GLOB_CHARACTERS.intersection(name):
        return name
    return "".join(f"[{c}]" if c in _GLOB_CHARACTERS else c for c in name)


_GLOB_CHARACTERS = frozenset("*?[")
