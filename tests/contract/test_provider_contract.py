"""The behaviour every CalendarProvider must show, whatever calendar is behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.availability import Interval
from scheduler.providers.base import (
    FOLLOWUP_ID_PROPERTY,
    Attendee,
    CalendarEvent,
    CalendarInfo,
    new_event_uid,
)

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)


def _event(harness, start: datetime, minutes: int = 30, **overrides) -> CalendarEvent:
    fields = dict(
        uid=new_event_uid(),
        calendar_id=harness.calendar_id,
        start=start,
        end=start + timedelta(minutes=minutes),
        title="Proposal review with Acme",
        description="1. Dana (Acme) will send the questionnaire by Fri 11 Jan",
        organizer=Attendee("rep@example.com", "Riley Rep"),
        attendees=(Attendee("dana@acme.example", "Dana, Acme; CTO"),),
        properties={FOLLOWUP_ID_PROPERTY: "fu-123"},
        timezone="Europe/Berlin",
    )
    fields.update(overrides)
    return CalendarEvent(**fields)


def test_busy_reads_several_calendars_in_one_call(harness):
    first, second = harness.calendar_id, harness.other_calendar_ids[0]
    harness.add_busy(first, MONDAY.replace(hour=9), MONDAY.replace(hour=10))
    harness.add_busy(second, MONDAY.replace(hour=13), MONDAY.replace(hour=14, minute=30))
    harness.add_busy(second, MONDAY + timedelta(days=3), MONDAY + timedelta(days=3, hours=1))

    result = harness.provider.busy([first, second], Interval(MONDAY, MONDAY + timedelta(days=1)))

    assert result.busy[first] == [Interval(MONDAY.replace(hour=9), MONDAY.replace(hour=10))]
    assert result.busy[second] == [
        Interval(MONDAY.replace(hour=13), MONDAY.replace(hour=14, minute=30))]
    assert result.errors == {}


def test_created_event_counts_as_busy(harness):
    event = _event(harness, MONDAY.replace(hour=11))
    harness.provider.create_event(event)

    result = harness.provider.busy([harness.calendar_id],
                                   Interval(MONDAY, MONDAY + timedelta(days=1)))

    assert Interval(event.start, event.end) in result.busy[harness.calendar_id]


def test_creating_the_same_uid_twice_keeps_one_event(harness):
    event = _event(harness, MONDAY.replace(hour=15))
    first = harness.provider.create_event(event)
    again = harness.provider.create_event(event)

    assert again.event_id == first.event_id
    assert harness.count_events(harness.calendar_id) == 1


def test_update_moves_the_event(harness):
    event = _event(harness, MONDAY.replace(hour=9))
    ref = harness.provider.create_event(event)
    moved = _event(harness, MONDAY.replace(hour=16), uid=event.uid, sequence=1)

    harness.provider.update_event(ref, moved)

    busy = harness.provider.busy([harness.calendar_id],
                                 Interval(MONDAY, MONDAY + timedelta(days=1))).busy
    assert busy[harness.calendar_id] == [Interval(moved.start, moved.end)]


def test_cancel_frees_the_time_and_is_safe_to_repeat(harness):
    ref = harness.provider.create_event(_event(harness, MONDAY.replace(hour=10)))

    harness.provider.cancel_event(ref)
    harness.provider.cancel_event(ref)

    busy = harness.provider.busy([harness.calendar_id],
                                 Interval(MONDAY, MONDAY + timedelta(days=1))).busy
    assert busy.get(harness.calendar_id, []) == []
    assert harness.count_events(harness.calendar_id) == 0


def test_changes_report_a_decline_on_the_event_booked(harness):
    ref = harness.provider.create_event(_event(harness, MONDAY.replace(hour=10)))
    cursor = harness.provider.changes(harness.calendar_id, None).cursor

    harness.respond_as_attendee(ref, "dana@acme.example", "declined")
    changes = harness.provider.changes(harness.calendar_id, cursor).changes

    [change] = [c for c in changes if c.ref.event_id == ref.event_id]
    assert change.followup_id == ("fu-123" if harness.changes_carry_followup_id else None)
    responses = {a.email: a.response for a in change.attendees}
    assert responses["dana@acme.example"] == "declined"


def test_changes_report_a_move(harness):
    ref = harness.provider.create_event(_event(harness, MONDAY.replace(hour=10)))
    cursor = harness.provider.changes(harness.calendar_id, None).cursor
    new_start = MONDAY + timedelta(days=1, hours=14)

    harness.move_event(ref, new_start, new_start + timedelta(minutes=30))
    changes = harness.provider.changes(harness.calendar_id, cursor).changes

    [change] = [c for c in changes if c.ref.event_id == ref.event_id]
    assert (change.start, change.end) == (new_start, new_start + timedelta(minutes=30))
    assert change.status != "cancelled"


def test_changes_report_a_deletion_as_cancelled(harness):
    ref = harness.provider.create_event(_event(harness, MONDAY.replace(hour=10)))
    cursor = harness.provider.changes(harness.calendar_id, None).cursor

    harness.delete_event(ref)
    changes = harness.provider.changes(harness.calendar_id, cursor).changes

    [change] = [c for c in changes if c.ref.event_id == ref.event_id]
    assert change.status == "cancelled"


def test_no_changes_since_the_latest_cursor(harness):
    harness.provider.create_event(_event(harness, MONDAY.replace(hour=10)))
    cursor = harness.provider.changes(harness.calendar_id, None).cursor

    later = harness.provider.changes(harness.calendar_id, cursor)

    assert later.changes == []
    assert later.full_resync is False


def test_listed_calendars_put_the_writable_primary_first(harness):
    """What /connections offers; an adapter without an account to list (the built-in
    calendar, the memory one) lists nothing and the page offers the connection's own."""
    listed = harness.provider.list_calendars()

    assert all(isinstance(c, CalendarInfo) for c in listed)
    assert [c.primary for c in listed].count(True) <= 1
    if listed:
        assert listed[0].primary and listed[0].can_write
        assert listed[0].id.lower() == harness.calendar_id.lower()
