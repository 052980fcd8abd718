"""Headless Debian Chromium (never `playwright install`) driving the app on a real local
server: the test runtime, served by werkzeug in a thread, with CSRF on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scheduler.jobs import InlineJobs
from tests.conftest import PASSWORD
from tests.ports import serving
from tests.smtp import smtp_server  # noqa: F401  (the fixture)
from web.app import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        import os

        message = "Debian's chromium is not installed (make test installs it as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        yield launched
        launched.close()


@pytest.fixture
def live_app(runtime):
    """The app as a browser sees it: CSRF on, background work inline after each commit."""
    runtime.use_jobs(InlineJobs(runtime.tick))
    return create_app(runtime=runtime)


@pytest.fixture
def server_port() -> int:
    """0: any free port. A test whose links must point at the server (settings.base_url)
    overrides this with a port it chose first."""
    return 0


@pytest.fixture
def live_server(live_app, server_port):
    """The base URL of the app served on a loopback port for this test."""
    with serving(live_app, server_port) as base_url:
        yield base_url


@pytest.fixture
def context(browser):
    """A fresh browser context per test (the rep's zone); tests needing another zone make
    their own with `browser.new_context(timezone_id=...)`."""
    made = browser.new_context(timezone_id="America/New_York", viewport={"width": 1280,
                                                                          "height": 800})
    yield made
    made.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves tests/artifacts/<name>.png (ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(target, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        target.screenshot(path=str(path), full_page=True)
        return path
    return take


@pytest.fixture
def sign_in(live_server, rep):
    """sign_in(page): through the real form, CSRF token and all."""
    def go(target) -> None:
        target.goto(f"{live_server}/login")
        target.fill("#email", rep.email)
        target.fill("#password", PASSWORD)
        target.click("button[type=submit]")
        target.wait_for_url(f"{live_server}/live")
    return go
