"""The availability section of /settings: the week grid, dates that differ, buffers and the
video link saved through the form, shown again, and used by the next proposal."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD
from tests.web.api_support import proposal


def form(**overrides):
    data = {"timezone": "America/New_York", "overrides": "2026-12-24 off\n2026-12-31 09:00-12:00",
            "buffer_before_minutes": "10", "buffer_after_minutes": "5",
            "min_notice_minutes": "60", "default_duration_minutes": "45",
            "prospect_daytime": "08:00-18:00", "video_link": "https://meet.example.com/riley"}
    for day in range(5):
        data[f"day-{day}"] = "13:00-17:00"
    data["day-5"], data["off-6"] = "", "1"
    data.update(overrides)
    return data


def test_the_page_shows_the_reps_hours_and_next_weeks_free_time(signed_in):
    page = signed_in.get("/settings").text

    assert 'id="availability"' in page
    assert re.search(r'id="day-0" name="day-0" value="09:00-17:00"', page)
    assert re.search(r'id="off-6" name="off-6" value="1" aria-label="Sunday off" checked', page)
    # The test clock is Monday 23 Nov; next week starts Monday 30 Nov, free all day.
    assert re.search(r'data-date="2026-11-30"><strong>Mon 30 Nov</strong>:\s*09:00–17:00', page)
    assert re.search(r'data-date="2026-12-05"><strong>Sat 5 Dec</strong>:\s*<span', page)


def test_the_form_saves_and_shows_the_new_availability(signed_in, api):
    saved = signed_in.post("/settings/availability", data=form())

    assert saved.status_code == 303
    assert api.get("/me/availability").get_json() == {
        "timezone": "America/New_York",
        "working_hours": {"timezone": "America/New_York",
                          "weekly": {str(day): [["13:00", "17:00"]] for day in range(5)},
                          "overrides": {"2026-12-24": [], "2026-12-31": [["09:00", "12:00"]]}},
        "buffer_before_minutes": 10, "buffer_after_minutes": 5, "min_notice_minutes": 60,
        "default_duration_minutes": 45, "prospect_daytime": [["08:00", "18:00"]],
        "video_link": "https://meet.example.com/riley"}
    page = signed_in.get("/settings").text
    assert 'value="13:00-17:00"' in page and "2026-12-24 off" in page
    assert 'value="https://meet.example.com/riley"' in page
    assert re.search(r"Mon 30 Nov</strong>:\s*13:00–17:00", page)
    body = proposal()
    del body["duration_minutes"]
    first = api.post("/proposals", json=body).get_json()["proposals"][0]
    assert (first["start"], first["end"]) == ("2026-11-23T18:00:00Z", "2026-11-23T18:45:00Z")


def test_a_busy_hour_shows_as_taken_in_the_preview(signed_in, runtime, rep):
    from datetime import UTC, datetime

    from tests.web.api_support import make_busy

    make_busy(runtime, rep.email, datetime(2026, 11, 30, 15, 0, tzinfo=UTC))  # 10-11 NY

    page = signed_in.get("/settings").text

    assert re.search(r"Mon 30 Nov</strong>:\s*09:00–10:00, 11:00–17:00", page)


def test_a_bad_value_is_named_and_nothing_is_saved(signed_in, api):
    before = api.get("/me/availability").get_json()

    answer = signed_in.post("/settings/availability", data=form(**{"day-2": "9 to 5"}))

    assert answer.status_code == 422
    assert 'id="problem-working_hours-weekly-2"' in answer.text
    assert "write hours as 09:00-17:00" in answer.text
    assert 'value="9 to 5"' in answer.text  # what was typed is kept
    assert api.get("/me/availability").get_json() == before


def test_an_end_before_its_start_and_a_plain_http_link_are_named(signed_in, api):
    before = api.get("/me/availability").get_json()

    backwards = signed_in.post("/settings/availability", data=form(**{"day-1": "17:00-09:00"}))
    plain = signed_in.post("/settings/availability",
                           data=form(video_link="http://meet.example.com/riley"))
    holiday = signed_in.post("/settings/availability", data=form(overrides="24/12 off"))

    assert backwards.status_code == 422 and "working_hours.weekly.1" in backwards.text
    assert plain.status_code == 422 and 'id="problem-video_link"' in plain.text
    assert holiday.status_code == 422 and "working_hours.overrides.24/12" in holiday.text
    assert api.get("/me/availability").get_json() == before


def test_the_form_needs_its_csrf_token(app, client, rep, api):
    client.post("/login", data={"email": rep.email, "password": PASSWORD})
    before = api.get("/me/availability").get_json()

    answer = client.post("/settings/availability", data=form())

    assert answer.status_code == 400
    assert api.get("/me/availability").get_json() == before
