"""A video link on every meeting: a Google booking asks for a Meet, an Outlook booking for a
Teams meeting, through their real client libraries (google-api-python-client, msal and
requests) against the emulators; the built-in calendar uses the rep's own link. The link
lands in the event, the .ics LOCATION and DESCRIPTION, and the follow-up."""

from __future__ import annotations

from dataclasses import replace
from email import message_from_bytes, policy

import pytest
import requests
from icalendar import Calendar

from scheduler.booking import book_followup, get_followup_or_raise
from scheduler.events import followup_event
from scheduler.invites import build_ics
from scheduler.preferences import update_availability
from scheduler.providers.base import Attendee, CalendarEvent
from scheduler.requests import AvailabilityRequest, BookingRequest
from scheduler.runtime import default_builders
from tests.conftest import build_runtime, make_settings
from tests.contract.harness_google import REP, running_emulator
from tests.contract.harness_outlook import connect as connect_outlook
from tests.contract.harness_outlook import emulated_outlook
from tests.emulators.graph import demo_state
from tests.web.api_support import TUESDAY_3PM, booking

RILEYS_LINK = "https://meet.example.com/riley"


def give_video_link(runtime, user, link: str | None = RILEYS_LINK) -> None:
    update_availability(AvailabilityRequest.model_validate({
        "timezone": user.timezone, "working_hours": user.working_hours,
        "buffer_before_minutes": 0, "buffer_after_minutes": 0, "min_notice_minutes": 30,
        "default_duration_minutes": 30, "prospect_daytime": [["08:00", "18:00"]],
        "video_link": link}), rep_id=user.id, store=runtime.store, settings=runtime.settings)


def book_and_write(runtime, user):
    """Book through the service, let the worker write the event, read the follow-up back."""
    rep = get_user(runtime, user.id)
    booked = book_followup(BookingRequest.model_validate(booking(TUESDAY_3PM)), rep=rep,
                           store=runtime.store, calendars=runtime.calendars,
                           clock=runtime.clock, settings=runtime.settings, jobs=runtime.jobs)
    runtime.tick()
    return get_followup_or_raise(runtime.store, booked.followup.id)


def get_user(runtime, user_id):
    from scheduler.store.models import User

    with runtime.store.reading() as session:
        return session.get(User, user_id)


def ics_event(followup):
    ics = build_ics(followup_event(followup, calendar_id=followup.rep.email), method="REQUEST")
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    return event


def connect_to(runtime, user, provider: str, credentials: dict) -> None:
    from scheduler.connections import connect_account

    connect_account(user_id=user.id, provider=provider, credentials=credentials,
                    store=runtime.store, calendars=runtime.calendars, clock=runtime.clock)


# --- Google Meet ---------------------------------------------------------------------------


@pytest.fixture
def google():
    with running_emulator() as emulated:
        yield emulated


@pytest.fixture
def google_runtime(tmp_path, clock, google):
    settings = make_settings(tmp_path, **google.pointing)
    built = build_runtime(settings, clock, builders=default_builders())
    yield built
    built.store.dispose()


def test_a_google_booking_carries_a_meet_link_in_the_event_and_the_ics(google_runtime, google,
                                                                        make_rep):
    runtime = google_runtime
    rep = make_rep("riley@example.com", name="Riley Rivera")
    give_video_link(runtime, rep)
    connect_to(runtime, rep, "google", {**google.state.identity.issue(), "email": REP})

    followup = book_and_write(runtime, rep)

    [stored] = google.state.live_events(REP)
    conference = stored.fields["conferenceData"]
    assert conference["createRequest"]["requestId"] == followup.event_uid
    assert conference["createRequest"]["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    [entry] = conference["entryPoints"]
    assert entry["entryPointType"] == "video"
    assert entry["uri"].startswith("https://meet.google.com/")
    assert followup.video_link == entry["uri"] == stored.fields["hangoutLink"]
    event = ics_event(followup)
    assert str(event["LOCATION"]) == entry["uri"]
    assert f"Join: {entry['uri']}" in str(event["DESCRIPTION"])


def test_a_meet_google_makes_later_reaches_the_followup_through_sync(google_runtime, google,
                                                                      make_rep):
    """Google may answer the conference request `pending`: the rep's own link must not be
    put in its place, and the Meet, once made, arrives as a change to the event."""
    from scheduler.sync import sync_all

    runtime = google_runtime
    rep = make_rep("riley@example.com", name="Riley Rivera")
    give_video_link(runtime, rep)
    connect_to(runtime, rep, "google", {**google.state.identity.issue(), "email": REP})
    google.state.meets_pending = True

    followup = book_and_write(runtime, rep)

    [stored] = google.state.live_events(REP)
    assert stored.fields["conferenceData"]["createRequest"]["status"] == {
        "statusCode": "pending"}
    assert followup.video_link is None
    assert RILEYS_LINK not in str(stored.fields), "no second link while the Meet is made"

    assert google.state.finish_meets(REP) == 1
    sync_all(store=runtime.store, calendars=runtime.calendars, clock=runtime.clock)

    [stored] = google.state.live_events(REP)
    meet = stored.fields["hangoutLink"]
    assert meet.startswith("https://meet.google.com/")
    assert get_followup_or_raise(runtime.store, followup.id).video_link == meet
    results = sync_all(store=runtime.store, calendars=runtime.calendars, clock=runtime.clock)
    assert [result.applied for result in results if result.changes] == []


def test_asking_again_with_the_same_request_id_makes_no_second_meeting(google):
    adapter = google.provider()
    event = CalendarEvent(uid="0123456789abcdef0123456789abcdef", calendar_id=REP,
                          start=TUESDAY_3PM, end=TUESDAY_3PM.replace(hour=16), title="Review",
                          description="", organizer=Attendee(REP, "Riley"),
                          conference=True)

    first = adapter.create_event(event)
    again = adapter.create_event(event)  # a retried insert: 409, then the event is read
    moved = adapter.update_event(first, replace(event, title="Review (moved)",
                                                location=first.video_link))

    assert first.video_link and first.video_link == again.video_link == moved.video_link
    assert len(google.state.live_events(REP)) == 1


def test_without_conference_data_version_google_ignores_the_request(google):
    token = google.state.identity.issue()["access_token"]
    body = {"start": {"dateTime": "2026-11-24T15:00:00Z"},
            "end": {"dateTime": "2026-11-24T16:00:00Z"},
            "conferenceData": {"createRequest": {
                "requestId": "r1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}}
    url = f"{google.base_url}/calendar/v3/calendars/{REP}/events"

    plain = requests.post(url, json=body, headers={"Authorization": f"Bearer {token}"},
                          timeout=5)
    other = requests.post(url, params={"conferenceDataVersion": "1"}, headers={
        "Authorization": f"Bearer {token}"}, timeout=5, json={
        **body, "conferenceData": {"createRequest": {
            "requestId": "r2", "conferenceSolutionKey": {"type": "addOn"}}}})
    unknown = requests.post(url, params={"conferenceDataVersion": "1"}, headers={
        "Authorization": f"Bearer {token}"}, timeout=5, json={
        **body, "conferenceData": {"createRequest": {"requestId": "r3", "colour": "red"}}})

    assert plain.status_code == 200 and "conferenceData" not in plain.json()
    assert "hangoutLink" not in plain.json()
    assert other.status_code == 400
    assert other.json()["error"]["message"] == "Invalid conference type value."
    assert unknown.status_code == 400  # the discovery document knows no such field
    assert "colour" in unknown.json()["error"]["message"]


# --- Microsoft Teams ---------------------------------------------------------------------------


@pytest.fixture
def outlook():
    with emulated_outlook() as emulated:
        yield emulated


@pytest.fixture
def outlook_runtime(tmp_path, clock, outlook):
    settings = make_settings(tmp_path, **outlook.pointing)
    built = build_runtime(settings, clock, builders=default_builders(outlook.session),
                          http=outlook.session)
    yield built
    built.store.dispose()


def test_an_outlook_booking_is_a_teams_meeting_with_its_join_url(outlook_runtime, outlook,
                                                                 make_rep):
    runtime = outlook_runtime
    rep = make_rep("riley@example.com", name="Riley Rivera")
    give_video_link(runtime, rep)
    connect_to(runtime, rep, "outlook", connect_outlook(outlook.settings, outlook.session))

    followup = book_and_write(runtime, rep)

    [stored] = outlook.state.live_events("rep@example.com")
    assert stored.fields["isOnlineMeeting"] is True
    assert stored.fields["onlineMeetingProvider"] == "teamsForBusiness"
    join = stored.fields["onlineMeeting"]["joinUrl"]
    assert join.startswith("https://teams.microsoft.com/l/meetup-join/")
    assert followup.video_link == join
    assert str(ics_event(followup)["LOCATION"]) == join


def test_an_account_without_teams_gets_the_reps_own_link(tmp_path, clock, make_rep):
    state = demo_state()
    state.add_account("kim@outlook.example", name="Kim", personal=True)
    state.identity.sign_in_as("kim@outlook.example")
    with emulated_outlook(state) as outlook:
        settings = make_settings(tmp_path, **outlook.pointing)
        runtime = build_runtime(settings, clock, builders=default_builders(outlook.session),
                                http=outlook.session)
        rep = make_rep("riley@example.com", name="Riley Rivera")
        give_video_link(runtime, rep)
        connect_to(runtime, rep, "outlook",
                   connect_outlook(outlook.settings, outlook.session))

        followup = book_and_write(runtime, rep)

        [stored] = outlook.state.live_events("kim@outlook.example")
        assert stored.fields["isOnlineMeeting"] is False
        assert stored.fields["location"] == {"displayName": RILEYS_LINK}
        assert followup.video_link == RILEYS_LINK
        runtime.store.dispose()


# --- the built-in calendar -----------------------------------------------------------------------


def test_a_local_booking_uses_the_reps_link_in_the_invite(runtime, make_rep):
    rep = make_rep("riley@example.com", name="Riley Rivera")
    give_video_link(runtime, rep)

    followup = book_and_write(runtime, rep)

    assert followup.video_link == RILEYS_LINK
    event = ics_event(followup)
    assert str(event["LOCATION"]) == RILEYS_LINK
    assert str(event["DESCRIPTION"]).startswith(f"Join: {RILEYS_LINK}")
    mail = message_from_bytes(next(runtime.settings.outbox_dir.glob("*.eml")).read_bytes(),
                              policy=policy.default)
    [sent] = Calendar.from_ical(next(part.get_content() for part in mail.walk()
                                     if part.get_content_type() == "text/calendar")
                                ).walk("VEVENT")
    assert str(sent["LOCATION"]) == RILEYS_LINK
    assert RILEYS_LINK in mail.get_body(("plain",)).get_content()


def test_a_rep_without_a_link_books_a_meeting_without_a_location(runtime, make_rep):
    followup = book_and_write(runtime, make_rep("riley@example.com", name="Riley Rivera"))

    assert followup.video_link is None
    assert "LOCATION" not in ics_event(followup)
