"""An offer link whose follow-up was cancelled offers again the times still free, checked
afresh (its holds went with the first pick), and books a new follow-up from the same offer;
a time taken meanwhile is neither shown nor bookable, and the offer's expiry still holds."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.offers import withdraw_offer
from scheduler.providers.local import LocalCalendar
from scheduler.store.models import FollowUp, OutboxMessage
from tests.conftest import logged_kinds
from tests.web.api_support import PROSPECT, book
from tests.web.test_offer_pages import offer_on_postgresql, path, send_offer


@pytest.fixture
def pages(app, client):
    """The prospect's browser: no session, CSRF off."""
    app.config["WTF_CSRF_ENABLED"] = False
    return client


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def shown(page) -> list[str]:
    """The start of every slot the offer page lets the prospect pick, as posted back."""
    return [when(chunk.split('"')[0]).isoformat().replace("+00:00", "Z")
            for chunk in page.text.split('name="start" value="')[1:]]


def followups(runtime) -> list[FollowUp]:
    with runtime.store.reading() as session:
        return session.scalars(select(FollowUp).order_by(FollowUp.created_at)).all()


def picks_told_to_the_rep(runtime) -> list[str]:
    with runtime.store.reading() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "rep.notify")
                               .order_by(OutboxMessage.id)).all()
    return [row.payload["what"] for row in rows]


def booked_then_cancelled(pages, offer, index: int = 0) -> str:
    """Pick slot `index` on the link, cancel on the follow-up's page; its manage path."""
    manage = pages.post(path(offer["url"]), data={"start": offer["slots"][index]["start"]})
    assert manage.status_code == 303
    assert pages.post(manage.headers["Location"] + "/cancel").status_code == 303
    return manage.headers["Location"]


def test_after_a_cancel_the_link_offers_the_free_times_and_books_a_new_follow_up(
        api, pages, runtime):
    offer = send_offer(api)
    starts = [slot["start"] for slot in offer["slots"]]
    first_manage = booked_then_cancelled(pages, offer)

    page = pages.get(path(offer["url"]))

    assert page.status_code == 200
    assert shown(page) == starts  # the cancelled time is free again and shown
    assert "Your meeting was cancelled" in page.text and "no longer held" in page.text
    picked = pages.post(path(offer["url"]), data={"start": starts[1]})

    assert picked.status_code == 303 and picked.headers["Location"] != first_manage
    cancelled, booked = followups(runtime)
    assert (cancelled.status, booked.status) == ("cancelled", "booked")
    assert booked.offer_id == cancelled.offer_id == offer["id"]
    assert booked.start == when(starts[1])
    kinds = logged_kinds(runtime)
    assert kinds.count("offer.accepted") == 2 and kinds.count("followup.booked") == 2
    assert kinds[-2:] == ["followup.booked", "offer.accepted"]
    assert picks_told_to_the_rep(runtime) == ["picked", "cancelled", "picked"]
    # Booked again, the link lands on the new follow-up, and books no third one.
    reopened = pages.get(path(offer["url"]))
    assert reopened.status_code == 303 and reopened.headers["Location"] == picked.headers[
        "Location"]
    again = pages.post(path(offer["url"]), data={"start": starts[2]})
    assert again.status_code == 409 and len(followups(runtime)) == 2
    assert 'id="rebook"' not in pages.get(first_manage).text  # booked again: no way back


def test_the_cancelled_page_leads_back_to_the_offer_while_it_can_book(api, pages, runtime):
    offer = send_offer(api, expires_in_minutes=60)
    manage = booked_then_cancelled(pages, offer)

    page = pages.get(manage)

    assert f'href="{path(offer["url"])}"' in page.text and "Pick another time" in page.text
    runtime.clock.advance(timedelta(minutes=61))
    assert 'id="rebook"' not in pages.get(manage).text


def test_a_cancel_by_the_rep_reopens_the_link_too(api, pages, runtime):
    offer = send_offer(api)
    manage = pages.post(path(offer["url"]), data={"start": offer["slots"][0]["start"]})
    [followup] = followups(runtime)
    assert api.patch(f"/followups/{followup.id}",
                     json={"status": "cancelled"}).status_code == 200
    assert manage.status_code == 303

    page = pages.get(path(offer["url"]))

    assert page.status_code == 200
    assert shown(page) == [slot["start"] for slot in offer["slots"]]


def test_a_time_taken_meanwhile_is_neither_shown_nor_bookable(api, pages, runtime):
    offer = send_offer(api)
    starts = [slot["start"] for slot in offer["slots"]]
    booked_then_cancelled(pages, offer)
    book(api, when(starts[1]), prospect={**PROSPECT, "email": "sam@other.example.com"})
    LocalCalendar(runtime.store).add_busy("riley@example.com", when(starts[2]),
                                          when(starts[2]) + timedelta(minutes=10))

    page = pages.get(path(offer["url"]))

    assert page.status_code == 200 and shown(page) == [starts[0]]
    for taken in starts[1:]:
        answer = pages.post(path(offer["url"]), data={"start": taken})
        assert answer.status_code == 409
    assert [f.status for f in followups(runtime)] == ["cancelled", "booked"]


def test_when_no_offered_time_is_left_the_page_says_whom_to_ask(api, pages, runtime):
    offer = send_offer(api)
    booked_then_cancelled(pages, offer)
    for slot in offer["slots"]:
        LocalCalendar(runtime.store).add_busy("riley@example.com", when(slot["start"]),
                                              when(slot["end"]))

    page = pages.get(path(offer["url"]))

    assert page.status_code == 200 and shown(page) == []
    text = " ".join(page.text.split())
    assert "none of the times Riley Rivera offered is free any more" in text
    assert 'href="mailto:riley@example.com"' in page.text and 'id="pick"' not in page.text


def test_a_time_now_too_soon_is_not_offered_again(api, pages, runtime):
    offer = send_offer(api)
    starts = sorted(slot["start"] for slot in offer["slots"])
    booked_then_cancelled(pages, offer, index=[s["start"] for s in offer["slots"]]
                          .index(starts[-1]))
    # Within the rep's notice (30 minutes by default) of the earliest offered time.
    runtime.clock.advance(when(starts[0]) - runtime.clock.now() - timedelta(minutes=20))
    assert runtime.clock.now() < when(offer["expires_at"])  # the link still books

    assert starts[0] not in shown(pages.get(path(offer["url"])))
    answer = pages.post(path(offer["url"]), data={"start": starts[0]})
    assert answer.status_code == 422 and "too soon" in answer.text


def test_after_its_expiry_the_reopened_link_is_a_410_page(api, pages, runtime):
    offer = send_offer(api, expires_in_minutes=60)
    booked_then_cancelled(pages, offer)
    runtime.clock.advance(timedelta(minutes=60, seconds=1))

    assert pages.get(path(offer["url"])).status_code == 410
    picked = pages.post(path(offer["url"]), data={"start": offer["slots"][0]["start"]})
    assert picked.status_code == 410
    assert [f.status for f in followups(runtime)] == ["cancelled"]


def test_an_offer_withdrawn_after_the_cancel_books_no_more(api, pages, runtime, rep):
    offer = send_offer(api)
    booked_then_cancelled(pages, offer)
    withdraw_offer(offer["id"], rep_id=rep.id, store=runtime.store, clock=runtime.clock)

    answer = pages.get(path(offer["url"]))

    assert answer.status_code == 410 and "withdrew" in answer.text
    assert logged_kinds(runtime)[-1] == "offer.withdrawn"


def test_racing_picks_of_a_reopened_link_book_exactly_once(api, app, pages, runtime):
    offer = send_offer(api)
    starts = [slot["start"] for slot in offer["slots"]]
    booked_then_cancelled(pages, offer)
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def pick(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(path(offer["url"]), data={"start": starts[n % 3]},
                                    environ_base={"REMOTE_ADDR": f"127.0.2.{n}"}).status_code)

    threads = [threading.Thread(target=pick, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [303] + [409] * 11
    assert [f.status for f in followups(runtime)] == ["cancelled", "booked"]


def test_racing_picks_of_a_reopened_link_book_exactly_once_on_postgresql(pg_runtime):
    """Two picks of different times wait on the offer's row lock; the second then sees the
    first's follow-up (PostgreSQL reads each statement afresh) and is refused."""
    app, offer = offer_on_postgresql(pg_runtime, WTF_CSRF_ENABLED=False)
    starts = [slot["start"] for slot in offer["slots"]]
    booked_then_cancelled(app.test_client(), offer)
    barrier = threading.Barrier(30)
    statuses: list[int] = []

    def pick(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(path(offer["url"]), data={"start": starts[n % 3]},
                                    environ_base={"REMOTE_ADDR": f"127.0.3.{n}"}).status_code)

    threads = [threading.Thread(target=pick, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [303] + [409] * 29
    with pg_runtime.store.reading() as session:
        rows = session.scalars(select(FollowUp.status).order_by(FollowUp.created_at)).all()
    assert rows == ["cancelled", "booked"]
