"""GET and PUT /api/v1/me/availability: each rep's own hours and preferences, and the
proposals that follow them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from scheduler.preferences import update_availability
from scheduler.requests import AvailabilityRequest
from tests.web.api_support import assert_error, make_busy, proposal
from web.api.openapi import AVAILABILITY_EXAMPLE

MONDAY_4PM = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 11:00 New York, 08:00 Los Angeles


def availability(**overrides):
    """The OpenAPI document's example, so the test also proves the example is accepted."""
    body = copy.deepcopy(AVAILABILITY_EXAMPLE)
    body.update(overrides)
    return body


def test_a_rep_who_set_nothing_sees_the_deployments_settings(api, rep):
    answer = api.get("/me/availability").get_json()

    assert answer == {
        "timezone": "America/New_York",
        "working_hours": {"timezone": "America/New_York",
                          "weekly": {str(day): [["09:00", "17:00"]] for day in range(5)},
                          "overrides": {}},
        "buffer_before_minutes": 0, "buffer_after_minutes": 0, "min_notice_minutes": 30,
        "default_duration_minutes": 30, "prospect_daytime": [["08:00", "18:00"]],
        "video_link": None}


def test_put_replaces_the_availability_and_get_shows_it(api, rep):
    response = api.put("/me/availability", json=availability())

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == availability()
    assert api.get("/me/availability").get_json() == availability()


@pytest.mark.parametrize(("change", "field"), [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"working_hours": {"timezone": "America/New_York", "weekly": {"7": []}}},
     "working_hours.weekly.7"),
    ({"working_hours": {"timezone": "America/New_York",
                        "weekly": {"0": [["17:00", "09:00"]]}}}, "working_hours.weekly.0"),
    ({"working_hours": {"timezone": "America/New_York", "weekly": {},
                        "overrides": {"24/12/2026": []}}},
     "working_hours.overrides.24/12/2026"),
    ({"working_hours": {"timezone": "Nowhere", "weekly": {}}}, "working_hours.timezone"),
    ({"buffer_before_minutes": -5}, "buffer_before_minutes"),
    ({"buffer_after_minutes": True}, "buffer_after_minutes"),
    ({"min_notice_minutes": "soon"}, "min_notice_minutes"),
    ({"default_duration_minutes": 1}, "default_duration_minutes"),
    ({"prospect_daytime": [["8", "18:00"]]}, "prospect_daytime"),
    ({"video_link": "http://meet.example.com/riley"}, "video_link"),
    ({"video_link": "javascript:alert(1)"}, "video_link"),
    ({"colour": "blue"}, "colour"),
])
def test_a_bad_value_is_a_422_naming_it_and_nothing_is_saved(api, rep, change, field):
    before = api.get("/me/availability").get_json()

    response = api.put("/me/availability", json=availability(**change))

    assert_error(response, 422, "invalid", field)
    assert api.get("/me/availability").get_json() == before


def test_a_missing_value_is_named(api, rep):
    body = availability()
    del body["min_notice_minutes"]

    assert_error(api.put("/me/availability", json=body), 422, "invalid", "min_notice_minutes")


def test_the_availability_needs_a_token(client, rep):
    assert client.get("/api/v1/me/availability").status_code == 401
    assert client.put("/api/v1/me/availability", json=availability()).status_code == 401


def test_the_proposal_follows_the_reps_new_hours(api, rep):
    assert api.post("/proposals", json=proposal()).get_json()["proposals"][0]["start"] \
        == "2026-11-23T16:00:00Z"
    afternoons = {str(day): [["13:00", "17:00"]] for day in range(5)}

    api.put("/me/availability", json=availability(
        working_hours={"timezone": "America/New_York", "weekly": afternoons}))

    starts = [slot["start"] for slot in api.post("/proposals", json=proposal()).get_json()
              ["proposals"]]
    assert starts[0] == "2026-11-23T18:00:00Z"  # 13:00 in New York
    assert all("18:00:00Z" <= start[11:] < "22:00:00Z" for start in starts)


def test_a_day_off_as_an_override_is_not_proposed(api, rep):
    api.put("/me/availability", json=availability(working_hours={
        "timezone": "America/New_York",
        "weekly": {str(day): [["09:00", "17:00"]] for day in range(5)},
        "overrides": {"2026-11-23": [], "2026-11-24": []}}))

    days = [slot["start"][:10] for slot in api.post("/proposals", json=proposal()).get_json()
            ["proposals"]]
    assert days == ["2026-11-25", "2026-11-26", "2026-11-27"]


def test_the_reps_own_buffer_keeps_slots_away_from_busy_time(api, rep, runtime):
    make_busy(runtime, rep.email, MONDAY_4PM, minutes=60)  # 11:00-12:00 New York
    api.put("/me/availability", json=availability(
        working_hours={"timezone": "America/New_York",
                       "weekly": {str(day): [["09:00", "17:00"]] for day in range(5)}},
        buffer_before_minutes=15, buffer_after_minutes=0, min_notice_minutes=30))

    first = api.post("/proposals", json=proposal()).get_json()["proposals"][0]

    assert first["start"] == "2026-11-23T17:15:00Z"


def test_the_reps_default_length_applies_when_the_request_gives_none(api, rep):
    api.put("/me/availability", json=availability(default_duration_minutes=45))

    body = proposal()
    del body["duration_minutes"]
    first = api.post("/proposals", json=body).get_json()["proposals"][0]

    assert (first["start"], first["end"]) == ("2026-11-23T16:00:00Z", "2026-11-23T16:45:00Z")


def test_the_reps_prospect_daytime_narrows_the_slots(api, rep):
    api.put("/me/availability", json=availability(
        working_hours={"timezone": "America/New_York",
                       "weekly": {str(day): [["09:00", "17:00"]] for day in range(5)}},
        buffer_before_minutes=0, buffer_after_minutes=0, min_notice_minutes=30,
        prospect_daytime=[["10:00", "12:00"]]))

    first = api.post("/proposals", json=proposal()).get_json()["proposals"][0]

    assert first["prospect_local"] == "Mon 23 Nov 10:00"


def test_a_helpers_own_hours_restrict_the_slots(api, rep, helpers, runtime):
    # Lee (Chicago) works Wednesdays only, 14:00-16:00 his time.
    update_availability(AvailabilityRequest.model_validate(availability(
        timezone="America/Chicago",
        working_hours={"timezone": "America/Chicago", "weekly": {"2": [["14:00", "16:00"]]}},
        buffer_before_minutes=0, buffer_after_minutes=0, min_notice_minutes=0,
        video_link=None)), rep_id=helpers[0].id, store=runtime.store,
        settings=runtime.settings)

    answer = api.post("/proposals", json=proposal(helpers=["lee@example.com"],
                                                   count=3)).get_json()

    starts = [datetime.fromisoformat(slot["start"]) for slot in answer["proposals"]]
    assert starts[0] == datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # 14:00 in Chicago
    assert all(start.weekday() == 2 and 20 <= start.hour < 22 for start in starts), starts


def test_a_helpers_buffer_counts_in_the_meetings_they_help_in(api, rep, helpers, runtime):
    make_busy(runtime, "lee@example.com", MONDAY_4PM, minutes=60)  # Lee busy 16:00-17:00 UTC
    update_availability(AvailabilityRequest.model_validate(availability(
        timezone="America/Chicago",
        working_hours={"timezone": "America/Chicago",
                       "weekly": {str(day): [["08:00", "17:00"]] for day in range(5)}},
        buffer_before_minutes=30, buffer_after_minutes=0, min_notice_minutes=0,
        video_link=None)), rep_id=helpers[0].id, store=runtime.store,
        settings=runtime.settings)

    first = api.post("/proposals", json=proposal(helpers=["lee@example.com"])).get_json()[
        "proposals"][0]

    assert first["start"] == "2026-11-23T17:30:00Z"
