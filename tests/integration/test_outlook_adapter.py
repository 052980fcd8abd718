"""OutlookCalendar against the Graph emulator: busy time in batched getSchedule calls, the
personal-account fallback, what writes carry, and how failures are retried or reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.availability import Interval
from scheduler.errors import ProviderRejected, ProviderUnavailable
from scheduler.providers.base import (
    FOLLOWUP_ID_PROPERTY,
    PLAN_PROPERTY,
    Attendee,
    CalendarEvent,
    EventRef,
    new_event_uid,
)
from scheduler.providers.outlook import FOLLOWUP_ID_PROPERTY_ID, PLAN_PROPERTY_ID
from tests.contract.harness_outlook import emulated_outlook
from tests.emulators.graph_state import Fault

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
DAY = Interval(MONDAY, MONDAY + timedelta(days=1))
REP = "rep@example.com"


@pytest.fixture
def outlook():
    with emulated_outlook() as running:
        yield running


def _event(start: datetime, **overrides) -> CalendarEvent:
    fields = dict(uid=new_event_uid(), calendar_id=REP, start=start,
                  end=start + timedelta(minutes=30), title="Proposal review",
                  description="1. Dana sends the questionnaire by Fri",
                  organizer=Attendee(REP, "Riley Rep"),
                  attendees=(Attendee("dana@acme.example", "Dana"),
                             Attendee("helper1@example.com", "Hal", optional=True)),
                  properties={FOLLOWUP_ID_PROPERTY: "fu-1", PLAN_PROPERTY: '{"steps": []}'})
    return CalendarEvent(**(fields | overrides))


# --- busy time --------------------------------------------------------------------------------


def test_twenty_five_people_are_read_in_two_schedule_calls(outlook):
    people = [f"person{n}@example.com" for n in range(25)]
    for person in people:
        outlook.state.add_mailbox(person)
    outlook.state.add_event(people[24], MONDAY.replace(hour=9), MONDAY.replace(hour=10))

    result = outlook.provider().busy(people, DAY)

    assert outlook.state.request_count("get_schedule") == 2
    assert result.errors == {}
    assert set(result.busy) == set(people)
    assert result.busy[people[24]] == [Interval(MONDAY.replace(hour=9), MONDAY.replace(hour=10))]


def test_seventy_days_are_read_in_two_calls_and_an_event_across_the_cut_stays_whole(outlook):
    window = Interval(MONDAY, MONDAY + timedelta(days=70))
    across = (MONDAY + timedelta(days=60, hours=23), MONDAY + timedelta(days=61, hours=2))
    late = (MONDAY + timedelta(days=69), MONDAY + timedelta(days=69, hours=1))
    for start, end in (across, late):
        outlook.state.add_event(REP, start, end)

    result = outlook.provider().busy([REP], window)

    assert outlook.state.request_count("get_schedule") == 2
    assert result.busy[REP] == [Interval(*across), Interval(*late)]


def test_busy_time_is_clipped_to_the_window_and_ignores_free_time(outlook):
    outlook.state.add_event(REP, MONDAY - timedelta(hours=1), MONDAY + timedelta(hours=1))
    outlook.state.add_event(REP, MONDAY.replace(hour=9), MONDAY.replace(hour=10),
                            show_as="free")
    outlook.state.add_event(REP, MONDAY.replace(hour=11), MONDAY.replace(hour=12),
                            show_as="workingElsewhere")
    outlook.state.add_event(REP, MONDAY.replace(hour=13), MONDAY.replace(hour=14),
                            show_as="tentative")
    outlook.state.add_event(REP, MONDAY.replace(hour=15), MONDAY.replace(hour=16),
                            show_as="oof")

    busy = outlook.provider().busy([REP], DAY).busy[REP]

    assert busy == [Interval(MONDAY, MONDAY + timedelta(hours=1)),
                    Interval(MONDAY.replace(hour=13), MONDAY.replace(hour=14)),
                    Interval(MONDAY.replace(hour=15), MONDAY.replace(hour=16))]


def test_an_unknown_mailbox_is_named_in_errors_not_shown_as_free(outlook):
    result = outlook.provider().busy([REP, "ghost@example.com"], DAY)

    assert set(result.busy) == {REP}
    assert "ghost@example.com" in result.errors["ghost@example.com"]


def test_a_personal_account_reads_its_own_calendar_view_and_names_the_others(outlook):
    me = "sam@outlook.example"
    outlook.state.add_account(me, personal=True)
    outlook.state.identity.sign_in_as(me)
    outlook.state.max_page_size = 2
    hours = [9, 11, 13, 15, 17]
    for hour in hours:
        outlook.state.add_event(me, MONDAY.replace(hour=hour), MONDAY.replace(hour=hour + 1))

    result = outlook.provider().busy([me, "helper1@example.com"], DAY)

    assert result.busy[me] == [Interval(MONDAY.replace(hour=h), MONDAY.replace(hour=h + 1))
                               for h in hours]
    assert "personal" in result.errors["helper1@example.com"]
    assert outlook.state.request_count("get_schedule") == 0
    assert outlook.state.request_count("calendar_view") == 3


def test_a_refused_get_schedule_falls_back_to_the_calendar_view_once(outlook):
    outlook.state.add_event(REP, MONDAY.replace(hour=9), MONDAY.replace(hour=10))
    outlook.state.inject("get_schedule", Fault(403))
    provider = outlook.provider()

    first = provider.busy([REP, "helper1@example.com"], DAY)
    provider.busy([REP], DAY)

    assert first.busy[REP] == [Interval(MONDAY.replace(hour=9), MONDAY.replace(hour=10))]
    assert set(first.errors) == {"helper1@example.com"}
    assert outlook.state.request_count("get_schedule") == 1
    assert outlook.state.request_count("calendar_view") == 2


# --- writes -----------------------------------------------------------------------------------


def test_a_created_event_carries_the_plan_the_followup_id_and_the_uid(outlook):
    event = _event(MONDAY.replace(hour=10))

    ref = outlook.provider().create_event(event)

    stored = outlook.state.get_event(ref.event_id)
    assert stored.transaction_id == event.uid
    assert (stored.start, stored.end) == (event.start, event.end)
    assert stored.properties == {FOLLOWUP_ID_PROPERTY_ID: "fu-1",
                                 PLAN_PROPERTY_ID: '{"steps": []}'}
    assert stored.fields["body"] == {"contentType": "text", "content": event.description}
    assert [(a["emailAddress"]["address"], a["type"]) for a in stored.fields["attendees"]] == [
        ("dana@acme.example", "required"), ("helper1@example.com", "optional")]


def test_cancelling_sends_graphs_cancellation_rather_than_a_bare_delete(outlook):
    provider = outlook.provider()
    ref = provider.create_event(_event(MONDAY.replace(hour=10)))

    provider.cancel_event(ref)
    provider.cancel_event(ref)

    assert outlook.state.request_counts().get("delete_event") is None
    assert outlook.state.request_count("cancel_event") == 2
    assert outlook.state.live_events(REP) == []


def test_an_event_someone_else_organizes_is_deleted_instead(outlook):
    other = {"emailAddress": {"name": "Olga", "address": "olga@example.com"}}
    event, _ = outlook.state.create_event(REP, MONDAY, MONDAY + timedelta(hours=1),
                                          {"subject": "Their meeting", "organizer": other,
                                           "attendees": []})
    provider = outlook.provider()

    provider.cancel_event(EventRef("outlook", REP, event.id))

    assert outlook.state.request_count("delete_event") == 1
    assert outlook.state.live_events(REP) == []


def test_fifty_creates_losing_thirty_percent_of_answers_make_fifty_events(outlook):
    outlook.state.inject_rate("create_event", Fault.commit_then(503), 0.3, seed=7)
    provider = outlook.provider()
    events = [_event(MONDAY + timedelta(hours=n)) for n in range(50)]

    refs = [provider.create_event(event) for event in events]

    stored = outlook.state.live_events(REP)
    assert len(stored) == 50
    assert {ref.event_id for ref in refs} == {e.id for e in stored}
    assert outlook.state.request_count("create_event") > 60  # answers really were lost
    assert len(outlook.sleeps) == outlook.state.request_count("create_event") - 50


def test_a_create_whose_answer_times_out_is_retried_into_the_same_event(outlook):
    outlook.state.inject("create_event", Fault.commit_then_timeout(delay=0.6))
    provider = outlook.provider(timeout=0.2)

    ref = provider.create_event(_event(MONDAY.replace(hour=10)))

    assert [e.id for e in outlook.state.live_events(REP)] == [ref.event_id]
    assert outlook.state.request_count("create_event") == 2


# --- retries ----------------------------------------------------------------------------------


def test_throttling_waits_as_long_as_retry_after_says(outlook):
    outlook.state.inject("get_schedule", Fault.throttled(retry_after=2))

    result = outlook.provider().busy([REP], DAY)

    assert outlook.sleeps == [2]
    assert result.errors == {}
    assert outlook.state.request_count("get_schedule") == 2


def test_server_errors_back_off_with_full_jitter(outlook):
    outlook.state.inject("get_schedule", Fault(500), Fault(502), Fault(503))

    outlook.provider().busy([REP], DAY)

    assert len(outlook.sleeps) == 3
    for attempt, wait in enumerate(outlook.sleeps):
        assert 0 <= wait <= 0.5 * 2 ** attempt


def test_giving_up_reports_unavailable_with_the_last_retry_after(outlook):
    outlook.state.inject("get_schedule", *[Fault(503, retry_after=3)] * 3)

    with pytest.raises(ProviderUnavailable) as caught:
        outlook.provider(max_attempts=3).busy([REP], DAY)

    assert caught.value.retry_after == 3
    assert outlook.sleeps == [3, 3]


def test_a_long_retry_after_is_reported_at_once_not_slept_through(outlook):
    outlook.state.inject("get_schedule", Fault.throttled(retry_after=600))

    with pytest.raises(ProviderUnavailable) as caught:
        outlook.provider().busy([REP], DAY)

    assert caught.value.retry_after == 600
    assert outlook.sleeps == []


def test_requests_graph_refuses_fail_at_once(outlook):
    provider = outlook.provider()
    ref = provider.create_event(_event(MONDAY.replace(hour=10)))
    outlook.state.delete_event(ref.event_id)

    with pytest.raises(ProviderRejected, match="ErrorItemNotFound"):
        provider.update_event(ref, _event(MONDAY.replace(hour=11)))

    assert outlook.state.request_count("update_event") == 1
    assert outlook.sleeps == []
