"""Dashboard sessions and CSRF tokens: pure policy, no I/O.

A session cookie is ``ISSUED.NONCE.AUTH.MAC``: when it was issued (Unix seconds), a
random nonce, ``1`` once the admin token was given (``0`` before: an anonymous session
still carries a CSRF token for the login form), and an HMAC-SHA256 over the rest. The
key is derived from the admin token, so changing the token ends every session and no
session outlives it; without a token the key is random per process. The CSRF token is
an HMAC of the nonce under the same key: it cannot be made without the cookie's nonce,
which a cross-site page cannot read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

COOKIE_NAME = "hookyard_session"
MAX_AGE_SECONDS = 12 * 3600
_KEY_LABEL = b"hookyard dashboard session v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class Session:
    issued_s: int
    nonce: str
    authenticated: bool


class SessionKeys:
    """Signs and checks session cookies and CSRF tokens under one key."""

    def __init__(self, admin_token: str | None, *, more_tokens: Sequence[str] = ()) -> None:
        given = [t for t in (admin_token, *more_tokens) if t]
        #: Every token that may sign in (the operate tokens of ``admin_tokens`` too).
        self.tokens = tuple(dict.fromkeys(t.encode() for t in given))
        self.token = self.tokens[0] if self.tokens else None
        if self.token is None:
            self._key = secrets.token_bytes(32)
        else:
            # Keyed by every token: changing any of them ends every session.
            self._key = hmac.new(b"\0".join(self.tokens), _KEY_LABEL, hashlib.sha256).digest()

    @property
    def open(self) -> bool:
        """No admin token: the dashboard is open, as the API is."""
        return self.token is None

    def token_matches(self, given: str) -> bool:
        if self.token is None:
            return True
        raw = given.encode("utf-8", "surrogatepass")
        # Each compared in constant time, all of them whichever matches.
        return sum(hmac.compare_digest(raw, token) for token in self.tokens) > 0

    def _mac(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode("ascii"), hashlib.sha256).digest())

    def new(self, now_s: int, *, authenticated: bool) -> tuple[Session, str]:
        """A fresh session (a new nonce, so a login never keeps the anonymous one) and its
        cookie value."""
        session = Session(now_s, _b64(secrets.token_bytes(18)), authenticated)
        body = f"{session.issued_s}.{session.nonce}.{int(authenticated)}"
        return session, f"{body}.{self._mac(body)}"

    def read(self, cookie: str | None, now_s: int) -> Session | None:
        """The session a cookie carries, or None when it is missing, forged or expired."""
        if not cookie or len(cookie) > 200 or not cookie.isascii():
            return None
        parts = cookie.split(".")
        if len(parts) != 4:
            return None
        issued, nonce, auth, mac = parts
        if not hmac.compare_digest(mac, self._mac(f"{issued}.{nonce}.{auth}")):
            return None
        if not issued.isdigit() or auth not in ("0", "1"):
            return None
        issued_s = int(issued)
        if not 0 <= now_s - issued_s <= MAX_AGE_SECONDS:
            return None
        return Session(issued_s, nonce, auth == "1")

    def csrf(self, session: Session) -> str:
        return self._mac(f"csrf.{session.nonce}")

    def csrf_matches(self, session: Session, given: str | None) -> bool:
        if not given or not given.isascii():
            return False
        return hmac.compare_digest(given, self.csrf(session))
