"""Signature schemes: one module per provider scheme, looked up by name in the registry."""

from hookyard.signatures.base import Scheme, SignedMessage
from hookyard.signatures.registry import create_scheme, scheme_names

__all__ = ["Scheme", "SignedMessage", "create_scheme", "scheme_names"]
