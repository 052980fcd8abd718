"""Flow 2 end to end: the rep sends a link from the live-call screen, the email arrives on a
real SMTP server, and the prospect, in a browser on Tokyo time, picks a slot, moves it and
cancels it; each step sends the right invite and writes the log."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.spoken import local_label
from scheduler.store.models import LogEntry
from tests.conftest import make_settings
from tests.ports import free_port

PROSPECT_ZONE = "America/Los_Angeles"  # what the rep types; the prospect's browser differs
BROWSER_ZONE = "Asia/Tokyo"
PROSPECT_EMAIL = "dana@acme.example.com"


@pytest.fixture
def server_port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path, server_port, smtp_server):
    """Links in the mail point at the served app; mail goes to the aiosmtpd server."""
    return make_settings(tmp_path, base_url=f"http://127.0.0.1:{server_port}",
                         smtp_host=smtp_server.host, smtp_port=smtp_server.port)


def _mails_to(smtp_server, email):
    return [m for m in smtp_server.messages if email in m["To"]]


def _invites(smtp_server, email):
    """(METHOD, SEQUENCE) of every .ics the prospect received, in order."""
    found = []
    for message in _mails_to(smtp_server, email):
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                calendar = Calendar.from_ical(part.get_payload(decode=True))
                [event] = calendar.walk("VEVENT")
                found.append((str(calendar["METHOD"]), int(event["SEQUENCE"])))
    return found


def _tokyo(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(BROWSER_ZONE))


def _shown_as_tokyo_time(text: str, iso: str) -> bool:
    local = _tokyo(iso)
    return f"{local.day} {local:%b}" in text and f"{local:%H:%M}" in text


def test_prospect_picks_moves_and_cancels_from_the_emailed_link(
        page, sign_in, browser, live_server, runtime, rep, smtp_server, screenshot):
    sign_in(page)
    page.fill("#prospect-name", "Dana Whitfield")
    page.fill("#prospect-email", PROSPECT_EMAIL)
    page.fill("#prospect-timezone", PROSPECT_ZONE)
    page.locator("#prospect-timezone").dispatch_event("change")
    expect(page.locator("input[name=slot]")).to_have_count(3)
    page.fill("#steps-0-what", "Send the security questionnaire")
    page.fill("#steps-0-due", "2026-11-25")

    page.click("#send-offer")

    expect(page.locator("#offer-url")).to_be_visible()
    url_on_screen = page.locator("#offer-url").inner_text()
    [mail] = _mails_to(smtp_server, PROSPECT_EMAIL)
    plain = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    link = re.search(r'href="([^"]+/o/[^"]+)"', html).group(1)
    assert link == url_on_screen and link in plain
    assert PROSPECT_ZONE in plain and "will send the security questionnaire" in plain

    prospect = browser.new_context(timezone_id=BROWSER_ZONE)
    try:
        offer_page = prospect.new_page()
        offer_page.goto(link)
        expect(offer_page.locator("#zone-name")).to_have_text(BROWSER_ZONE)
        starts = [offer_page.locator("input[name=start]").nth(i).get_attribute("value")
                  for i in range(3)]
        labels = offer_page.locator("label.slot time.when")
        for index, start in enumerate(starts):
            # The browser shows Tokyo time; the mail listed the same instants in LA time.
            assert _shown_as_tokyo_time(labels.nth(index).inner_text(), start)
            assert local_label(datetime.fromisoformat(start), PROSPECT_ZONE) in plain
        screenshot(offer_page, "offer-in-tokyo")

        offer_page.locator("input[name=start]").nth(1).check()
        offer_page.click("#pick")

        offer_page.wait_for_url("**/f/**")
        booked = offer_page.locator("#followup")
        expect(booked).to_contain_text("Booked with Riley Rivera")
        assert _shown_as_tokyo_time(booked.locator("strong time.when").inner_text(), starts[1])
        new_start = offer_page.locator("#reschedule").locator("xpath=..").locator(
            "input[name=start]").first.get_attribute("value")
        offer_page.locator(f"input[name=start][value='{new_start}']").check()
        offer_page.click("#reschedule")

        expect(booked.locator("strong time.when")).to_have_attribute("datetime", new_start)
        assert _shown_as_tokyo_time(booked.locator("strong time.when").inner_text(), new_start)
        offer_page.once("dialog", lambda dialog: dialog.accept())  # "Cancel this meeting?"
        offer_page.click("#cancel")

        expect(offer_page.locator("h1")).to_contain_text("Cancelled")
        screenshot(offer_page, "followup-cancelled")
    finally:
        prospect.close()

    assert [method for method, _ in _invites(smtp_server, PROSPECT_EMAIL)] == [
        "REQUEST", "REQUEST", "CANCEL"]
    assert [seq for _, seq in _invites(smtp_server, PROSPECT_EMAIL)][:2] == [0, 1]
    with runtime.store.reading() as session:
        kinds = [e.kind for e in session.scalars(select(LogEntry).order_by(LogEntry.id))]
    wanted = ["offer.sent", "offer.accepted", "followup.rescheduled", "followup.cancelled"]
    assert [kind for kind in kinds if kind in wanted] == wanted
