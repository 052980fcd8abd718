"""GoogleCalendar through google-api-python-client against the emulator: batched busy time,
what a written event carries, conditional updates, and sync rounds. Faults are in
test_google_faults.py, the OAuth flow and tokens in test_google_oauth.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.availability import Interval
from scheduler.providers.base import (
    FOLLOWUP_ID_PROPERTY,
    PLAN_PROPERTY,
    Attendee,
    CalendarEvent,
    new_event_uid,
)
from tests.contract.harness_google import REP, running_emulator

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
DAY = Interval(MONDAY, MONDAY + timedelta(days=1))


@pytest.fixture
def google():
    with running_emulator() as emulated:
        yield emulated


def _event(start: datetime = MONDAY.replace(hour=10), **overrides) -> CalendarEvent:
    fields = dict(
        uid=new_event_uid(), calendar_id=REP, start=start, end=start + timedelta(minutes=30),
        title="Proposal review with Acme",
        description="1. Dana (Acme) will send the questionnaire by Fri 11 Jan",
        organizer=Attendee(REP, "Riley Rep", response="accepted"),
        attendees=(Attendee("dana@acme.example", "Dana"),
                   Attendee("helper1@example.com", "Hal", optional=True)),
        properties={FOLLOWUP_ID_PROPERTY: "fu-123", PLAN_PROPERTY: '{"steps": []}'},
        timezone="Europe/Berlin")
    fields.update(overrides)
    return CalendarEvent(**fields)


# --- busy ------------------------------------------------------------------------------------


def test_rep_and_two_helpers_are_read_in_one_freebusy_call(google):
    google.state.add_busy("helper2@example.com", MONDAY.replace(hour=9), MONDAY.replace(hour=10))

    result = google.provider().busy([REP, "helper1@example.com", "helper2@example.com"], DAY)

    assert result.busy == {REP: [], "helper1@example.com": [], "helper2@example.com": [
        Interval(MONDAY.replace(hour=9), MONDAY.replace(hour=10))]}
    assert google.state.request_counts() == {"freebusy.query": 1}


def test_sixty_calendars_take_two_freebusy_calls(google):
    colleagues = [f"colleague{n}@example.com" for n in range(60)]
    for email in colleagues:
        google.state.add_calendar(email)
    google.state.add_busy(colleagues[0], MONDAY.replace(hour=9), MONDAY.replace(hour=10))
    google.state.add_busy(colleagues[59], MONDAY.replace(hour=11), MONDAY.replace(hour=12))

    result = google.provider().busy(colleagues, DAY)

    assert google.state.request_count("freebusy.query") == 2
    assert result.errors == {}
    assert result.busy[colleagues[0]] == [Interval(MONDAY.replace(hour=9),
                                                   MONDAY.replace(hour=10))]
    assert result.busy[colleagues[59]] == [Interval(MONDAY.replace(hour=11),
                                                    MONDAY.replace(hour=12))]


def test_a_120_day_window_takes_two_calls_and_an_event_across_the_seam_stays_whole(google):
    seam = MONDAY + timedelta(days=90)
    google.state.add_busy(REP, seam - timedelta(hours=1), seam + timedelta(hours=1))

    result = google.provider().busy([REP], Interval(MONDAY, MONDAY + timedelta(days=120)))

    assert google.state.request_count("freebusy.query") == 2
    assert result.busy[REP] == [Interval(seam - timedelta(hours=1), seam + timedelta(hours=1))]


def test_calendars_google_cannot_read_are_named_in_errors_not_reported_free(google):
    result = google.provider().busy([REP, "stranger@elsewhere.example"], DAY)

    assert result.errors == {"stranger@elsewhere.example": "notFound"}
    assert "stranger@elsewhere.example" not in result.busy
    assert result.busy[REP] == []


# --- writing ---------------------------------------------------------------------------------


def test_created_event_carries_plan_guests_and_local_time_and_invites_them(google):
    event = _event(attendees=(Attendee(REP, "Riley Rep"), Attendee("dana@acme.example", "Dana")))

    ref = google.provider().create_event(event)

    stored = google.state.get_event(REP, event.uid)
    assert ref.event_id == stored.id == event.uid
    assert ref.etag == stored.etag
    assert stored.fields["summary"] == event.title
    assert stored.fields["description"] == event.description
    assert stored.fields["start"] == {"dateTime": "2030-01-07T11:00:00+01:00",
                                      "timeZone": "Europe/Berlin"}
    assert [a["email"] for a in stored.fields["attendees"]] == ["dana@acme.example"]
    assert stored.fields["extendedProperties"]["private"][FOLLOWUP_ID_PROPERTY] == "fu-123"
    assert ("events.insert", event.uid, "all") in google.state.sent_updates


def test_a_plan_longer_than_googles_property_limit_survives_and_shrinks_cleanly(google):
    plan = json.dumps({"steps": [{"what": "x" * 900, "n": n} for n in range(3)]})
    event = _event(properties={FOLLOWUP_ID_PROPERTY: "fu-9", PLAN_PROPERTY: plan})
    provider = google.provider()
    ref = provider.create_event(event)

    private = google.state.get_event(REP, event.uid).fields["extendedProperties"]["private"]
    assert max(len(value) for value in private.values()) <= 1024
    assert "".join(private[k] for k in (PLAN_PROPERTY, *(f"{PLAN_PROPERTY}.{n}"
                                                         for n in (1, 2)))) == plan

    provider.update_event(ref, _event(uid=event.uid, properties={
        FOLLOWUP_ID_PROPERTY: "fu-9", PLAN_PROPERTY: '{"steps": []}'}))
    private = google.state.get_event(REP, event.uid).fields["extendedProperties"]["private"]
    assert private == {FOLLOWUP_ID_PROPERTY: "fu-9", PLAN_PROPERTY: '{"steps": []}'}


def test_update_after_a_guest_answered_rereads_and_applies_once_keeping_the_answer(google):
    provider = google.provider()
    event = _event()
    ref = provider.create_event(event)
    google.state.respond(REP, ref.event_id, "dana@acme.example", "accepted")  # new etag

    # A longer meeting, same start: a new start would ask every guest again, as Google does.
    moved = provider.update_event(ref, _event(uid=event.uid, end=MONDAY.replace(hour=11)))

    stored = google.state.get_event(REP, ref.event_id)
    assert (stored.end, moved.etag) == (MONDAY.replace(hour=11), stored.etag)
    assert {a["email"]: a["responseStatus"] for a in stored.fields["attendees"]}[
        "dana@acme.example"] == "accepted"
    assert google.state.request_count("events.patch") == 2
    assert google.state.request_count("events.get") == 1


def test_cancel_tells_the_guests_and_is_safe_to_repeat(google):
    provider = google.provider()
    ref = provider.create_event(_event())

    provider.cancel_event(ref)
    provider.cancel_event(ref)

    assert google.state.live_events(REP) == []
    assert ("events.delete", ref.event_id, "all") in google.state.sent_updates
    assert google.state.request_count("events.delete") == 2  # the second answered 410


# --- sync ------------------------------------------------------------------------------------


def test_a_sync_over_several_pages_keeps_the_token_from_the_last_page(google):
    provider = google.provider(page_size=2)
    refs = [provider.create_event(_event(MONDAY.replace(hour=9 + n))) for n in range(5)]

    first = provider.changes(REP, None)

    assert google.state.request_count("events.list") == 3
    assert sorted(c.ref.event_id for c in first.changes) == sorted(r.event_id for r in refs)
    google.state.respond(REP, refs[2].event_id, "dana@acme.example", "declined")
    later = provider.changes(REP, first.cursor)
    assert [c.ref.event_id for c in later.changes] == [refs[2].event_id]
    assert later.full_resync is False


def test_an_expired_sync_token_brings_one_full_resync_equal_to_the_calendar(google):
    provider = google.provider(page_size=2)
    refs = [provider.create_event(_event(MONDAY.replace(hour=9 + n))) for n in range(4)]
    cursor = provider.changes(REP, None).cursor
    provider.cancel_event(refs[0])
    google.state.add_busy(REP, MONDAY.replace(hour=20), MONDAY.replace(hour=21))
    google.state.expire_sync_tokens()
    lists_before = google.state.request_count("events.list")

    result = provider.changes(REP, cursor)

    assert result.full_resync is True
    live = {c.ref.event_id: (c.start, c.end) for c in result.changes if c.status != "cancelled"}
    assert live == {e.id: (e.start, e.end) for e in google.state.live_events(REP)}
    assert google.state.request_count("events.list") - lists_before == 1 + 3  # 410, 3 pages
    assert provider.changes(REP, result.cursor).changes == []


def test_the_prospect_declining_then_the_owner_moving_and_deleting_are_each_reported(google):
    provider = google.provider()
    ref = provider.create_event(_event())
    cursor = provider.changes(REP, None).cursor

    google.state.respond(REP, ref.event_id, "dana@acme.example", "declined")
    declined = provider.changes(REP, cursor)
    [change] = declined.changes
    assert change.followup_id == "fu-123"
    assert {a.email: a.response for a in change.attendees}["dana@acme.example"] == "declined"

    new_start = MONDAY + timedelta(days=2, hours=16)
    google.state.move(REP, ref.event_id, new_start, new_start + timedelta(minutes=45))
    moved = provider.changes(REP, declined.cursor)
    [change] = moved.changes
    assert (change.start, change.end) == (new_start, new_start + timedelta(minutes=45))
    assert change.status == "confirmed"

    google.state.delete_event(REP, ref.event_id)
    [change] = provider.changes(REP, moved.cursor).changes
    assert (change.ref.event_id, change.status) == (ref.event_id, "cancelled")


def test_an_all_day_event_of_the_owner_is_read_in_the_calendars_zone(google):
    provider = google.provider()
    cursor = provider.changes(REP, None).cursor
    google.state.insert_event(REP, {"summary": "Offsite", "start": {"date": "2030-01-08"},
                                    "end": {"date": "2030-01-09"}},
                              datetime(2030, 1, 8, 8, tzinfo=UTC),
                              datetime(2030, 1, 9, 8, tzinfo=UTC))

    [change] = provider.changes(REP, cursor).changes

    assert (change.start, change.end) == (datetime(2030, 1, 8, 8, tzinfo=UTC),
                                          datetime(2030, 1, 9, 8, tzinfo=UTC))
    assert change.followup_id is None


# --- push channels -----------------------------------------------------------------------------


def test_a_watch_channel_opens_and_stops_and_stopping_again_is_harmless(google):
    provider = google.provider()

    channel = provider.watch(REP, address="https://nextstep.test/hooks/google",
                             channel_token="per-connection-secret", channel_id="chan-1",
                             ttl_seconds=3600)

    stored = google.state.channels["chan-1"]
    assert (stored["token"], stored["address"]) == ("per-connection-secret",
                                                    "https://nextstep.test/hooks/google")
    assert channel["resource_id"] == stored["resourceId"]
    assert timedelta(minutes=59) < channel["expiration"] - datetime.now(UTC) <= timedelta(hours=1)
    provider.stop_watch("chan-1", channel["resource_id"])
    provider.stop_watch("chan-1", channel["resource_id"])
    assert google.state.channels == {}
