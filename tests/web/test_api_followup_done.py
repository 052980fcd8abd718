"""PATCH /api/v1/followups/{id} {"status": "done"}: the rep says the meeting took place,
which no calendar can say. Only after its end, logged once, and an end like a cancellation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.accounts import create_api_token
from tests.conftest import logged_kinds
from tests.web.api_support import TUESDAY_3PM, assert_error, book, iso

AFTER_THE_MEETING = TUESDAY_3PM + timedelta(minutes=45)  # booked 15:00-15:30


@pytest.fixture
def followup(api, rep) -> dict:
    return book(api)


def _done(api, followup):
    return api.patch(f"/followups/{followup['id']}", json={"status": "done"})


def test_after_its_end_the_rep_marks_the_meeting_done_and_it_is_logged(api, runtime, followup):
    runtime.clock.set(AFTER_THE_MEETING)

    response = _done(api, followup)

    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["sequence"]) == ("done", 0)
    assert api.get(f"/followups/{followup['id']}").get_json()["status"] == "done"
    assert logged_kinds(runtime)[-1] == "followup.done"


def test_before_its_end_done_is_refused_naming_status(api, runtime, followup):
    runtime.clock.set(TUESDAY_3PM + timedelta(minutes=10))  # under way, not over

    assert_error(_done(api, followup), 422, "invalid", "status")
    assert api.get(f"/followups/{followup['id']}").get_json()["status"] == "booked"
    assert "followup.done" not in logged_kinds(runtime)


def test_marking_done_twice_logs_once(api, runtime, followup):
    runtime.clock.set(AFTER_THE_MEETING)

    first, second = _done(api, followup), _done(api, followup)

    assert (first.status_code, second.status_code) == (200, 200)
    assert logged_kinds(runtime).count("followup.done") == 1


def test_a_done_meeting_cannot_be_moved_or_cancelled(api, runtime, followup):
    runtime.clock.set(AFTER_THE_MEETING)
    _done(api, followup)

    moved = api.patch(f"/followups/{followup['id']}",
                      json={"start": iso(TUESDAY_3PM + timedelta(days=2))})
    cancelled = api.patch(f"/followups/{followup['id']}", json={"status": "cancelled"})

    assert_error(moved, 409, "conflict", "status")
    assert_error(cancelled, 409, "conflict", "status")


def test_a_cancelled_meeting_cannot_be_done(api, runtime, followup):
    api.patch(f"/followups/{followup['id']}", json={"status": "cancelled"})
    runtime.clock.set(AFTER_THE_MEETING)

    assert_error(_done(api, followup), 409, "conflict", "status")


def test_another_reps_followup_is_not_found(client, runtime, make_rep, followup):
    make_rep("morgan@example.com", name="Morgan")
    other = create_api_token(runtime.store, "morgan@example.com", clock=runtime.clock)
    runtime.clock.set(AFTER_THE_MEETING)

    response = client.patch(f"/api/v1/followups/{followup['id']}", json={"status": "done"},
                            headers={"Authorization": f"Bearer {other}"})

    assert_error(response, 404, "not_found", "id")
