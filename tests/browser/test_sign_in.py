"""Signing in through the real form in headless Chromium."""

from __future__ import annotations


def test_rep_signs_in_and_lands_on_the_live_call_screen(page, sign_in, live_server,
                                                        screenshot):
    sign_in(page)
    assert page.locator("h1").first.inner_text() == "Live call"
    screenshot(page, "sign-in-live")


def test_wrong_password_stays_on_the_form_with_a_message(page, live_server, rep):
    page.goto(f"{live_server}/login")
    page.fill("#email", rep.email)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text() == "That email and password do not match."
    assert page.url.startswith(f"{live_server}/login")
