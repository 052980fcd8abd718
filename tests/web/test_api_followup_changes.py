"""PATCH /api/v1/followups/{id}: reschedule, cancel, or mark steps done, one at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.accounts import create_api_token
from tests.web.api_support import TUESDAY_3PM, assert_error, book, iso, make_busy

LATER = TUESDAY_3PM + timedelta(days=1, hours=1)  # Wednesday 16:00 UTC


@pytest.fixture
def followup(api, rep) -> dict:
    return book(api)


def test_a_new_start_reschedules_and_keeps_the_duration(api, followup):
    response = api.patch(f"/followups/{followup['id']}", json={"start": iso(LATER)})

    assert response.status_code == 200
    moved = response.get_json()
    assert (moved["status"], moved["sequence"]) == ("rescheduled", 1)
    assert (moved["start"], moved["end"]) == ("2026-11-25T16:00:00Z", "2026-11-25T16:30:00Z")
    assert api.get(f"/followups/{followup['id']}").get_json()["start"] == moved["start"]


def test_rescheduling_onto_busy_time_is_slot_taken_and_changes_nothing(api, runtime, rep,
                                                                        followup):
    make_busy(runtime, rep.email, LATER)

    response = api.patch(f"/followups/{followup['id']}", json={"start": iso(LATER)})

    assert_error(response, 409, "slot_taken", "start")
    assert api.get(f"/followups/{followup['id']}").get_json()["status"] == "booked"


def test_rescheduling_onto_another_followup_is_slot_taken(api, followup):
    book(api, LATER)

    response = api.patch(f"/followups/{followup['id']}", json={"start": iso(LATER)})

    assert_error(response, 409, "slot_taken", "start")


def test_moving_by_a_quarter_hour_may_overlap_the_old_time(api, followup):
    response = api.patch(f"/followups/{followup['id']}",
                         json={"start": iso(TUESDAY_3PM + timedelta(minutes=15))})

    assert response.status_code == 200


def test_rescheduling_into_the_past_names_start(api, followup):
    response = api.patch(f"/followups/{followup['id']}", json={"start": "2026-11-01T15:00:00Z"})

    assert_error(response, 422, "invalid", "start")


def test_cancelling_frees_the_slot_and_logs_it(api, followup):
    response = api.patch(f"/followups/{followup['id']}", json={"status": "cancelled"})

    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert book(api, TUESDAY_3PM, prospect={"name": "Ola", "email": "ola@example.org",
                                            "timezone": "Europe/Oslo"})
    kinds = [e["kind"] for e in api.get("/log").get_json()["entries"]]
    assert kinds == ["followup.booked", "followup.cancelled", "followup.booked"]


def test_cancelling_twice_answers_the_cancelled_followup(api, followup):
    api.patch(f"/followups/{followup['id']}", json={"status": "cancelled"})

    again = api.patch(f"/followups/{followup['id']}", json={"status": "cancelled"})

    assert (again.status_code, again.get_json()["status"]) == (200, "cancelled")


def test_a_cancelled_followup_cannot_be_rescheduled(api, followup):
    api.patch(f"/followups/{followup['id']}", json={"status": "cancelled"})

    response = api.patch(f"/followups/{followup['id']}", json={"start": iso(LATER)})

    assert_error(response, 409, "conflict", "status")


def test_marking_a_step_done_records_when(api, followup):
    response = api.patch(f"/followups/{followup['id']}",
                         json={"steps": [{"index": 1, "done": True}]})

    assert response.status_code == 200
    steps = response.get_json()["plan"]["steps"]
    assert [(s["done"], s["done_at"]) for s in steps] == [
        (False, None), (True, "2026-11-23T14:00:00Z")]
    kinds = [e["kind"] for e in api.get("/log").get_json()["entries"]]
    assert kinds == ["followup.booked", "step.done"]


def test_a_step_can_be_marked_not_done_again(api, followup):
    api.patch(f"/followups/{followup['id']}", json={"steps": [{"index": 0}]})

    response = api.patch(f"/followups/{followup['id']}",
                         json={"steps": [{"index": 0, "done": False}]})

    assert response.get_json()["plan"]["steps"][0]["done"] is False


def test_a_step_the_plan_does_not_have_is_named(api, followup):
    response = api.patch(f"/followups/{followup['id']}",
                         json={"steps": [{"index": 0}, {"index": 7}]})

    assert_error(response, 422, "invalid", "steps.1.index")


@pytest.mark.parametrize(("body", "field"), [
    ({}, None),
    ({"start": "2026-11-25T16:00:00Z", "status": "cancelled"}, None),
    ({"status": "done"}, "status"),
    ({"steps": []}, "steps"),
    ({"steps": [{"index": -1}]}, "steps.0.index"),
    ({"steps": [{"index": 0, "done": "maybe"}]}, "steps.0.done"),
    ({"start": "tomorrow"}, "start"),
    ({"title": "New title"}, "title"),
])
def test_a_patch_must_be_exactly_one_valid_change(api, followup, body, field):
    response = api.patch(f"/followups/{followup['id']}", json=body)

    assert_error(response, 422, "invalid", field)


@pytest.mark.parametrize("body", [{"start": "2026-11-25T16:00:00Z"}, {"status": "cancelled"},
                                  {"steps": [{"index": 0}]}])
def test_another_reps_followup_cannot_be_changed(client, runtime, make_rep, followup, body):
    make_rep("morgan@example.com", name="Morgan")
    other = create_api_token(runtime.store, "morgan@example.com", clock=runtime.clock)

    response = client.patch(f"/api/v1/followups/{followup['id']}", json=body,
                            headers={"Authorization": f"Bearer {other}"})

    assert_error(response, 404, "not_found", "id")
