"""The ``webhook_conformance`` fixture, used directly and from a user's own suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hookyard.testing import ConformanceFailure
from hookyard.testing.pytest_plugin import (
    WebhookConformance,
    assert_conformant,
    webhook_conformance,
)
from support.conformance_keys import EXAMPLES, load_example
from support.user_suite import run_user_suite

starlette_receiver = load_example("starlette_receiver")
weak_receiver = load_example("weak_receiver")
__all__ = ["webhook_conformance"]  # the fixture, imported so that tests here can use it

SW = "standard-webhooks"
WEAK_GAPS = {"stale-timestamp", "future-timestamp", "duplicate-side-effect"}


def test_fixture_runs_the_battery_in_process(webhook_conformance: WebhookConformance) -> None:
    report = webhook_conformance(
        starlette_receiver.create_app(),
        SW,
        starlette_receiver.DEMO_SECRET,
        path="/webhooks",
        side_effect_url="/count",
        max_body_bytes=starlette_receiver.MAX_BODY_BYTES,
    )
    assert_conformant(report)


def test_assertion_helper_fails_with_the_table(webhook_conformance: WebhookConformance) -> None:
    report = webhook_conformance(
        weak_receiver.create_app(),
        SW,
        weak_receiver.DEMO_SECRET,
        path="/webhooks",
        side_effect_url="/count",
    )
    with pytest.raises(ConformanceFailure) as raised:
        assert_conformant(report)
    message = str(raised.value)
    for check in WEAK_GAPS:
        assert check in message
    assert "no timestamp window" in message
    assert "tampered-body" not in message  # only failed checks are shown
    assert_conformant(report, expect_failures=WEAK_GAPS)


def test_defaults_given_to_the_kit_apply_to_every_run() -> None:
    kit = WebhookConformance(path="/webhooks", side_effect_url="/count")
    report = kit.assert_conformant(
        weak_receiver.create_app(),
        SW,
        weak_receiver.DEMO_SECRET,
        expect_failures=WEAK_GAPS,
    )
    assert report.target == "http://testserver/webhooks"


async def test_async_tests_await_run(webhook_conformance: WebhookConformance) -> None:
    report = await webhook_conformance.run(
        starlette_receiver.create_app(), SW, starlette_receiver.DEMO_SECRET, path="/webhooks"
    )
    assert report.ok


async def test_the_sync_call_in_an_async_test_says_what_to_do(
    webhook_conformance: WebhookConformance,
) -> None:
    with pytest.raises(RuntimeError, match="await"):
        webhook_conformance(starlette_receiver.create_app(), SW, starlette_receiver.DEMO_SECRET)


CONFTEST = """
pytest_plugins = ["hookyard.testing.pytest_plugin"]
"""

USER_TESTS = """
import sys
sys.path.insert(0, {examples!r})

import starlette_receiver
import weak_receiver

from hookyard.testing import assert_conformant


def test_strict(webhook_conformance):
    report = webhook_conformance(
        starlette_receiver.create_app(), "standard-webhooks", starlette_receiver.DEMO_SECRET,
        path="/webhooks", side_effect_url="/count",
    )
    assert_conformant(report)


def test_weak(webhook_conformance):
    report = webhook_conformance(
        weak_receiver.create_app(), "standard-webhooks", weak_receiver.DEMO_SECRET,
        path="/webhooks", side_effect_url="/count",
    )
    assert_conformant(report)
"""


def test_a_user_suite_enables_the_plugin_by_name(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_receiver.py").write_text(
        textwrap.dedent(USER_TESTS.format(examples=str(EXAMPLES)))
    )
    code, output = run_user_suite(tmp_path)
    assert code == 1, output
    assert "1 failed, 1 passed" in output
    assert "FAILED test_receiver.py::test_weak" in output
    # The failure shows the table of failed checks, not a traceback into the kit.
    assert "stale-timestamp" in output
    assert "duplicate-side-effect" in output
    assert "conformance.py" not in output


def test_every_public_name_resolves() -> None:
    import hookyard.testing as kit

    assert set(kit._EXPORTS) == set(kit.__all__)
    for name in kit.__all__:
        assert getattr(kit, name) is not None
    with pytest.raises(AttributeError):
        kit.nope  # noqa: B018


def test_loading_the_plugin_does_not_load_the_battery() -> None:
    """As an entry point the plugin loads in every pytest session; it must stay cheap."""
    code = (
        "import sys, hookyard.testing.pytest_plugin; "
        "print('hookyard.testing.conformance' in sys.modules, 'httpx' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "False"]
