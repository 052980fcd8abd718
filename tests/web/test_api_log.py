"""GET /api/v1/log and /log.csv, the call that ends without a next step, and the prospect's
time zone guess."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from scheduler.accounts import create_api_token
from tests.web.api_support import PROSPECT, TUESDAY_3PM, assert_error, book


@pytest.fixture
def four_bookings(api, rep, runtime) -> list[str]:
    """Four follow-ups, booked an hour apart on the test clock."""
    ids = []
    for hour in range(4):
        ids.append(book(api, TUESDAY_3PM + timedelta(hours=hour))["id"])
        runtime.clock.advance(timedelta(hours=1))
    return ids


def pages(api, query: str, limit: int) -> list[dict]:
    """Every page, following `next` as a client would (the cursor carries `since`)."""
    answers = [api.get(f"/log?{query}&limit={limit}").get_json()]
    while answers[-1]["next"]:
        answers.append(api.get(f"/log?cursor={answers[-1]['next']}&limit={limit}").get_json())
    return answers


def test_entries_come_oldest_first_in_the_documented_shape(api, four_bookings):
    answer = api.get("/log").get_json()

    assert answer["next"] is None
    assert [e["followup_id"] for e in answer["entries"]] == four_bookings
    first = answer["entries"][0]
    assert set(first) == {"id", "at", "kind", "rep_id", "followup_id", "data"}
    assert (first["kind"], first["at"]) == ("followup.booked", "2026-11-23T14:00:00Z")


def test_a_cursor_walks_every_page_once(api, four_bookings):
    answers = pages(api, "", limit=3)

    assert [len(a["entries"]) for a in answers] == [3, 1]
    assert [e["followup_id"] for a in answers for e in a["entries"]] == four_bookings


def test_a_full_last_page_is_followed_by_an_empty_one(api, four_bookings):
    answers = pages(api, "", limit=2)

    assert [len(a["entries"]) for a in answers] == [2, 2, 0]


def test_since_keeps_later_entries_and_the_cursor_remembers_it(api, four_bookings):
    answers = pages(api, "since=2026-11-23T15:00:00Z", limit=2)

    assert [e["followup_id"] for a in answers for e in a["entries"]] == four_bookings[1:]


def test_since_in_another_offset_means_the_same_instant(api, four_bookings):
    answer = api.get("/log?since=2026-11-23T10:00:00-05:00").get_json()

    assert [e["followup_id"] for e in answer["entries"]] == four_bookings[1:]


def test_the_cursor_is_opaque_text(api, four_bookings):
    cursor = api.get("/log?limit=1").get_json()["next"]

    assert cursor.isascii() and "=" not in cursor and "&" not in cursor


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"),
    ("since=yesterday", "since"), ("since=2026-11-23T15:00:00", "since"),
    ("cursor=not-a-cursor", "cursor"), ("cursor=e30", "cursor"),
])
def test_bad_query_values_are_a_422_naming_them(api, rep, query, field):
    assert_error(api.get(f"/log?{query}"), 422, "invalid", field)


def test_a_rep_sees_only_their_own_entries(api, client, runtime, make_rep, four_bookings):
    make_rep("morgan@example.com", name="Morgan")
    other = create_api_token(runtime.store, "morgan@example.com", clock=runtime.clock)

    answer = client.get("/api/v1/log", headers={"Authorization": f"Bearer {other}"})

    assert answer.get_json() == {"entries": [], "next": None}


def test_the_csv_export_has_the_stable_columns_and_every_entry(api, four_bookings):
    response = api.get("/log.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "at", "kind", "rep_id", "followup_id", "data"]
    assert [row[4] for row in rows[1:]] == four_bookings
    assert json.loads(rows[1][5])["prospect"] == PROSPECT["email"]


def test_the_csv_export_honours_since(api, four_bookings):
    response = api.get("/log.csv?since=2026-11-23T16:00:00Z")

    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [row[4] for row in rows[1:]] == four_bookings[2:]


def test_ending_a_call_without_a_next_step_is_logged(api, rep):
    body = {"prospect": PROSPECT, "reason": "no budget this year"}

    response = api.post("/calls/no-next-step", json=body)

    assert response.status_code == 201
    assert response.get_json() == {"kind": "call.no_next_step", "prospect": PROSPECT,
                                   "reason": "no budget this year"}
    entry = api.get("/log").get_json()["entries"][0]
    assert (entry["kind"], entry["followup_id"]) == ("call.no_next_step", None)
    assert entry["data"] == {"prospect": PROSPECT["email"], "reason": "no budget this year"}


def test_ending_a_call_needs_a_valid_prospect(api, rep):
    response = api.post("/calls/no-next-step",
                        json={"prospect": dict(PROSPECT, timezone="Nowhere/Land")})

    assert_error(response, 422, "invalid", "prospect.timezone")


def test_the_prospects_zone_is_unknown_before_any_booking(api, rep):
    response = api.get("/prospects/timezone?email=dana@acme.example.com")

    assert response.get_json() == {"email": "dana@acme.example.com", "timezone": None}


def test_the_prospects_zone_is_guessed_from_the_last_booking(api, rep):
    book(api)

    response = api.get("/prospects/timezone?email=Dana@Acme.example.com")

    assert response.get_json() == {"email": "dana@acme.example.com",
                                   "timezone": "America/Los_Angeles"}


@pytest.mark.parametrize("query", ["", "?email=", "?email=dana"])
def test_the_zone_guess_needs_an_email(api, rep, query):
    assert_error(api.get(f"/prospects/timezone{query}"), 422, "invalid", "email")
