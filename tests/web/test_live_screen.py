"""The live-call screen's partials: slots and a sentence, a booking, field errors in place."""

from __future__ import annotations

from sqlalchemy import select

from scheduler.store.models import FollowUp, LogEntry
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
    assert 'data-field="prospect-timezone"' in partial.text
    assert "Pick their time zone from the list" in partial.text


def test_booking_three_steps_confirms_and_a_retry_books_once(signed_in, runtime):
    form = call(slot=TUESDAY_3PM.isoformat(), **plan_rows("Send proposal", "Review it",
                                                          "Sign paperwork"))
    booked = signed_in.post("/live/book", data=form)
    again = signed_in.post("/live/book", data=form)

    assert booked.status_code == 200 and "Booked:" in booked.text
    assert "Already booked" in again.text
    [followup] = followups(runtime)
    assert len(followup.steps) == 3


def test_a_plan_without_steps_points_at_the_first_step(signed_in, runtime):
    answer = signed_in.post("/live/book", data=call(slot=TUESDAY_3PM.isoformat()))
    assert answer.status_code == 422 and 'data-field="steps-0-what"' in answer.text
    assert "Add at least one step" in answer.text
    assert followups(runtime) == []


def test_a_taken_slot_is_a_409_partial(signed_in, runtime, rep):
    make_busy(runtime, rep.email, TUESDAY_3PM)
    answer = signed_in.post("/live/book", data=call(slot=TUESDAY_3PM.isoformat(),
                                                    **plan_rows("Send proposal")))
    assert answer.status_code == 409
    assert "Riley Rivera is busy then — pick another time." in answer.text
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


def test_errors_read_as_words_for_people(signed_in):
    empty = signed_in.post("/live/book", data=call(**{"prospect-name": "",
                                                      "slot": TUESDAY_3PM.isoformat()}))
    bad_email = signed_in.post("/live/slots", data=call(**{"prospect-email": "ada@"}))

    assert "Type the prospect&#39;s name." in empty.text and "String should" not in empty.text
    assert 'data-field="prospect-email"' in bad_email.text
    assert "is not an email address" not in bad_email.text


def test_a_refresh_keeps_the_clicked_slot_while_it_is_offered(signed_in):
    first = signed_in.post("/live/slots", data=call())
    third = first.text.split('name="slot" value="')[3].split('"')[0]

    again = signed_in.post("/live/slots", data=call(chosen=third, slot=third))

    assert f'value="{third}" checked' in again.text
    assert again.text.count(" checked") == 1


def test_a_refresh_says_plainly_when_the_clicked_slot_was_taken(signed_in, runtime, rep):
    first = signed_in.post("/live/slots", data=call())
    third = first.text.split('name="slot" value="')[3].split('"')[0]
    from datetime import datetime
    make_busy(runtime, rep.email, datetime.fromisoformat(third))

    again = signed_in.post("/live/slots", data=call(chosen=third, slot=third))

    assert "Wed 25 Nov 15:00 (their time) was just taken — pick another." in again.text
    assert " checked" not in again.text  # nothing booked by mistake: the rep picks again


def test_the_booking_is_logged_as_made_on_the_live_screen(signed_in, runtime):
    signed_in.post("/live/book", data=call(slot=TUESDAY_3PM.isoformat(),
                                           **plan_rows("Send proposal")))
    with runtime.store.reading() as session:
        entry = session.scalars(select(LogEntry).where(LogEntry.kind == "followup.booked")).one()
    assert entry.data["via"] == "live screen" and entry.data["steps"] == 1


def test_the_booked_panel_shows_names_and_local_dates_not_ids(signed_in, runtime):
    answer = signed_in.post("/live/book", data=call(slot=TUESDAY_3PM.isoformat(),
                                                    **plan_rows("Send questions")))
    [followup] = followups(runtime)
    runtime.tick()
    visible = answer.text.replace(f'name="followup_id" value="{followup.id}"', "")

    assert "Riley Rivera will send questions by Fri 27 Nov" in answer.text
    assert followup.id not in visible and followup.event_uid not in answer.text
    assert "2026-11-27" not in answer.text


def test_after_booking_the_same_button_amends_the_plan(signed_in, runtime):
    form = call(slot=TUESDAY_3PM.isoformat(), **plan_rows("Send questions"))
    signed_in.post("/live/book", data=form)
    [followup] = followups(runtime)

    answer = signed_in.post("/live/book", data={
        **form, **plan_rows("Send questions", "Review the draft"), "followup_id": followup.id})

    assert answer.status_code == 200 and "Plan saved" in answer.text
    [amended] = followups(runtime)
    assert [s.what for s in amended.steps] == ["Send questions", "Review the draft"]


def test_no_next_step_needs_a_reason_from_the_list(signed_in, runtime):
    missing = signed_in.post("/live/no-next-step", data=call())
    other = signed_in.post("/live/no-next-step", data=call(reason="other"))
    picked = signed_in.post("/live/no-next-step", data=call(reason="call_back_later"))

    assert missing.status_code == 422 and 'data-field="reason"' in missing.text
    assert other.status_code == 422 and 'data-field="reason-other"' in other.text
    assert picked.status_code == 200
    with runtime.store.reading() as session:
        [entry] = session.scalars(select(LogEntry).where(LogEntry.kind == "call.no_next_step"))
        assert entry.data["reason"] == "Call back later"
