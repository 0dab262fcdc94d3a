"""Encryption keys at rest: parsing them, and sealing one value with AES-256-GCM.

A ``Keyring`` is the ordered list of ``[server] encryption_key``: the first key seals,
every key opens. Each sealed value is ``nonce (12 bytes) || ciphertext || tag (16)``
with a fresh random nonce; its key id is kept beside it (the ``key_id`` column), and
the caller's associated data (which event, which field) is bound into the tag, so a
value copied to another row or field fails to open instead of reading as that row's.

A key is 32 random bytes, written as base64 (standard or URL-safe) or 64 hex digits.
Its id is given (``{id = "2026-12", key = "env:K"}``) or derived from the key: an HMAC
of a fixed label, so a different key never shares an id by accident. A *check value*
(a constant sealed under the key) lets a store tell, at start, that a key given under
a known id is not the key that sealed its events.

This module imports nothing of hookyard's but its exception tree.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hookyard.exceptions import EncryptionKeyError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
#: A key id names a key in config, in the ``key_id`` column and in error messages.
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ID_LABEL = b"hookyard key id v1"
_CHECK_PLAINTEXT = b"hookyard key check v1"


class OpenFailed(Exception):
    """A value that does not open: its key is not in the ring, or it was altered."""


def parse_key_material(text: str) -> bytes:
    """32 bytes from base64 (either alphabet, padding optional) or 64 hex digits;
    ``ValueError`` with the reason otherwise (never echoing the text: it is a key)."""
    text = text.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text)
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "is not a key: expected 32 bytes as base64 or 64 hex digits "
            "(make one with `hookyard keys generate`)"
        ) from None
    if len(raw) != KEY_BYTES:
        raise ValueError(
            f"is {len(raw)} bytes, not {KEY_BYTES}: AES-256 needs a 32-byte key "
            "(make one with `hookyard keys generate`)"
        )
    return raw


def derived_key_id(material: bytes) -> str:
    """``k`` and 12 hex digits of an HMAC of a fixed label under the key."""
    return "k" + hmac.new(material, _ID_LABEL, hashlib.sha256).hexdigest()[:12]


def generate_key() -> str:
    """A new random key, as ``hookyard keys generate`` prints it (URL-safe base64)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")


@dataclass(frozen=True)
class Key:
    id: str
    material: bytes = field(repr=False)
    _aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise ValueError(f"key {self.id!r} is not {KEY_BYTES} bytes")
        object.__setattr__(self, "_aead", AESGCM(self.material))

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < NONCE_BYTES + TAG_BYTES:
            raise OpenFailed("the stored value is too short to be sealed")
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except InvalidTag:
            raise OpenFailed(
                f"it does not open with key {self.id!r} (another key under that id, "
                "or the stored value was altered)"
            ) from None

    def check_value(self) -> bytes:
        """A constant sealed under this key, stored to recognise it later."""
        return self.seal(_CHECK_PLAINTEXT, self._check_aad())

    def matches(self, check_value: bytes) -> bool:
        try:
            return self.open(check_value, self._check_aad()) == _CHECK_PLAINTEXT
        except OpenFailed:
            return False

    def _check_aad(self) -> bytes:
        return b"hookyard/check/" + self.id.encode()


@dataclass(frozen=True)
class Keyring:
    """The configured keys in order: ``current`` (the first) seals, each opens its own."""

    keys: tuple[Key, ...] = ()

    def __post_init__(self) -> None:
        materials = [k.material for k in self.keys]
        for index, material in enumerate(materials):
            if material in materials[:index]:
                raise EncryptionKeyError(
                    f"the same encryption key is listed twice (key #{materials.index(material) + 1}"
                    f" and key #{index + 1})"
                )
        ids = [k.id for k in self.keys]
        for index, key_id in enumerate(ids):
            if key_id in ids[:index]:
                raise EncryptionKeyError(f"encryption key id {key_id!r} is listed twice")

    @property
    def current(self) -> Key | None:
        return self.keys[0] if self.keys else None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.keys)

    def get(self, key_id: str) -> Key | None:
        for key in self.keys:
            if key.id == key_id:
                return key
        return None

    def open(self, key_id: str, sealed: bytes, aad: bytes) -> bytes:
        key = self.get(key_id)
        if key is None:
            configured = ", ".join(repr(i) for i in self.ids) or "none"
            raise OpenFailed(
                f"it is sealed with key {key_id!r}, which server.encryption_key does not "
                f"list (configured: {configured})"
            )
        return key.open(sealed, aad)

    def __repr__(self) -> str:
        return f"Keyring(ids={self.ids!r})"


PLAIN = Keyring()
"""No keys: values are written in clear, and a sealed one cannot be opened."""


def keyring_from(entries: Sequence[tuple[str | None, str]]) -> Keyring:
    """A ring from ``(id or None, key text)`` pairs; ``ValueError`` names the bad entry."""
    keys = []
    for index, (given_id, text) in enumerate(entries):
        try:
            material = parse_key_material(text)
        except ValueError as exc:
            label = f"key {given_id!r}" if given_id else f"key #{index + 1}"
            raise ValueError(f"{label} {exc}") from None
        if given_id is not None and not KEY_ID.fullmatch(given_id):
            raise ValueError(f"key id {given_id!r} must be 1-64 of A-Z a-z 0-9 . _ -")
        keys.append(Key(given_id or derived_key_id(material), material))
    try:
        return Keyring(tuple(keys))
    except EncryptionKeyError as exc:
        raise ValueError(str(exc)) from None
