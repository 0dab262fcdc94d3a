"""pytest plugin: the ``webhook_conformance`` fixture, for a receiver's own test suite.

Enable it in ``conftest.py``::

    pytest_plugins = ["hookyard.testing.pytest_plugin"]

then::

    from hookyard.testing import assert_conformant

    def test_my_receiver_is_conformant(webhook_conformance):
        report = webhook_conformance(app, "stripe", "whsec_test", path="/webhooks/stripe")
        assert_conformant(report)  # fails with the table of failed checks

In an async test, ``await webhook_conformance.run(...)`` instead: the synchronous call
would need an event loop of its own, and an app set up on the test's loop must be called
from that loop.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hookyard.signatures.base import Scheme
    from hookyard.testing.conformance import ASGIApp, Report

# The battery is imported on first use, not here: once installed as an entry point this
# module loads in every pytest session, most of which never ask for the fixture.

__all__ = ["WebhookConformance", "assert_conformant", "webhook_conformance"]


def assert_conformant(report: Report, *, expect_failures: Collection[str] = ()) -> None:
    """Fail the test unless exactly ``expect_failures`` failed; the message is the table."""
    __tracebackhide__ = True
    report.assert_conformant(expect_failures=expect_failures)


class WebhookConformance:
    """Runs the battery against an ASGI app in-process or a receiver at a URL.

    Keyword arguments given here are defaults for every run (for example
    ``side_effect_url="/count"``); each call may override them. They are those of
    ``hookyard.testing.run_conformance``.
    """

    def __init__(self, **defaults: Any) -> None:
        self.defaults = defaults

    def __call__(
        self, target: str | ASGIApp, scheme: str | Scheme, secret: str, **kwargs: Any
    ) -> Report:
        from hookyard.testing.conformance import run_conformance_sync

        return run_conformance_sync(target, scheme, secret, **{**self.defaults, **kwargs})

    async def run(
        self, target: str | ASGIApp, scheme: str | Scheme, secret: str, **kwargs: Any
    ) -> Report:
        from hookyard.testing.conformance import run_conformance

        return await run_conformance(target, scheme, secret, **{**self.defaults, **kwargs})

    def assert_conformant(
        self,
        target: str | ASGIApp,
        scheme: str | Scheme,
        secret: str,
        *,
        expect_failures: Collection[str] = (),
        **kwargs: Any,
    ) -> Report:
        """Run and fail the test unless exactly ``expect_failures`` failed."""
        __tracebackhide__ = True
        report = self(target, scheme, secret, **kwargs)
        report.assert_conformant(expect_failures=expect_failures)
        return report


@pytest.fixture
def webhook_conformance() -> WebhookConformance:
    """Run hookyard's receiver conformance battery: ``webhook_conformance(app, scheme, secret)``."""
    return WebhookConformance()
