"""Test kit for webhook receivers: signing helpers, the conformance battery, a pytest plugin.

    from hookyard.testing import assert_conformant, run_conformance_sync

    report = run_conformance_sync(app, "stripe", "whsec_test", path="/webhooks/stripe")
    assert_conformant(report)

The pytest plugin (``hookyard.testing.pytest_plugin``) wraps the same in a fixture,
``webhook_conformance``. See docs/conformance.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hookyard.testing.conformance import (
        CHECK_NAMES,
        CHECKS,
        DEFAULT_MAX_BODY_BYTES,
        CaseResult,
        Check,
        CheckResult,
        ConformanceFailure,
        Fixture,
        Report,
        assert_conformant,
        load_fixtures,
        run_conformance,
        run_conformance_sync,
    )
    from hookyard.testing.signing import (
        SignedRequest,
        WireProfile,
        sign,
        sign_github,
        sign_hmac,
        sign_paddle,
        sign_request,
        sign_sendgrid,
        sign_shopify,
        sign_slack,
        sign_square,
        sign_standard_webhooks,
        sign_stripe,
        sign_twilio,
        sign_twitch,
        url_with_body_hash,
        wire_profile,
    )

# Names resolve on first use (PEP 562): the pytest plugin lives in this package and, as an
# entry point, loads in every pytest session; importing the battery there costs a few
# hundred milliseconds that sessions which never use it should not pay.
_EXPORTS: dict[str, str] = {
    "CHECK_NAMES": "hookyard.testing.conformance",
    "CHECKS": "hookyard.testing.conformance",
    "DEFAULT_MAX_BODY_BYTES": "hookyard.testing.conformance",
    "CaseResult": "hookyard.testing.conformance",
    "Check": "hookyard.testing.conformance",
    "CheckResult": "hookyard.testing.conformance",
    "ConformanceFailure": "hookyard.testing.conformance",
    "Fixture": "hookyard.testing.conformance",
    "Report": "hookyard.testing.conformance",
    "assert_conformant": "hookyard.testing.conformance",
    "load_fixtures": "hookyard.testing.conformance",
    "run_conformance": "hookyard.testing.conformance",
    "run_conformance_sync": "hookyard.testing.conformance",
    "SignedRequest": "hookyard.testing.signing",
    "WireProfile": "hookyard.testing.signing",
    "sign": "hookyard.testing.signing",
    "sign_github": "hookyard.testing.signing",
    "sign_hmac": "hookyard.testing.signing",
    "sign_paddle": "hookyard.testing.signing",
    "sign_request": "hookyard.testing.signing",
    "sign_sendgrid": "hookyard.testing.signing",
    "sign_shopify": "hookyard.testing.signing",
    "sign_slack": "hookyard.testing.signing",
    "sign_square": "hookyard.testing.signing",
    "sign_standard_webhooks": "hookyard.testing.signing",
    "sign_stripe": "hookyard.testing.signing",
    "sign_twilio": "hookyard.testing.signing",
    "sign_twitch": "hookyard.testing.signing",
    "url_with_body_hash": "hookyard.testing.signing",
    "wire_profile": "hookyard.testing.signing",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hookyard.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "DEFAULT_MAX_BODY_BYTES",
    "CaseResult",
    "Check",
    "CheckResult",
    "ConformanceFailure",
    "Fixture",
    "Report",
    "SignedRequest",
    "WireProfile",
    "assert_conformant",
    "load_fixtures",
    "run_conformance",
    "run_conformance_sync",
    "sign",
    "sign_github",
    "sign_hmac",
    "sign_paddle",
    "sign_request",
    "sign_sendgrid",
    "sign_shopify",
    "sign_slack",
    "sign_square",
    "sign_standard_webhooks",
    "sign_stripe",
    "sign_twilio",
    "sign_twitch",
    "url_with_body_hash",
    "wire_profile",
]
