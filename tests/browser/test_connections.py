"""Connecting Google and signing in with Google in headless Chromium, against the Google
emulator's consent page. What only a real browser shows: the session cookie (SameSite=Lax)
comes back on the provider's cross-site redirect, so the single-use state is found."""

from __future__ import annotations

import pytest

from scheduler.runtime import default_builders
from tests.conftest import build_runtime, make_settings
from tests.contract.harness_google import running_emulator
from tests.emulators.google import endpoints
from tests.ports import free_port


@pytest.fixture
def google(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain http
    with running_emulator() as emulated:
        yield emulated


@pytest.fixture
def server_port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path, google, server_port):
    return make_settings(tmp_path, base_url=f"http://127.0.0.1:{server_port}",
                         google_client_id=google.settings.google_client_id,
                         google_client_secret=google.settings.google_client_secret,
                         **endpoints(google.base_url))


@pytest.fixture
def runtime(settings, clock):
    built = build_runtime(settings, clock, builders=default_builders())
    yield built
    built.store.dispose()


def test_rep_connects_google_then_disconnects(page, sign_in, live_server, google, screenshot):
    sign_in(page)
    page.goto(f"{live_server}/connections")

    page.click("#connect-google")

    page.wait_for_url(f"{live_server}/connections")
    assert "Google Calendar rep@example.com is connected." in page.get_by_role(
        "status").inner_text()
    card = page.locator("section.connection")
    assert card.locator("h2").inner_text() == "Google Calendar · rep@example.com"
    screenshot(page, "connections-google")

    card.get_by_role("button", name="Disconnect").click()

    page.wait_for_url(f"{live_server}/connections")
    assert "is disconnected and its tokens are deleted" in page.get_by_role(
        "status").inner_text()
    assert page.locator("section.connection").count() == 0
    assert google.state.request_count("revoke") == 1


def test_rep_signs_in_with_google(page, live_server, rep, google):
    google.state.identity.account = rep.email  # who signs in on Google's page
    google.state.add_calendar(rep.email)
    page.goto(f"{live_server}/login")

    page.click("#sign-in-google")

    page.wait_for_url(f"{live_server}/live")
    assert page.locator("h1").first.inner_text() == "Live call"
