"""Connecting Google and signing in with Google in headless Chromium, against the Google
emulator's consent page. What only a real browser shows: the session cookie (SameSite=Lax)
comes back on the provider's cross-site redirect, so the single-use state is found."""

from __future__ import annotations

import pytest

from tests import google_app
from tests.ports import free_port

google, runtime = google_app.google, google_app.runtime  # the fixtures, by their names


@pytest.fixture
def server_port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path, google, server_port):
    return google_app.google_settings(tmp_path, google, base_url=f"http://127.0.0.1:{server_port}")


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
