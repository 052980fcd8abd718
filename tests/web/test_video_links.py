"""The rep's video link where the prospect and the API see the meeting: the offer page, the
follow-up page and its .ics, and the API's follow-up answer."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tests.web.api_support import PROSPECT, TUESDAY_3PM, book, plan
from tests.web.test_api_availability import availability

LINK = "https://meet.example.com/riley"


@pytest.fixture
def pages(app, client):
    app.config["WTF_CSRF_ENABLED"] = False
    return client


def test_the_api_answers_the_follow_ups_video_link(api, rep):
    assert book(api)["video_link"] is None
    api.put("/me/availability", json=availability(video_link=LINK, min_notice_minutes=30,
                                                  buffer_before_minutes=0,
                                                  buffer_after_minutes=0))

    followup = book(api, TUESDAY_3PM + timedelta(days=1), title="Second look")

    assert followup["video_link"] == LINK
    assert api.get(f"/followups/{followup['id']}").get_json()["video_link"] == LINK


def test_the_offer_and_follow_up_pages_show_the_link_and_the_ics_carries_it(api, pages, rep):
    api.put("/me/availability", json=availability(video_link=LINK, min_notice_minutes=30))
    offer = api.post("/offers", json={"prospect": dict(PROSPECT), "plan": plan(),
                                      "duration_minutes": 30}).get_json()
    offer_page = pages.get(urlsplit(offer["url"]).path)
    assert f'href="{LINK}"' in offer_page.text

    picked = pages.post(urlsplit(offer["url"]).path, data={"start": offer["slots"][0]["start"]})
    followup_page = pages.get(picked.headers["Location"])

    assert f'href="{LINK}"' in followup_page.text
    ics = pages.get(urlsplit(picked.headers["Location"]).path + "/invite.ics").text
    assert f"LOCATION:{LINK}" in ics
