"""The rep hears what the prospect did, and the prospect's links fit in a chat line: each
pick, move, cancel (with its reason) and decline reaches the rep by email through the outbox,
over real SMTP (aiosmtpd); every email to the prospect answers to the rep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from scheduler.booking import book_followup
from scheduler.offers import followup_token, get_offer_followup, offer_token
from scheduler.providers.local import LocalCalendar
from scheduler.store.models import Offer
from scheduler.sync import sync_all
from tests.conftest import make_settings
from tests.services.helpers import booking
from tests.smtp import smtp_server  # noqa: F401  (the fixture)
from tests.web.api_support import PROSPECT, plan

RILEY = "riley@example.com"


@pytest.fixture
def settings(tmp_path, smtp_server):  # noqa: F811
    return make_settings(tmp_path, smtp_host=smtp_server.host, smtp_port=smtp_server.port,
                         smtp_tls="none", mail_from="Nextstep <nextstep@nextstep.test>")


@pytest.fixture
def pages(app, client):
    app.config["WTF_CSRF_ENABLED"] = False
    return client


def to(smtp_server, address):  # noqa: F811
    return [m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == address]


def test_pick_move_and_cancel_each_reach_the_rep(api, pages, runtime, smtp_server):  # noqa: F811
    offer = api.post("/offers", json={"prospect": dict(PROSPECT), "plan": plan(),
                                      "duration_minutes": 30}).get_json()
    url = urlsplit(offer["url"]).path
    manage = pages.post(url, data={"start": offer["slots"][0]["start"]}).headers["Location"]
    other = pages.get(manage).text.split('name="start" value="')[1].split('"')[0]
    assert pages.post(manage + "/reschedule", data={"start": other}).status_code == 303
    assert pages.post(manage + "/cancel",
                      data={"reason": "We chose another vendor"}).status_code == 303

    notices = to(smtp_server, RILEY)
    subjects = [m["Subject"] for m in notices]
    assert [s.split(" “")[0] for s in subjects] == [
        "Dana Whitfield booked", "Dana Whitfield moved", "Dana Whitfield cancelled"]
    picked, moved, cancelled = (m.get_content() for m in notices)
    assert "dana@acme.example.com" in picked and "(America/New_York)" in picked
    assert "Moved from " in moved and " to " in moved
    assert "Reason given: We chose another vendor" in cancelled
    assert all(m["Reply-To"].addresses[0].addr_spec == PROSPECT["email"] for m in notices)

    to_prospect = to(smtp_server, PROSPECT["email"])
    assert len(to_prospect) >= 3  # offer, invite, update, cancellation
    assert all(m["Reply-To"].addresses[0].addr_spec == RILEY for m in to_prospect)
    cancellation = next(m for m in to_prospect if m["Subject"].startswith("Cancelled"))
    body = next(p for p in cancellation.walk() if p.get_content_type() == "text/plain")
    assert body.get_content().startswith("Dana Whitfield cancelled")


def test_a_decline_in_the_calendar_reaches_the_rep(runtime, make_rep, smtp_server):  # noqa: F811
    rep = make_rep()
    followup = book_followup(booking(datetime(2026, 11, 24, 15, 0, tzinfo=UTC)), rep=rep,
                             **runtime.deps()).followup
    runtime.tick()
    sync_all(store=runtime.store, calendars=runtime.calendars, clock=runtime.clock)
    assert to(smtp_server, RILEY) == []  # the rep booked it: nothing to tell

    LocalCalendar(runtime.store).respond(followup.event_uid, "dana@acme.example.com",
                                         "declined")
    sync_all(store=runtime.store, calendars=runtime.calendars, clock=runtime.clock)
    runtime.tick()

    [notice] = to(smtp_server, RILEY)
    assert " declined “" in notice["Subject"]
    assert "When: Tue 24 Nov 10:00" in notice.get_content()


def test_the_pages_say_from_when_to_when_and_the_live_screen_lists_it(
        api, pages, signed_in, runtime, smtp_server):  # noqa: F811
    offer = api.post("/offers", json={"prospect": dict(PROSPECT), "plan": plan(),
                                      "duration_minutes": 30}).get_json()
    url = urlsplit(offer["url"]).path
    manage = pages.post(url, data={"start": offer["slots"][0]["start"]}).headers["Location"]
    other = pages.get(manage).text.split('name="start" value="')[1].split('"')[0]
    pages.post(manage + "/reschedule", data={"start": other})

    page = pages.get(manage).text
    assert "Moved from" in page and "(your time)" in page and "Duration: 30 minutes" in page
    pages.post(manage + "/cancel", data={"reason": "Budget frozen"})
    assert "is cancelled. Riley Rivera has been told." in " ".join(pages.get(manage).text.split())

    screen = signed_in.get("/live").text
    assert "What your prospects did" in screen
    assert screen.count("data-notice=") == 3 and "“Budget frozen”" in screen


def test_offer_and_follow_up_links_fit_in_sixty_characters(api, pages, runtime):
    base = "https://nextstep.example.com"
    offer = api.post("/offers", json={"prospect": dict(PROSPECT), "plan": plan(),
                                      "duration_minutes": 30}).get_json()
    short = urlsplit(offer["url"]).path
    assert len(base + short) <= 60
    manage = pages.post(short, data={"start": offer["slots"][0]["start"]}).headers["Location"]
    assert len(base + urlsplit(manage).path) <= 60
    assert pages.get(manage).status_code == 200
    # single use kept on the server: the short offer link now lands on the follow-up
    assert pages.get(short).headers["Location"] == manage
    assert pages.get("/o/AAAAAAAAAAAA").status_code == 400


def test_old_long_signed_links_keep_working(api, pages, runtime):
    offer = api.post("/offers", json={"prospect": dict(PROSPECT), "plan": plan(),
                                      "duration_minutes": 30}).get_json()
    with runtime.store.reading() as session:
        row = session.get(Offer, offer["id"])
    long = "/o/" + offer_token(row, settings=runtime.settings, clock=runtime.clock)
    assert pages.get(long).status_code == 200
    picked = pages.post(long, data={"start": offer["slots"][0]["start"]})
    followup_id = picked.headers["Location"]  # a short one now
    assert pages.get(followup_id).status_code == 200
    booked = get_offer_followup(runtime.store, offer["id"])
    signed = "/f/" + followup_token(booked.id, settings=runtime.settings, clock=runtime.clock)
    assert pages.get(signed).status_code == 200


def test_a_short_link_past_its_expiry_is_a_410_page(api, pages, runtime):
    offer = api.post("/offers", json={"prospect": dict(PROSPECT), "plan": plan(),
                                      "duration_minutes": 30}).get_json()
    runtime.clock.advance(timedelta(days=2))
    assert pages.get(urlsplit(offer["url"]).path).status_code == 410
