"""The log page: newest first, filters from the query string, CSV export of the same, and
the three lists above the entries (upcoming, steps due, calls without a next step)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from scheduler import log
from scheduler.booking import (
    book_followup,
    cancel_followup,
    end_call_without_next_step,
    mark_steps_done,
)
from scheduler.requests import BookingRequest, NoNextStep
from scheduler.sync import flag_stalled_steps
from tests.web.api_support import TUESDAY_3PM, booking

DANA = {"name": "Dana Whitfield", "email": "dana@acme.example.com",
        "timezone": "America/Los_Angeles", "company": "Acme"}
BEN = {"name": "Ben Okoro", "email": "ben@globex.example.com", "timezone": "Europe/Berlin"}
# The default plan (tests/web/api_support.py) as the invite words it, a button per step.
DANA_PLAN = ("Dana Whitfield (Acme) will send the security questionnaire by Fri 27 Nov "
             "Mark done Riley Rivera will send the proposal by Fri 27 Nov, with help from "
             "lee@example.com Mark done")
BEN_PLAN = DANA_PLAN.replace("Dana Whitfield (Acme)", "Ben Okoro")
OLIVIA = {"name": "Olivia Other", "email": "olivia@initech.example.com",
          "timezone": "Asia/Tokyo"}


class _Sections(HTMLParser):
    """Each <section>'s table rows (cell texts) or, with no table, its empty-state text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[tuple[str, ...]] | str] = {}
        self._section: str | None = None
        self._row: list[str] | None = None
        self._text: list[str] | None = None
        self._empty: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs["aria-labelledby"].removesuffix("-heading")
            self.sections[self._section] = []
        elif self._section and tag == "tr" and self._row is None:
            self._row = []
        elif self._row is not None and tag == "td":
            self._text = []
        elif self._section and tag == "p" and "muted" in (attrs.get("class") or ""):
            self._empty = []

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None
        elif tag == "td" and self._text is not None:
            self._row.append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.sections[self._section].append(tuple(self._row))
            self._row = None
        elif tag == "p" and self._empty is not None:
            self.sections[self._section] = " ".join("".join(self._empty).split())
            self._empty = None

    def handle_data(self, data):
        for buffer in (self._text, self._empty):
            if buffer is not None:
                buffer.append(data)


def sections(response) -> dict[str, list[tuple[str, ...]] | str]:
    parser = _Sections()
    parser.feed(response.text)
    return parser.sections


def book(runtime, rep, at: datetime = TUESDAY_3PM, **overrides):
    request = BookingRequest.model_validate(booking(at, **overrides))
    return book_followup(request, rep=rep, **runtime.deps()).followup


def steps(*rows: tuple[str, str, str]) -> dict:
    return {"steps": [{"who": who, "what": what, "due": due} for who, what, due in rows]}


def cancel(runtime, rep, followup) -> None:
    deps = {k: v for k, v in runtime.deps().items() if k != "settings"}
    cancel_followup(followup.id, actor="rep", rep_id=rep.id, **deps)


def end_call(runtime, rep, prospect: dict, reason: str) -> None:
    end_call_without_next_step(NoNextStep(prospect=prospect, reason=reason), rep=rep,
                               store=runtime.store, clock=runtime.clock)


@pytest.fixture
def entries(runtime, rep):
    with runtime.store.transaction() as session:
        log.append(session, "offer.sent", at=datetime(2026, 11, 20, 9, tzinfo=UTC),
                   rep_id=rep.id, prospect="Ada <b>Byron</b>")
        log.append(session, "call.no_next_step",
                   at=datetime(2026, 11, 23, 10, tzinfo=UTC), rep_id=rep.id,
                   prospect="Grace Hopper")


@pytest.fixture
def other_rep(make_rep):
    return make_rep("morgan@example.com", name="Morgan Vale", timezone="Europe/Paris")


# Entries and filters

def test_entries_are_listed_newest_first(signed_in, entries):
    page = signed_in.get("/log")
    assert page.status_code == 200
    assert [row[1] for row in sections(page)["entries"]] == ["call.no_next_step",
                                                             "offer.sent"]


def test_prospect_text_is_escaped(signed_in, entries):
    assert "Ada &lt;b&gt;Byron&lt;/b&gt;" in signed_in.get("/log").text


def test_kind_and_date_filters_narrow_the_entries(signed_in, entries):
    by_kind = sections(signed_in.get("/log?kind=offer.sent"))["entries"]
    assert [row[1] for row in by_kind] == ["offer.sent"]
    by_date = sections(signed_in.get("/log?from=2026-11-21&to=2026-11-23"))["entries"]
    assert [row[3] for row in by_date] == ["prospect: Grace Hopper"]


def test_bad_date_is_named_on_the_page_with_422(signed_in, entries):
    page = signed_in.get("/log?from=yesterday")
    assert page.status_code == 422
    assert "Invalid filter: from" in page.text


@pytest.mark.parametrize("value", ["x" * 201, "dana\x00", "da\nna"])
def test_bad_prospect_filter_is_named_on_the_page_with_422(signed_in, entries, value):
    page = signed_in.get("/log", query_string={"prospect": value})
    assert page.status_code == 422
    assert "Invalid filter: prospect." in page.text
    assert 'id="prospect" name="prospect"' in page.text
    assert page.text.count('aria-invalid="true"') == 1
    export = signed_in.get("/log/export.csv", query_string={"prospect": value})
    assert (export.status_code, export.text) == (422, "invalid filter: prospect\n")


def test_prospect_filter_matches_part_of_the_email_or_name_in_any_case(signed_in, runtime,
                                                                       rep):
    dana = book(runtime, rep, prospect=DANA)
    book(runtime, rep, TUESDAY_3PM + timedelta(days=1), prospect=BEN)
    mark_steps_done(dana.id, [(1, True)], rep_id=rep.id, store=runtime.store,
                    clock=runtime.clock)
    end_call(runtime, rep, OLIVIA, "went with a competitor")

    by_email = sections(signed_in.get("/log?prospect=ACME.example"))
    assert [row[2] for row in by_email["upcoming"]] == ["Dana Whitfield dana@acme.example.com"]
    # Entries about Dana: her booking, and the step done (which names only the follow-up).
    assert [row[1] for row in by_email["entries"]] == ["step.done", "followup.booked"]
    assert by_email["no-next-step"] == "No calls ended without a next step."

    by_name = sections(signed_in.get("/log?prospect=olivia oth"))
    assert by_name["upcoming"] == "No follow-ups booked from now on."
    assert [row[1] for row in by_name["no-next-step"]] == [
        "Olivia Other olivia@initech.example.com"]
    assert [row[1] for row in by_name["entries"]] == ["call.no_next_step"]

    wildcard = sections(signed_in.get("/log?prospect=%25"))
    assert wildcard["upcoming"] == "No follow-ups booked from now on."
    assert wildcard["entries"] == "No entries match."


def test_csv_export_streams_the_filtered_entries(signed_in, entries):
    response = signed_in.get("/log/export.csv?kind=call.no_next_step")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = response.text.strip().splitlines()
    assert lines[0] == ("id,at,kind,rep_id,followup_id,data,"
                        "prospect_name,prospect_email,meeting_start_utc,meeting_start_local,steps")
    assert len(lines) == 2 and "call.no_next_step" in lines[1]


def test_csv_export_honours_the_prospect_filter(signed_in, entries):
    lines = signed_in.get("/log/export.csv?prospect=byron").text.strip().splitlines()
    assert len(lines) == 2 and "offer.sent" in lines[1]


def test_log_page_needs_sign_in(client):
    assert client.get("/log").status_code in (302, 401)


# The lists above the entries

def test_a_new_rep_sees_an_empty_state_sentence_in_each_list(signed_in):
    page = sections(signed_in.get("/log"))
    assert page == {"upcoming": "No follow-ups booked from now on.",
                    "due": "No open steps are due today or overdue.",
                    "no-next-step": "No calls ended without a next step.",
                    "entries": "No entries match."}


def test_upcoming_follow_ups_are_soonest_first_in_both_zones(signed_in, runtime, rep, clock):
    book(runtime, rep, datetime(2026, 11, 23, 16, tzinfo=UTC), prospect=BEN)  # soon past
    book(runtime, rep, TUESDAY_3PM + timedelta(days=1), prospect=BEN, title="Wednesday")
    book(runtime, rep, TUESDAY_3PM, prospect=DANA, title="Tuesday")
    cancelled = book(runtime, rep, TUESDAY_3PM + timedelta(days=2), prospect=DANA)
    cancel(runtime, rep, cancelled)
    clock.advance(timedelta(hours=3))  # 17:00 UTC: the 16:00 meeting has started

    assert sections(signed_in.get("/log"))["upcoming"] == [
        ("Tue 24 Nov 07:00 America/Los_Angeles", "Tue 24 Nov 10:00 America/New_York",
         "Dana Whitfield dana@acme.example.com", "Tuesday", DANA_PLAN),
        ("Wed 25 Nov 16:00 Europe/Berlin", "Wed 25 Nov 10:00 America/New_York",
         "Ben Okoro ben@globex.example.com", "Wednesday", BEN_PLAN),
    ]


def test_steps_due_are_oldest_first_naming_who_owes_them(signed_in, runtime, rep, helpers,
                                                         clock):
    first = book(runtime, rep, prospect=DANA, plan=steps(
        ("rep", "send the proposal", "2026-11-24"),
        ("prospect", "send the questionnaire", "2026-11-23"),
        ("rep", "book the demo room", "2026-11-30")))
    book(runtime, rep, TUESDAY_3PM + timedelta(days=1), prospect=BEN, plan=steps(
        ("lee@example.com", "check the SSO set-up", "2026-11-24"),
        ("stranger@elsewhere.example.com", "sign the NDA", "2026-11-25")))
    cancelled = book(runtime, rep, TUESDAY_3PM + timedelta(days=2), prospect=DANA,
                     plan=steps(("rep", "cancelled step", "2026-11-23")))
    cancel(runtime, rep, cancelled)
    clock.set(datetime(2026, 11, 25, 14, tzinfo=UTC))  # Wednesday 09:00 for the rep

    page = signed_in.get("/log")
    assert sections(page)["due"] == [
        ("Mon 23 Nov", "Dana Whitfield",
         "Dana Whitfield (Acme) will send the questionnaire by Mon 23 Nov", "Dana Whitfield",
         "Mark done"),
        ("Tue 24 Nov", "Riley Rivera", "Riley Rivera will send the proposal by Tue 24 Nov",
         "Dana Whitfield", "Mark done"),
        ("Tue 24 Nov", "Lee Chen", "lee@example.com will check the SSO set-up by Tue 24 Nov",
         "Ben Okoro", "Mark done"),
        ("Wed 25 Nov", "stranger@elsewhere.example.com",
         "stranger@elsewhere.example.com will sign the NDA by Wed 25 Nov", "Ben Okoro",
         "Mark done"),
    ]

    mark_steps_done(first.id, [(1, True)], rep_id=rep.id, store=runtime.store, clock=clock)
    assert [row[2].split(" will ")[1] for row in sections(signed_in.get("/log"))["due"]] == [
        "send the proposal by Tue 24 Nov", "check the SSO set-up by Tue 24 Nov",
        "sign the NDA by Wed 25 Nov"]


def test_stalled_steps_carry_a_badge(signed_in, runtime, rep, clock):
    book(runtime, rep, prospect=DANA, plan=steps(("rep", "send the proposal", "2026-11-23"),
                                                 ("rep", "call back", "2026-11-24")))
    clock.set(datetime(2026, 11, 24, 14, tzinfo=UTC))
    assert flag_stalled_steps(store=runtime.store, clock=clock) == 1
    assert [row[0] for row in sections(signed_in.get("/log"))["due"]] == [
        "Mon 23 Nov stalled", "Tue 24 Nov"]


def test_a_step_due_at_a_time_shows_it_in_the_reps_zone(signed_in, runtime, rep, clock):
    book(runtime, rep, prospect=DANA,
         plan=steps(("prospect", "sign", "2026-11-24T17:00:00+01:00")))
    clock.set(datetime(2026, 11, 24, 14, tzinfo=UTC))
    assert sections(signed_in.get("/log"))["due"] == [
        ("Tue 24 Nov 11:00", "Dana Whitfield",
         "Dana Whitfield (Acme) will sign by Tue 24 Nov 17:00 UTC+01:00", "Dana Whitfield",
         "Mark done")]


def test_today_is_the_reps_own_day(signed_in, runtime, rep, clock):
    book(runtime, rep, prospect=DANA, plan=steps(("rep", "send the proposal", "2026-11-24")))
    clock.set(datetime(2026, 11, 24, 3, tzinfo=UTC))  # Tuesday in UTC, Monday 22:00 in New York
    assert sections(signed_in.get("/log"))["due"] == "No open steps are due today or overdue."
    clock.set(datetime(2026, 11, 24, 5, tzinfo=UTC))  # Tuesday 00:00 in New York
    assert len(sections(signed_in.get("/log"))["due"]) == 1


def test_calls_without_a_next_step_are_newest_first(signed_in, runtime, rep, clock):
    end_call(runtime, rep, DANA, "no budget this year")
    clock.advance(timedelta(hours=2))
    end_call(runtime, rep, OLIVIA, "went with a competitor")
    assert sections(signed_in.get("/log"))["no-next-step"] == [
        ("Mon 23 Nov 11:00", "Olivia Other olivia@initech.example.com",
         "went with a competitor"),
        ("Mon 23 Nov 09:00", "Dana Whitfield dana@acme.example.com", "no budget this year"),
    ]


def test_a_rep_never_sees_another_reps_follow_ups(signed_in, runtime, rep, other_rep, clock):
    book(runtime, other_rep, prospect=OLIVIA,
         plan=steps(("rep", "send Olivia the proposal", "2026-11-23")))
    end_call(runtime, other_rep, OLIVIA, "went with a competitor")
    book(runtime, rep, prospect=DANA, plan=steps(("rep", "send the proposal", "2026-11-23")))

    for query in ("", "?prospect=olivia", "?rep=morgan@example.com"):
        page = signed_in.get("/log" + query)
        assert page.status_code == 200
        assert "Olivia" not in page.text and "Morgan" not in page.text
    mine = sections(signed_in.get("/log"))
    assert [row[2] for row in mine["upcoming"]] == ["Dana Whitfield dana@acme.example.com"]
    assert [row[2] for row in mine["due"]] == ["Riley Rivera will send the proposal by Mon 23 Nov"]
    assert mine["no-next-step"] == "No calls ended without a next step."
    assert [row[1] for row in mine["entries"]] == ["followup.booked"]


# Readable: names, the rep's zone, steps as the invite's sentences, "mark done"

def test_entries_name_the_prospect_and_use_the_reps_named_zone(signed_in, runtime, rep):
    book(runtime, rep, prospect=DANA)
    page = signed_in.get("/log")
    assert 'data-zone="America/New_York"' in page.text
    [booked] = sections(page)["entries"]
    assert booked[0] == "Mon 23 Nov 09:00"  # the clock's 14:00 UTC, in New York
    assert booked[2] == "Dana Whitfield dana@acme.example.com, Tue 24 Nov 10:00"


def test_mark_done_button_posts_with_csrf_and_marks_the_step(app, signed_in, runtime, rep):
    followup = book(runtime, rep, prospect=DANA)
    page = signed_in.get("/log").text
    action = f"/log/followups/{followup.id}/steps/1/done"
    assert f'action="{action}"' in page
    app.config["WTF_CSRF_ENABLED"] = True
    assert signed_in.post(action).status_code == 400  # no token: refused
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = signed_in.post(action, data={"csrf_token": token})
    assert (response.status_code, response.headers["Location"]) == (303, "/log")
    app.config["WTF_CSRF_ENABLED"] = False
    after = signed_in.get("/log").text
    assert "Riley Rivera will send the proposal by Fri 27 Nov, with help from lee@example.com " \
           "(done)" in after
    assert f'action="{action}"' not in after
    assert [row[1] for row in sections(signed_in.get("/log"))["entries"]] == [
        "step.done", "followup.booked"]


def test_mark_done_on_another_reps_follow_up_is_404(signed_in, runtime, other_rep):
    theirs = book(runtime, other_rep, prospect=OLIVIA)
    assert signed_in.post(f"/log/followups/{theirs.id}/steps/0/done").status_code == 404


def test_csv_keeps_its_columns_and_adds_readable_ones_at_the_end(signed_in, runtime, rep):
    followup = book(runtime, rep, prospect=DANA)
    end_call(runtime, rep, OLIVIA, "went with a competitor")
    rows = list(csv.DictReader(io.StringIO(signed_in.get("/log/export.csv").text)))
    assert list(rows[0])[:6] == list(log.EXPORT_COLUMNS)
    assert list(rows[0])[6:] == list(log.READABLE_COLUMNS)
    no_step, booked = rows
    assert (no_step["kind"], no_step["prospect_email"], no_step["meeting_start_utc"]) == (
        "call.no_next_step", "olivia@initech.example.com", "")
    assert booked["followup_id"] == followup.id
    assert {key: booked[key] for key in log.READABLE_COLUMNS} == {
        "prospect_name": "Dana Whitfield", "prospect_email": "dana@acme.example.com",
        "meeting_start_utc": "2026-11-24T15:00:00Z",
        "meeting_start_local": "2026-11-24 10:00 America/New_York",
        "steps": "1. Dana Whitfield (Acme) will send the security questionnaire by Fri 27 Nov\n"
                 "2. Riley Rivera will send the proposal by Fri 27 Nov, with help from "
                 "lee@example.com"}
