"""``twilio``: Twilio request validation (Voice, Messaging and other webhooks).

``X-Twilio-Signature`` is the base64 HMAC-SHA1, keyed with the account's auth token,
of the full URL Twilio requested (query string included) followed by every POST
parameter, sorted by name, as ``name + value``. For JSON bodies Twilio adds a
``bodySHA256`` query parameter (hex SHA-256 of the raw body) and signs the URL
alone; the body is then checked against that hash.

Like Twilio's own validators, the URL is tried as given, without its port and with
the scheme's default port, because Twilio's signing is not consistent about ports.

The event id is the ``I-Twilio-Idempotency-Token`` header, which Twilio keeps across
retries. Without it a status callback is identified by its SID and status (a message
or call moves through several statuses, each a distinct event); other requests have
no id, since a SID alone would wrongly merge distinct callbacks of one call. The event
type is ``message.<status>`` or ``call.<status>`` from the form, so destinations can
filter on ``message.*``; JSON bodies fall back to their ``type`` field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import parse_qs, unquote_to_bytes, urlsplit

from hookyard.exceptions import SchemeError
from hookyard.models import Verdict
from hookyard.signatures.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Scheme,
    SchemeHeaders,
    SignedMessage,
    constant_time_equal,
    describe_signed,
    invalid,
    json_body,
    require_secret,
)

SIGNATURE_HEADER = "X-Twilio-Signature"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
BODY_HASH_PARAM = "bodySHA256"
_SHA1_SIZE = 20
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _utf8(text: str) -> bytes:
    # surrogatepass: a URL rebuilt from request bytes must never make encoding raise.
    return text.encode("utf-8", "surrogatepass")


def form_pairs(body: bytes) -> list[tuple[bytes, bytes]]:
    """``application/x-www-form-urlencoded`` pairs as bytes; accepts any input.

    Parsed by hand because ``urllib.parse.parse_qsl`` decodes bytes as ASCII and
    raises on anything else, and a body is whatever the sender chose to send.
    """
    pairs = []
    for field in body.split(b"&"):
        if field:
            name, _, value = field.partition(b"=")
            pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def canonical_params(pairs: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Names sorted, then each name's distinct values sorted, as in Twilio's validators.

    Byte order equals code point order for UTF-8, which is what Twilio sorts by.
    """
    grouped: defaultdict[bytes, set[bytes]] = defaultdict(set)
    for name, value in pairs:
        grouped[name].add(value)
    return b"".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))


def body_hash_param(url: str) -> str | None:
    """The ``bodySHA256`` query parameter of ``url``, or None when it has none."""
    query = url.partition("?")[2].partition("#")[0]
    values = parse_qs(query, keep_blank_values=True).get(BODY_HASH_PARAM)
    return values[0] if values else None


def url_with_body_hash(url: str, body: bytes) -> str:
    """``url`` with the ``bodySHA256`` parameter Twilio adds when it posts JSON."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{BODY_HASH_PARAM}={hashlib.sha256(body).hexdigest()}"


def url_variants(url: str) -> list[str]:
    """``url`` as given, then without its port, then with the default port."""
    variants = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return variants
    if port is not None:
        variants.append(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]).geturl())
    elif parts.scheme in _DEFAULT_PORTS and parts.netloc:
        netloc = f"{parts.netloc}:{_DEFAULT_PORTS[parts.scheme]}"
        variants.append(parts._replace(netloc=netloc).geturl())
    return list(dict.fromkeys(variants))


def signed_content(url: str, body: bytes) -> bytes:
    """What is signed: the URL, plus the sorted form parameters unless it carries bodySHA256."""
    if body_hash_param(url) is not None:
        return _utf8(url)
    return _utf8(url) + canonical_params(form_pairs(body))


def compute_signature(token: str, content: bytes) -> str:
    mac = hmac.new(_utf8(token), content, "sha1")
    return base64.b64encode(mac.digest()).decode("ascii")


def _is_sha1_base64(raw: str) -> bool:
    try:
        return len(base64.b64decode(raw, validate=True)) == _SHA1_SIZE
    except (binascii.Error, ValueError):
        return False


def _looks_like_json(message: SignedMessage) -> bool:
    content_type = (message.header("content-type") or "").lower()
    return "json" in content_type or message.body.lstrip()[:1] in (b"{", b"[")


class Twilio(Scheme):
    name = "twilio"
    scheme_headers = SchemeHeaders(signature=(SIGNATURE_HEADER,), ids=(IDEMPOTENCY_HEADER,))
    needs_url = True

    def verify(
        self,
        message: SignedMessage,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    ) -> Verdict:
        raw = message.header(SIGNATURE_HEADER)
        if raw is None:
            return invalid(f"missing header {SIGNATURE_HEADER}")
        received = raw.strip()
        if not _is_sha1_base64(received):
            return invalid(
                f"malformed {SIGNATURE_HEADER}: expected base64 of a 20-byte HMAC-SHA1",
                received=received[:200],
            )
        url = message.url
        if not url:
            return invalid(
                "no request URL to check the signature against; "
                "set public_url on the source to the URL configured in Twilio"
            )
        variants = url_variants(url)
        contents = [signed_content(variant, message.body) for variant in variants]
        described = describe_signed(contents[0])
        computed = ""
        for index, secret in enumerate(secrets):
            candidates = [compute_signature(secret, content) for content in contents]
            computed = candidates[0]
            if any(constant_time_equal(candidate, received) for candidate in candidates):
                verdict = Verdict(
                    status="valid",
                    reason="X-Twilio-Signature matches",
                    secret_index=index,
                    computed=computed,
                    received=received,
                    signed_content=described,
                )
                return self._check_body_hash(url, message.body, verdict)
        if not secrets:
            return invalid("no secret configured", received=received, signed_content=described)
        return invalid(
            self._mismatch_reason(message, url),
            computed=computed,
            received=received,
            signed_content=described,
        )

    @staticmethod
    def _check_body_hash(url: str, body: bytes, verdict: Verdict) -> Verdict:
        """The signature covers the URL and so ``bodySHA256``; the body must match it."""
        expected = body_hash_param(url)
        if expected is None:
            return verdict
        actual = hashlib.sha256(body).hexdigest()
        # Compared as UTF-8: the URL is arbitrary text and need not be latin-1.
        if constant_time_equal(actual.encode(), _utf8(expected.strip().lower())):
            return verdict
        return invalid(
            f"body does not match bodySHA256: body hashes to {actual}, "
            f"the URL says {expected[:80]!r}",
            secret_index=verdict.secret_index,
            computed=verdict.computed,
            received=verdict.received,
            signed_content=verdict.signed_content,
        )

    @staticmethod
    def _mismatch_reason(message: SignedMessage, url: str) -> str:
        reason = f"signature mismatch for URL {url[:300]!r}"
        if body_hash_param(url) is None and _looks_like_json(message):
            # Twilio signs JSON bodies through bodySHA256 in the query string; if the
            # URL lost it (a public_url without the query), no secret can match.
            return reason + " + form parameters; JSON body but the URL has no bodySHA256"
        suffix = " alone (bodySHA256 variant)" if body_hash_param(url) else " + form parameters"
        return reason + suffix

    def sign(
        self,
        body: bytes,
        secret: str,
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
        url: str | None = None,
    ) -> list[tuple[str, str]]:
        """Sign a form body against ``url``.

        For a JSON body pass ``url_with_body_hash(url, body)``, as Twilio would post to.
        """
        require_secret(secret, self.name)
        if not url:
            raise SchemeError("twilio signs the request URL: give the URL")
        expected = body_hash_param(url)
        if expected is not None and expected.lower() != hashlib.sha256(body).hexdigest():
            raise SchemeError("the URL's bodySHA256 does not match the body")
        headers = [(SIGNATURE_HEADER, compute_signature(secret, signed_content(url, body)))]
        if msg_id:
            headers.append((IDEMPOTENCY_HEADER, msg_id))
        return headers

    def event_id(self, message: SignedMessage) -> str | None:
        token = message.header(IDEMPOTENCY_HEADER)
        if token and token.strip():
            return token.strip()
        form = _form_fields(message)
        sid = form.get("MessageSid") or form.get("SmsSid")
        status = form.get("MessageStatus") or form.get("SmsStatus")
        if sid and status:
            return f"{sid}:{status}"
        call_sid, sequence = form.get("CallSid"), form.get("SequenceNumber")
        if call_sid and form.get("CallStatus") and sequence:
            # Call status callbacks number themselves; other voice requests (a <Gather>
            # action, say) can repeat a CallSid and status, so they get no id.
            return f"{call_sid}:{form['CallStatus']}:{sequence}"
        return None

    def event_type(self, message: SignedMessage) -> str | None:
        form = _form_fields(message)
        status = form.get("MessageStatus") or form.get("SmsStatus")
        if status:
            return f"message.{status}"
        if form.get("CallStatus"):
            return f"call.{form['CallStatus']}"
        if isinstance(json_body(message.body), dict):
            return super().event_type(message)
        return None


def _form_fields(message: SignedMessage) -> dict[str, str]:
    """First value of each form field, as text; empty for bodies that are not forms."""
    if _looks_like_json(message):
        return {}
    fields: dict[str, str] = {}
    for name, value in form_pairs(message.body):
        fields.setdefault(name.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
    return fields
