"""POST and GET /api/v1/followups: booking once, replaying safely, refusing clashes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.accounts import create_api_token
from tests.web.api_support import (
    PROSPECT,
    TUESDAY_3PM,
    assert_error,
    book,
    booking,
    iso,
    make_busy,
    plan,
)


def log_kinds(api) -> list[str]:
    return [entry["kind"] for entry in api.get("/log").get_json()["entries"]]


def test_booking_answers_201_with_the_whole_followup(api, rep, helpers):
    response = api.post("/followups", json=booking(helpers=["lee@example.com"],
                                                   title="Proposal review with Acme"))

    assert response.status_code == 201
    followup = response.get_json()
    assert followup["status"] == "booked"
    assert (followup["start"], followup["end"]) == ("2026-11-24T15:00:00Z",
                                                    "2026-11-24T15:30:00Z")
    assert followup["title"] == "Proposal review with Acme"
    assert (followup["step_type"], followup["sequence"]) == ("proposal_review", 0)
    assert followup["prospect"] == PROSPECT
    assert followup["helpers"] == [{"email": "lee@example.com", "name": "Lee Chen"}]
    assert followup["created_at"] == followup["updated_at"] == "2026-11-23T14:00:00Z"
    first, second = followup["plan"]["steps"]
    assert first == {"index": 0, "who": "prospect", "what": "send the security questionnaire",
                     "type": "send_questions", "due": "2026-11-27", "help_from": [],
                     "done": False, "done_at": None, "stalled": False}
    assert (second["index"], second["help_from"]) == (1, ["lee@example.com"])


def test_the_calendar_event_is_listed_once_the_outbox_has_run(api, rep):
    followup = book(api)

    again = api.get(f"/followups/{followup['id']}").get_json()

    assert again["events"] == [{"provider": "local", "calendar_id": "riley@example.com",
                                "event_id": again["events"][0]["event_id"]}]


def test_a_title_is_made_up_when_none_is_given(api, rep):
    followup = book(api)

    assert followup["title"] == "Proposal review: Dana Whitfield (Acme) and Riley Rivera"


def test_a_start_in_another_offset_is_answered_in_utc(api, rep):
    followup = book(api, start="2026-11-24T10:00:00-05:00")

    assert followup["start"] == "2026-11-24T15:00:00Z"


def test_the_same_idempotency_key_answers_200_with_the_same_followup(api, rep):
    first = api.post("/followups", json=booking(idempotency_key="call-42"))
    again = api.post("/followups", json=booking(idempotency_key="call-42"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert log_kinds(api) == ["followup.booked"]


def test_a_replay_wins_even_when_the_slot_is_now_taken(api, rep):
    first = book(api, idempotency_key="call-42")
    book(api, TUESDAY_3PM + timedelta(hours=1))

    again = api.post("/followups", json=booking(idempotency_key="call-42"))

    assert (again.status_code, again.get_json()["id"]) == (200, first["id"])


def test_a_busy_rep_makes_the_slot_taken(api, rep, runtime):
    make_busy(runtime, rep.email, TUESDAY_3PM - timedelta(minutes=15))

    response = api.post("/followups", json=booking())

    assert_error(response, 409, "slot_taken", "start")
    assert log_kinds(api) == []


def test_a_busy_helper_makes_the_slot_taken(api, rep, helpers, runtime):
    make_busy(runtime, "lee@example.com", TUESDAY_3PM)

    response = api.post("/followups", json=booking(helpers=["lee@example.com"]))

    error = assert_error(response, 409, "slot_taken", "start")
    assert "Lee Chen" in error["message"]


def test_a_second_booking_of_the_same_slot_is_refused(api, rep):
    book(api)

    response = api.post("/followups", json=booking(
        prospect=dict(PROSPECT, email="other@acme.example.com")))

    assert_error(response, 409, "slot_taken", "start")


@pytest.mark.parametrize(("body", "field"), [
    (booking(plan=plan(due="2026-11-01")), "plan.steps.0.due"),
    (booking(plan=plan(due="someday")), "plan.steps.0.due"),
    (booking(plan={"steps": []}), "plan.steps"),
    (booking(plan={"steps": [{"who": "rep", "what": "call", "due": "2026-11-27",
                              "type": "nap"}]}), "plan.steps.0.type"),
    (booking(prospect=dict(PROSPECT, email="dana@@acme")), "prospect.email"),
    (booking(helpers=["lee"]), "helpers.0"),
    (booking(helpers=["nobody@example.com"]), "helpers.0"),
    (booking(start="2026-11-20T15:00:00Z"), "start"),
    (booking(start="2026-11-24T15:00:00"), "start"),
    (booking(start=None), "start"),
    (booking(duration_minutes=600), "duration_minutes"),
    (booking(idempotency_key=""), "idempotency_key"),
])
def test_bad_bookings_are_a_422_naming_the_field(api, rep, body, field):
    response = api.post("/followups", json=body)

    error = assert_error(response, 422, response.get_json()["error"]["code"], field)
    assert error["code"] in {"invalid", "invalid_plan"}
    assert log_kinds(api) == []


def test_a_missing_start_is_required(api, rep):
    body = booking()
    del body["start"]

    error = assert_error(api.post("/followups", json=body), 422, "invalid", "start")

    assert error["message"] == "start: is required"


def test_get_answers_the_followup_as_booked(api, rep):
    followup = book(api)

    response = api.get(f"/followups/{followup['id']}")

    assert response.status_code == 200
    shown = response.get_json()
    assert {k: v for k, v in shown.items() if k != "events"} == {
        k: v for k, v in followup.items() if k != "events"}


def test_another_reps_followup_is_not_found(api, client, rep, make_rep, runtime):
    followup = book(api)
    make_rep("morgan@example.com", name="Morgan")
    other = create_api_token(runtime.store, "morgan@example.com", clock=runtime.clock)

    response = client.get(f"/api/v1/followups/{followup['id']}",
                          headers={"Authorization": f"Bearer {other}"})

    assert_error(response, 404, "not_found", "id")


def test_an_unknown_followup_is_not_found(api, rep):
    assert_error(api.get("/followups/does-not-exist"), 404, "not_found", "id")


def test_the_booking_is_logged_with_its_followup(api, rep):
    followup = book(api, TUESDAY_3PM)

    entry = api.get("/log").get_json()["entries"][0]

    assert (entry["kind"], entry["followup_id"]) == ("followup.booked", followup["id"])
    assert entry["data"]["start"] == iso(TUESDAY_3PM)


@pytest.mark.parametrize("email", ["riley@example.com", "lee@example.com"])
def test_the_prospect_cannot_be_the_rep_or_a_helper(api, rep, helpers, email):
    body = booking(prospect=dict(PROSPECT, email=email), helpers=["lee@example.com"])

    assert_error(api.post("/followups", json=body), 422, "invalid", "prospect.email")
