"""The live-call screen's partials: slots and a sentence, a booking, field errors in place."""

from __future__ import annotations

from sqlalchemy import select

from scheduler.store.models import FollowUp
from tests.web.api_support import TUESDAY_3PM, make_busy


def call(**overrides):
    form = {"prospect-name": "Ada Byron", "prospect-email": "ada@example.com",
            "prospect-timezone": "Europe/Berlin", "duration_minutes": "30",
            "idempotency_key": "screen-1"}
    form.update(overrides)
    return form


def plan_rows(*whats, due="2026-11-27"):
    rows = {}
    for index, what in enumerate(whats):
        rows |= {f"steps-{index}-who": "rep", f"steps-{index}-what": what,
                 f"steps-{index}-type": "other", f"steps-{index}-due": due}
    return rows


def followups(runtime):
    with runtime.store.reading() as session:
        return session.scalars(select(FollowUp)).all()


def test_the_screen_offers_the_catalogue_and_colleagues(signed_in, helpers):
    page = signed_in.get("/live")
    assert page.status_code == 200
    assert 'value="proposal_review"' in page.text and "Lee Chen" in page.text


def test_the_slots_partial_offers_three_times_and_a_sentence(signed_in):
    partial = signed_in.post("/live/slots", data=call())
    assert partial.status_code == 200
    assert partial.text.count('name="slot"') == 3 and 'id="spoken"' in partial.text


def test_until_the_prospect_is_typed_the_panel_says_so(signed_in):
    partial = signed_in.post("/live/slots", data=call(**{"prospect-email": ""}))
    assert partial.status_code == 200 and "Type the prospect" in partial.text


def test_a_bad_zone_is_named_with_a_422_partial(signed_in):
    partial = signed_in.post("/live/slots", data=call(**{"prospect-timezone": "Mars/Base"}))
    assert partial.status_code == 422
    assert 'data-field="prospect-timezone"' in partial.text and "IANA" in partial.text


def test_booking_three_steps_confirms_and_a_retry_books_once(signed_in, runtime):
    form = call(slot=TUESDAY_3PM.isoformat(), **plan_rows("Send proposal", "Review it",
                                                          "Sign paperwork"))
    booked = signed_in.post("/live/book", data=form)
    again = signed_in.post("/live/book", data=form)

    assert booked.status_code == 200 and "Booked:" in booked.text
    assert "Already booked" in again.text
    [followup] = followups(runtime)
    assert len(followup.steps) == 3


def test_a_plan_without_steps_is_named(signed_in, runtime):
    answer = signed_in.post("/live/book", data=call(slot=TUESDAY_3PM.isoformat()))
    assert answer.status_code == 422 and 'data-field="steps"' in answer.text
    assert followups(runtime) == []


def test_a_taken_slot_is_a_409_partial(signed_in, runtime, rep):
    make_busy(runtime, rep.email, TUESDAY_3PM)
    answer = signed_in.post("/live/book", data=call(slot=TUESDAY_3PM.isoformat(),
                                                    **plan_rows("Send proposal")))
    assert answer.status_code == 409 and "busy" in answer.text
    assert answer.mimetype == "text/html" and followups(runtime) == []


def test_no_slot_picked_points_at_the_slots(signed_in):
    answer = signed_in.post("/live/book", data=call(**plan_rows("Send proposal")))
    assert answer.status_code == 422 and 'data-field="slot"' in answer.text


def test_sending_a_link_shows_it(signed_in, runtime):
    slots = signed_in.post("/live/slots", data=call())
    offered = [part.split('"')[0] for part in slots.text.split('name="offered" value="')[1:]]
    answer = signed_in.post("/live/offer", data={**call(**plan_rows("Send proposal")),
                                                 "offered": offered})
    assert answer.status_code == 200 and 'id="offer-url"' in answer.text
    assert "http://nextstep.test/o/" in answer.text


def test_the_screen_needs_a_signed_in_rep(client):
    assert client.get("/live").status_code == 302
