"""Offer links end to end through the app: the rep sends one by API, the prospect picks,
moves and cancels on the pages; broken links get their own 4xx page, never a 500."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import select

from scheduler.accounts import add_user, create_api_token
from scheduler.jobs import InlineJobs
from scheduler.store.models import FollowUp, LocalEvent, Offer
from tests.conftest import logged_kinds
from tests.web.api_support import PROSPECT, plan, proposal
from web.app import create_app


@pytest.fixture
def pages(app, client):
    """The prospect's browser: no session, CSRF off (one test below keeps it on)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return client


def send_offer(api, **overrides):
    response = api.post("/offers", json={"prospect": dict(PROSPECT), "plan": plan(),
                                         "duration_minutes": 30, **overrides})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def path(url: str) -> str:
    return urlsplit(url).path


def followups(runtime):
    with runtime.store.reading() as session:
        return session.scalars(select(FollowUp)).all()



def test_an_offer_holds_its_slots_and_answers_in_the_shape_of_api_md(api, runtime):
    offer = send_offer(api)

    assert set(offer) == {"id", "url", "slots", "expires_at"}
    assert offer["url"].startswith("http://nextstep.test/o/")
    assert len(offer["slots"]) == 3
    assert offer["expires_at"] == "2026-11-24T14:00:00Z"  # 24 h from the test clock
    held = {slot["start"] for slot in offer["slots"]}
    again = api.post("/proposals", json=proposal()).get_json()["proposals"]
    assert held.isdisjoint(slot["start"] for slot in again)


def test_the_prospect_picks_a_slot_and_the_link_is_then_used(api, pages, runtime):
    offer = send_offer(api)
    page = pages.get(path(offer["url"]))
    assert page.status_code == 200
    assert "Riley Rivera" in page.text and "send the security questionnaire" in page.text
    chosen = offer["slots"][1]["start"]

    picked = pages.post(path(offer["url"]), data={"start": chosen})

    assert picked.status_code == 303 and "/f/" in picked.headers["Location"]
    [followup] = followups(runtime)
    assert followup.start.isoformat().replace("+00:00", "Z") == chosen
    again = pages.post(path(offer["url"]), data={"start": offer["slots"][0]["start"]})
    assert again.status_code == 409 and "already booked" in again.text
    reopened = pages.get(path(offer["url"]))  # the booked follow-up, not a dead end
    assert reopened.status_code == 303 and "/f/" in reopened.headers["Location"]
    assert logged_kinds(runtime)[:3] == ["offer.sent", "followup.booked", "offer.accepted"]


def test_showing_the_offer_books_nothing(api, pages, runtime):
    offer = send_offer(api)
    for _ in range(3):
        assert pages.get(path(offer["url"])).status_code == 200
    assert followups(runtime) == []


def test_a_tampered_link_is_a_400_page(api, pages):
    offer = send_offer(api)
    broken = path(offer["url"])[:-3] + "xyz"
    answer = pages.get(broken)
    assert answer.status_code == 400 and "not valid" in answer.text
    assert answer.mimetype == "text/html"


def test_a_link_past_its_expiry_is_a_410_page(api, pages, runtime):
    offer = send_offer(api, expires_in_minutes=60)
    runtime.clock.advance(timedelta(minutes=60, seconds=1))

    assert pages.get(path(offer["url"])).status_code == 410
    picked = pages.post(path(offer["url"]), data={"start": offer["slots"][0]["start"]})
    assert picked.status_code == 410
    assert followups(runtime) == []


def test_a_time_not_on_offer_is_refused(api, pages, runtime):
    offer = send_offer(api)
    answer = pages.post(path(offer["url"]), data={"start": "2026-11-30T15:00:00Z"})
    assert answer.status_code == 422 and followups(runtime) == []
    assert pages.post(path(offer["url"]), data={"start": "soon"}).status_code == 422


def test_the_prospect_moves_then_cancels_with_updated_invites(api, pages, runtime):
    offer = send_offer(api)
    manage = pages.post(path(offer["url"]), data={"start": offer["slots"][0]["start"]})
    manage_path = manage.headers["Location"]
    page = pages.get(manage_path)
    assert page.status_code == 200 and "Download the invite" in page.text
    other = page.text.split('name="start" value="')[1].split('"')[0]

    moved = pages.post(manage_path + "/reschedule", data={"start": other})

    assert moved.status_code == 303
    [followup] = followups(runtime)
    assert (followup.status, followup.sequence) == ("rescheduled", 1)
    ics = Calendar.from_ical(pages.get(manage_path + "/invite.ics").data)
    assert ics["METHOD"] == "REQUEST"

    assert pages.post(manage_path + "/cancel").status_code == 303
    [followup] = followups(runtime)
    assert followup.status == "cancelled"
    assert "Cancelled" in pages.get(manage_path).text
    assert Calendar.from_ical(pages.get(manage_path + "/invite.ics").data)["METHOD"] == "CANCEL"
    assert logged_kinds(runtime)[-2:] == ["followup.rescheduled", "followup.cancelled"]


def pick_concurrently(app, url: str, start: str, *, clients: int = 50) -> list[int]:
    """`clients` prospects' browsers POST the same pick at the same instant."""
    app.config["WTF_CSRF_ENABLED"] = False
    barrier = threading.Barrier(clients)
    statuses: list[int] = []

    def pick(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(path(url), data={"start": start},
                                    environ_base={"REMOTE_ADDR": f"127.0.1.{n}"}).status_code)

    threads = [threading.Thread(target=pick, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_fifty_concurrent_picks_book_exactly_once(api, app, runtime):
    offer = send_offer(api)
    statuses = pick_concurrently(app, offer["url"], offer["slots"][0]["start"])
    assert sorted(statuses) == [303] + [409] * 49
    assert len(followups(runtime)) == 1


def offer_on_postgresql(pg_runtime, **config):
    """The app on PostgreSQL, and Riley's offer sent through the API."""
    pg_runtime.use_jobs(InlineJobs(pg_runtime.tick))
    app = create_app(runtime=pg_runtime)
    app.config.update(TESTING=True, **config)
    add_user("riley@example.com", name="Riley Rivera", timezone="America/New_York",
             store=pg_runtime.store, clock=pg_runtime.clock)
    token = create_api_token(pg_runtime.store, "riley@example.com", clock=pg_runtime.clock)
    sent = app.test_client().post(
        "/api/v1/offers", headers={"Authorization": f"Bearer {token}"},
        json={"prospect": dict(PROSPECT), "plan": plan(), "duration_minutes": 30})
    assert sent.status_code == 201, sent.get_json()
    return app, sent.get_json()


def test_fifty_concurrent_picks_book_exactly_once_on_postgresql(pg_runtime):
    """The same race where it matters: row locks and the exclusion constraint of PostgreSQL,
    the prospect's browsers through the app, the rep's offer through the API."""
    app, offer = offer_on_postgresql(pg_runtime)

    statuses = pick_concurrently(app, offer["url"], offer["slots"][0]["start"])

    assert sorted(statuses) == [303] + [409] * 49
    [followup] = followups(pg_runtime)
    assert followup.start.isoformat().replace("+00:00", "Z") == offer["slots"][0]["start"]
    with pg_runtime.store.reading() as session:
        events = session.scalars(select(LocalEvent)).all()
    assert len({event.uid for event in events}) == 1  # one meeting on the calendars


def test_overlapping_hand_picked_slots_are_refused_by_name(api, runtime):
    taken = api.post("/proposals", json=proposal()).get_json()["proposals"][0]["start"]
    later = (datetime.fromisoformat(taken.replace("Z", "+00:00"))
             + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    answer = api.post("/offers", json={"prospect": dict(PROSPECT), "plan": plan(),
                                       "duration_minutes": 30, "slots": [later, taken]})
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "slots.0"  # the later of the two, as sent
    with runtime.store.reading() as session:
        assert session.scalars(select(Offer)).all() == []


def test_the_prospect_cannot_move_to_a_time_nextstep_would_not_offer(api, pages, runtime):
    offer = send_offer(api)
    manage = pages.post(path(offer["url"]), data={"start": offer["slots"][0]["start"]})
    # 03:00 in New York on a weekday: free on every calendar, outside everyone's hours.
    answer = pages.post(manage.headers["Location"] + "/reschedule",
                        data={"start": "2026-11-26T08:00:00Z"})
    assert answer.status_code == 422 and "pick another" in answer.text
    [followup] = followups(runtime)
    assert (followup.status, followup.sequence) == ("booked", 0)


def test_a_follow_up_link_stops_working_after_400_days(api, pages, runtime):
    offer = send_offer(api)
    manage = pages.post(path(offer["url"]), data={"start": offer["slots"][0]["start"]})
    location = manage.headers["Location"]
    assert pages.get(location).status_code == 200
    runtime.clock.advance(timedelta(days=400, seconds=1))
    assert pages.get(location).status_code == 410
    assert pages.post(location + "/cancel").status_code == 410
    assert followups(runtime)[0].status == "booked"


def test_a_pick_without_the_csrf_token_is_refused(api, client, runtime):
    offer = send_offer(api)
    answer = client.post(path(offer["url"]), data={"start": offer["slots"][0]["start"]})
    assert answer.status_code == 400 and followups(runtime) == []


def test_rapid_posts_from_one_address_are_limited(api, pages, runtime):
    offer = send_offer(api)
    statuses = [pages.post(path(offer["url"]), data={"start": "soon"}).status_code
                for _ in range(35)]
    assert statuses[:30] == [422] * 30
    assert set(statuses[30:]) == {429}
