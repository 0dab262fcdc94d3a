"""``hmac``: a configurable HMAC scheme for senders that follow no named provider.

It also holds the HMAC machinery the provider schemes share (Stripe, GitHub, Slack,
Shopify): digest, signature normalisation and the secret-by-secret verdict.

Options (from ``[sources.NAME]`` or ``--option key=value``):

``header``            signature header (default ``X-Signature``)
``algorithm``         ``sha1``, ``sha256`` (default) or ``sha512``
``encoding``          ``hex`` (default) or ``base64``
``prefix``            text before the signature in the header, e.g. ``sha256=``
``template``          signed content over ``{id}``, ``{timestamp}``, ``{body}`` (default ``{body}``)
``timestamp_header``  header holding a unix timestamp; it must then appear in the template
``id_header``         header holding the event id (needed when the template uses ``{id}``)
``type_header``       header holding the event type (default: the JSON body's ``type``)
``id_field``          or a dotted path to the event id in a JSON body, e.g. ``data.id``
``type_field``        or a dotted path to the event type in a JSON body
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import string
import time
from collections.abc import Callable, Sequence
from typing import Any

from hookyard.clock import now_us
from hookyard.exceptions import SchemeError
from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    SchemeHeaders,
    SenderFields,
    SignedMessage,
    constant_time_equal,
    describe_signed,
    invalid,
    parse_unix_timestamp,
    require_secret,
    window_problem,
)

#: Digest sizes in bytes. SHA-1 stays because senders still use it (HMAC-SHA1 is sound).
ALGORITHMS: dict[str, int] = {"sha1": 20, "sha256": 32, "sha512": 64}
ENCODINGS = ("hex", "base64")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEX = frozenset("0123456789abcdefABCDEF")
_TEMPLATE_FIELDS = ("id", "timestamp", "body")

#: Computes the signature text for one secret over the signed content.
Signer = Callable[[str, bytes], str]

# -- machinery shared by the HMAC schemes ---------------------------------------------------


def hmac_digest(key: bytes, content: bytes, algorithm: str = "sha256") -> bytes:
    # The one-shot form runs inside OpenSSL: the HMAC schemes stay bound by hashing.
    return hmac.digest(key, content, algorithm)


def encode_digest(digest: bytes, encoding: str) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")


def plain_secret_key(secret: str, scheme: str) -> bytes:
    """The key for providers that use their secret string as-is (Stripe, GitHub, …)."""
    require_secret(secret, scheme)
    if secret != secret.strip():
        # A pasted newline or space gives a different key and silently fails every request.
        raise SchemeError(f"{scheme} secret has leading or trailing whitespace")
    return secret.encode("utf-8")


def normalise_signature(raw: str, encoding: str, size: int) -> str | None:
    """``raw`` in the canonical form ``encode_digest`` produces, or None when malformed."""
    raw = raw.strip()
    if encoding == "hex":
        if len(raw) != 2 * size or not _HEX.issuperset(raw):
            return None
        return raw.lower()
    if len(raw) > 4 * size:  # bound the work before decoding
        return None
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(decoded).decode("ascii") if len(decoded) == size else None


def expected_shape(encoding: str, size: int) -> str:
    if encoding == "hex":
        return f"{2 * size} hex characters"
    return f"base64 of {size} bytes"


def clip(value: str, limit: int = 40) -> str:
    """A header value safe to quote in a reason: short and printable."""
    return repr(value[:limit] + ("…" if len(value) > limit else ""))


def matches_any(computed: str, received: Sequence[str]) -> bool:
    # Compare against every candidate so the time taken does not depend on which matched.
    found = False
    for candidate in received:
        found |= constant_time_equal(computed, candidate)
    return found


def judge_secrets(
    content: bytes,
    received: Sequence[str],
    secrets: Sequence[str],
    signer: Signer,
    *,
    label: str,
    timestamp: int | None = None,
    now: float = 0.0,
    tolerance: int | None = None,
) -> Verdict:
    """Try each secret in turn (rotation); the first whose signature is received wins.

    The window is checked only after a signature matches, so a forgery is reported as a
    mismatch and a genuine but replayed request as a timestamp problem.
    """
    shown = " ".join(received)
    signed = describe_signed(content)
    first: str | None = None
    for index, secret in enumerate(secrets):
        computed = signer(secret, content)
        first = first or computed
        if not matches_any(computed, received):
            continue
        problem = None if timestamp is None else window_problem(timestamp, now, tolerance)
        details: dict[str, Any] = {
            "secret_index": index,
            "computed": computed,
            "received": shown,
            "signed_content": signed,
            "timestamp": timestamp,
        }
        if problem:
            return invalid(problem, **details)
        return Verdict(status="valid", reason=f"{label} matches", **details)
    return invalid(
        "signature mismatch" if secrets else "no secret configured",
        computed=first,
        received=shown,
        signed_content=signed,
        timestamp=timestamp,
    )


# -- the configurable scheme ------------------------------------------------------------------


def _string_option(options: dict[str, Any], key: str, default: str | None) -> str | None:
    value = options.get(key, default)
    if value is not None and not isinstance(value, str):
        raise SchemeError(f"hmac option {key!r} must be a string")
    return value


def _header_option(options: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = _string_option(options, key, default)
    if value is not None and not _HEADER_NAME.fullmatch(value):
        raise SchemeError(f"hmac option {key!r} must be a header name, got {value!r}")
    return value


Template = tuple[tuple[bytes, str | None], ...]


def compile_template(template: str) -> Template:
    """Split a template into (literal bytes, field) pairs; only known bare fields allowed."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise SchemeError(f"hmac option 'template' is malformed: {exc}") from None
    parts: list[tuple[bytes, str | None]] = []
    for literal, field, spec, conversion in parsed:
        if field is not None and (field not in _TEMPLATE_FIELDS or spec or conversion):
            raise SchemeError(
                f"hmac option 'template' may only use {{id}}, {{timestamp}} and {{body}}; "
                f"got {{{field}}}"
            )
        parts.append((literal.encode("utf-8"), field))
    return tuple(parts)


def render_template(template: Template, values: dict[str, bytes]) -> bytes:
    return b"".join(literal + (values[field] if field else b"") for literal, field in template)


def _template_fields(template: Template) -> set[str]:
    return {field for _, field in template if field}


class GenericHmac(SenderFields):
    name = "hmac"
    options = (
        frozenset(
            {
                "header",
                "algorithm",
                "encoding",
                "prefix",
                "template",
                "timestamp_header",
                "id_header",
                "type_header",
            }
        )
        | SenderFields.FIELD_OPTIONS
    )

    def configure(self, options: dict[str, Any]) -> None:
        self.header: str = _header_option(options, "header", "X-Signature") or "X-Signature"
        algorithm = (_string_option(options, "algorithm", "sha256") or "").lower()
        if algorithm not in ALGORITHMS:
            raise SchemeError(f"hmac option 'algorithm' must be one of {', '.join(ALGORITHMS)}")
        encoding = (_string_option(options, "encoding", "hex") or "").lower()
        if encoding not in ENCODINGS:
            raise SchemeError(f"hmac option 'encoding' must be one of {', '.join(ENCODINGS)}")
        self.algorithm = algorithm
        self.encoding = encoding
        self.size = ALGORITHMS[algorithm]
        self.prefix: str = _string_option(options, "prefix", "") or ""
        self.timestamp_header = _header_option(options, "timestamp_header")
        self.configure_fields(
            options, _header_option(options, "id_header"), _header_option(options, "type_header")
        )
        self.template = compile_template(_string_option(options, "template", "{body}") or "")
        self._check_template()
        self.scheme_headers = self._headers()

    def _headers(self) -> SchemeHeaders:
        id_signed = "id" in _template_fields(self.template)
        signed = [h for h in (self.timestamp_header, self.id_header if id_signed else None) if h]
        ids = (self.id_header,) if self.id_header and not id_signed else ()
        return SchemeHeaders(signature=(self.header,), signed=tuple(signed), ids=ids)

    def _check_template(self) -> None:
        fields = _template_fields(self.template)
        if "body" not in fields:
            raise SchemeError("hmac option 'template' must include {body}, or the body is unsigned")
        if "timestamp" in fields and not self.timestamp_header:
            raise SchemeError("hmac template uses {timestamp}; set option 'timestamp_header'")
        if self.timestamp_header and "timestamp" not in fields:
            raise SchemeError(
                "hmac option 'timestamp_header' needs {timestamp} in the template, "
                "or the timestamp is not signed"
            )
        if "id" in fields and not self.id_header:
            raise SchemeError("hmac template uses {id}; set option 'id_header'")

    @property
    def label(self) -> str:
        return f"{self.algorithm} signature"

    def _signer(self, secret: str, content: bytes) -> str:
        key = plain_secret_key(secret, self.name)
        return encode_digest(hmac_digest(key, content, self.algorithm), self.encoding)

    def _content(self, body: bytes, msg_id: bytes, timestamp: bytes) -> bytes:
        if len(self.template) == 1 and self.template[0] == (b"", "body"):
            return body  # the common case: no copy
        return render_template(self.template, {"body": body, "id": msg_id, "timestamp": timestamp})

    def _received(self, message: SignedMessage) -> str | Verdict:
        """The received signature in canonical form, or the verdict on why there is none."""
        raw = message.header(self.header)
        if raw is None:
            return invalid(f"missing header {self.header}")
        raw = raw.strip()
        if not raw.startswith(self.prefix):
            return invalid(
                f"malformed {self.header}: expected prefix {self.prefix!r}, got {clip(raw)}"
            )
        received = normalise_signature(raw[len(self.prefix) :], self.encoding, self.size)
        if received is None:
            shape = expected_shape(self.encoding, self.size)
            return invalid(f"malformed {self.header}: expected {shape}", received=raw[:200])
        return received

    def _timestamp(self, message: SignedMessage) -> tuple[int | None, str] | Verdict:
        """The timestamp and its header text ("" when not configured), or a verdict."""
        if not self.timestamp_header:
            return None, ""
        raw = message.header(self.timestamp_header)
        if raw is None:
            return invalid(f"missing header {self.timestamp_header}")
        timestamp = parse_unix_timestamp(raw)
        if timestamp is None:
            return invalid(f"malformed {self.timestamp_header} {clip(raw)}")
        return timestamp, raw.strip()

    def _msg_id(self, message: SignedMessage) -> str | Verdict:
        if "id" not in _template_fields(self.template):
            return ""
        msg_id = message.header(self.id_header or "")
        return invalid(f"missing header {self.id_header}") if msg_id is None else msg_id

    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        received = self._received(message)
        if isinstance(received, Verdict):
            return received
        stamp = self._timestamp(message)
        if isinstance(stamp, Verdict):
            return stamp
        msg_id = self._msg_id(message)
        if isinstance(msg_id, Verdict):
            return msg_id
        timestamp, raw_ts = stamp
        # Header text is latin-1 decoded: encoding it back gives the bytes the sender signed.
        content = self._content(message.body, msg_id.encode("latin-1"), raw_ts.encode("latin-1"))
        return judge_secrets(
            content,
            (received,),
            secrets,
            self._signer,
            label=self.label,
            timestamp=timestamp,
            now=now,
            tolerance=tolerance,
        )

    def sign(
        self,
        body: bytes,
        secret: str,
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
        url: str | None = None,
    ) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        if self.id_header:
            msg_id = msg_id or f"msg_{now_us()}"
            headers.append((self.id_header, msg_id))
        ts: str | None = None
        if self.timestamp_header:
            ts = str(int(time.time()) if timestamp is None else timestamp)
            headers.append((self.timestamp_header, ts))
        content = self._content(body, (msg_id or "").encode(), (ts or "").encode())
        signature = self._signer(secret, content)
        headers.append((self.header, self.prefix + signature))
        return headers
