"""POST /api/v1/proposals: the slots to offer, in words for the prospect's ear."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.web.api_support import assert_error, book, iso, make_busy, proposal

MONDAY_4PM = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 11:00 New York, 08:00 Los Angeles


def test_three_slots_on_different_days_in_the_shape_of_api_md(api, rep):
    response = api.post("/proposals", json=proposal())

    assert response.status_code == 200
    answer = response.get_json()
    assert set(answer) == {"proposals", "spoken", "warnings", "reason"}
    assert answer["reason"] is None
    assert answer["warnings"] == []
    first = answer["proposals"][0]
    assert first == {"start": "2026-11-23T16:00:00Z", "end": "2026-11-23T16:30:00Z",
                     "prospect_local": "Mon 23 Nov 08:00", "rep_local": "Mon 23 Nov 11:00",
                     "spoken": "today at 08:00", "outside_hours": None}
    days = [slot["start"][:10] for slot in answer["proposals"]]
    assert days == ["2026-11-23", "2026-11-24", "2026-11-25"]
    # Soonest first, and an afternoon among the mornings so the prospect has a real choice.
    assert answer["spoken"] == ("Would today at 08:00, tomorrow at 12:00 or "
                                "Wednesday the 25th at 08:00 your time work for you?")


def test_count_and_duration_shape_the_answer(api, rep):
    answer = api.post("/proposals", json=proposal(count=5, duration_minutes=45)).get_json()

    assert len(answer["proposals"]) == 5
    first = answer["proposals"][0]
    assert (first["start"], first["end"]) == ("2026-11-23T16:00:00Z", "2026-11-23T16:45:00Z")


def test_the_reps_busy_time_is_not_offered(api, rep, runtime):
    make_busy(runtime, rep.email, MONDAY_4PM, minutes=60)

    answer = api.post("/proposals", json=proposal()).get_json()

    assert answer["proposals"][0]["start"] == "2026-11-23T17:00:00Z"


def test_helpers_narrow_the_slots_to_hours_everyone_shares(api, rep, helpers):
    # London works 09:00-17:00 UTC: only 16:00-17:00 UTC is shared with New York and LA.
    answer = api.post("/proposals", json=proposal(helpers=["sam@example.com"])).get_json()

    assert {slot["start"][11:] for slot in answer["proposals"]} == {"16:00:00Z"}


def test_a_booked_followup_is_not_proposed_again(api, rep):
    book(api, MONDAY_4PM)

    answer = api.post("/proposals", json=proposal()).get_json()

    assert answer["proposals"][0]["start"] == "2026-11-23T16:30:00Z"


def test_earliest_and_latest_bound_the_search(api, rep):
    body = proposal(earliest="2026-11-25T00:00:00Z", latest="2026-11-27T00:00:00Z", count=3)

    answer = api.post("/proposals", json=body).get_json()

    days = [slot["start"][:10] for slot in answer["proposals"]]
    assert (len(days), set(days)) == (3, {"2026-11-25", "2026-11-26"})


def test_a_latest_far_in_the_future_searches_a_bounded_window(api, rep):
    response = api.post("/proposals", json=proposal(latest="2999-12-31T00:00:00Z"))

    assert response.status_code == 200
    assert len(response.get_json()["proposals"]) == 3


def test_no_free_time_gives_an_empty_list_and_a_sentence_asking_for_one(api, rep):
    body = proposal(earliest=iso(MONDAY_4PM), latest="2026-11-23T16:20:00Z")

    answer = api.post("/proposals", json=body).get_json()

    assert answer["proposals"] == []
    assert answer["spoken"].endswith("could you suggest one?")


@pytest.mark.parametrize(("body", "field"), [
    (proposal(prospect={"name": "Dana", "email": "not-an-email",
                        "timezone": "America/Los_Angeles"}), "prospect.email"),
    (proposal(prospect={"name": "Dana", "email": "dana@acme.example.com",
                        "timezone": "Mars/Olympus"}), "prospect.timezone"),
    (proposal(prospect={"email": "dana@acme.example.com",
                        "timezone": "America/Los_Angeles"}), "prospect.name"),
    (proposal(helpers=["not an email"]), "helpers.0"),
    (proposal(duration_minutes=0), "duration_minutes"),
    (proposal(count=11), "count"),
    (proposal(step_type="lunch"), "step_type"),
    (proposal(earliest="2026-11-25T09:00:00"), "earliest"),
    (proposal(earliest="next tuesday"), "earliest"),
    (proposal(latest="9999-12-31T23:59:59Z"), "latest"),
    (proposal(earliest="0001-01-01T00:00:00+05:00"), "earliest"),
    (proposal(prospect={"name": "Dana", "email": "dana@acme.example.com",
                        "timezone": "America"}), "prospect.timezone"),
    (proposal(prospect={"name": "Dana\x00", "email": "dana@acme.example.com",
                        "timezone": "America/Los_Angeles"}), "prospect.name"),
    (proposal(prospect={"name": "Dana", "email": "dana\x00@acme.example.com",
                        "timezone": "America/Los_Angeles"}), "prospect.email"),
])
def test_bad_input_is_a_422_naming_the_field(api, rep, body, field):
    response = api.post("/proposals", json=body)

    assert_error(response, 422, "invalid", field)


def test_a_helper_who_is_not_a_user_is_named_by_position(api, rep, helpers):
    body = proposal(helpers=["lee@example.com", "stranger@example.com"])

    error = assert_error(api.post("/proposals", json=body), 422, "invalid", "helpers.1")

    assert "stranger@example.com" in error["message"]


def test_latest_before_earliest_is_refused(api, rep):
    body = proposal(earliest="2026-11-27T00:00:00Z", latest="2026-11-25T00:00:00Z")

    response = api.post("/proposals", json=body)

    assert response.status_code == 422
    assert "latest" in response.get_json()["error"]["message"]
