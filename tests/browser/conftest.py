"""Browser tests: Debian's chromium driven by Playwright (``executable_path``), against a
real ``hookyard serve`` on SQLite with a real sink on 127.0.0.1.

One server and one browser serve the whole module set; each test gets a fresh context
(cookies) and page. A failed test leaves a screenshot of its page under
``test-artifacts/screenshots/`` (``HOOKYARD_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import shutil
from collections.abc import Generator, Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from support.browser import ARTIFACTS, TOKEN
from support.server import RunningServer, start_server
from support.sink import ScriptedServer, running_sink

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def sink_server() -> Iterator[ScriptedServer]:
    with running_sink() as server:
        yield server


@pytest.fixture(scope="session")
def dashboard(
    tmp_path_factory: pytest.TempPathFactory, sink_server: ScriptedServer
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("dashboard")
    config = f"""
[server]
admin_token = "{TOKEN}"
allow_networks = ["127.0.0.1/32"]

[sources.demo]
scheme = "none"
type_field = "type"

[sources.shop]
scheme = "none"

[destinations.sink]
url = "{sink_server.url("/dest")}"
sources = ["shop"]
"""
    server = start_server(workdir, config=config, database=f"sqlite:///{workdir / 'h.db'}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: Playwright's sync API keeps an event loop running in this thread while it
    is started, and the async tests after the browser modules need the thread's loop free."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (./run test installs it)")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    if request.node.stash.get(_FAILED, False):
        ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
        opened.screenshot(
            path=str(ARTIFACTS / "screenshots" / f"{request.node.name}.png"), full_page=True
        )
    context.close()
