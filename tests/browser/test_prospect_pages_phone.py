"""The prospect's pages on a phone (390 px wide): nothing scrolls sideways, the duration and
the zone in use are shown, cancelling asks to confirm and takes a reason, and a re-opened
offer link lands on the booked follow-up, and after a cancel offers the times still free."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.web.api_support import PROSPECT, plan

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    made = browser.new_context(timezone_id="Europe/Berlin", viewport=PHONE)
    yield made.new_page()
    made.close()


def _offer_path(live_app, token) -> str:
    sent = live_app.test_client().post(
        "/api/v1/offers", headers={"Authorization": f"Bearer {token}"},
        json={"prospect": dict(PROSPECT), "plan": plan(), "duration_minutes": 30})
    assert sent.status_code == 201, sent.get_json()
    return urlsplit(sent.get_json()["url"]).path


def _no_sideways_scroll(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def test_offer_and_followup_fit_a_phone_and_never_dead_end(live_app, live_server, token,
                                                          phone, screenshot):
    offer_path = _offer_path(live_app, token)
    phone.goto(live_server + offer_path)
    expect(phone.locator("#zone-name")).to_have_text("Europe/Berlin")  # the browser's zone
    expect(phone.locator("#offer")).to_contain_text("Duration: 30 minutes")
    phone.fill("#zone-search", "Tokyo")  # the searchable picker
    expect(phone.locator("#zone-name")).to_have_text("Asia/Tokyo")
    phone.fill("#zone-search", "Europe/Berlin")
    expect(phone.locator("#zone-name")).to_have_text("Europe/Berlin")
    _no_sideways_scroll(phone)
    screenshot(phone, "phone-offer")

    phone.click("#pick")
    phone.wait_for_url("**/f/**")
    followup_url = phone.url
    assert len("https://nextstep.example.com" + urlsplit(followup_url).path) <= 60
    _no_sideways_scroll(phone)

    phone.goto(live_server + offer_path)  # the offer link again: the booked follow-up
    assert phone.url == followup_url
    phone.check("#followup input[name=start] >> nth=0")
    phone.click("#reschedule")
    expect(phone.locator("#moved")).to_contain_text("(your time)")
    _no_sideways_scroll(phone)
    screenshot(phone, "phone-followup-moved")

    phone.fill("#reason", "Our budget is frozen until January")
    phone.once("dialog", lambda dialog: dialog.dismiss())
    phone.click("#cancel")
    expect(phone.locator("#followup h1")).not_to_contain_text("Cancelled")  # dismissed
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("#cancel")
    expect(phone.locator("#followup h1")).to_contain_text("Cancelled")
    _no_sideways_scroll(phone)
    screenshot(phone, "phone-followup-cancelled")

    phone.click("#rebook a")  # after the cancel, the offer's times still free
    phone.wait_for_url("**/o/**")
    expect(phone.locator("#again")).to_contain_text("still free")
    _no_sideways_scroll(phone)
    screenshot(phone, "phone-offer-again")
    phone.click("#pick")
    phone.wait_for_url("**/f/**")
    assert phone.url != followup_url  # a new follow-up from the same offer
    expect(phone.locator("#followup h1")).not_to_contain_text("Cancelled")
