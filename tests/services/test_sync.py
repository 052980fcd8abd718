"""Sync back from the built-in calendar: the prospect declines, someone moves or deletes the
event; plan steps past due are flagged stalled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.access import Viewer
from scheduler.booking import book_followup, get_followup
from scheduler.providers.base import EventRef
from scheduler.providers.local import LocalCalendar
from scheduler.store.models import LogEntry, Reservation
from scheduler.sync import flag_stalled_steps, sync_all
from tests.services.helpers import booking

TUESDAY_3PM = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@pytest.fixture
def booked(runtime, make_rep):
    rep = make_rep()
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps()).followup
    runtime.tick()
    sync_all(store=runtime.store, calendars=runtime.calendars, clock=runtime.clock)
    return followup


def _sync(runtime):
    return sync_all(store=runtime.store, calendars=runtime.calendars, clock=runtime.clock)


def _log(runtime, kind):
    with runtime.store.reading() as session:
        return session.scalars(select(LogEntry).where(LogEntry.kind == kind)).all()


def test_the_prospect_declining_marks_the_followup_declined(runtime, booked):
    LocalCalendar(runtime.store).respond(booked.event_uid, "dana@acme.example.com", "declined")

    _sync(runtime)

    assert get_followup(runtime.store, booked.id).status == "declined"
    [entry] = _log(runtime, "attendee.declined")
    assert entry.followup_id == booked.id
    with runtime.store.reading() as session:
        assert not session.scalars(select(Reservation.active).where(
            Reservation.followup_id == booked.id)).first()


def test_moving_the_event_reschedules_the_followup(runtime, booked):
    later = TUESDAY_3PM + timedelta(days=2)
    LocalCalendar(runtime.store).move(booked.event_uid, later, later + timedelta(minutes=30))

    _sync(runtime)

    followup = get_followup(runtime.store, booked.id)
    assert (followup.status, followup.start) == ("rescheduled", later)
    [entry] = _log(runtime, "followup.rescheduled")
    assert (entry.data["by"], entry.data["via"]) == ("rep", "calendar:local")


def test_deleting_the_event_cancels_the_followup(runtime, booked):
    LocalCalendar(runtime.store).cancel_event(
        EventRef("local", "riley@example.com", booked.event_uid))

    _sync(runtime)

    assert get_followup(runtime.store, booked.id).status == "cancelled"


def test_a_deletion_in_the_calendar_bumps_the_sequence_so_the_prospects_cancel_counts(
        runtime, booked):
    LocalCalendar(runtime.store).cancel_event(
        EventRef("local", "riley@example.com", booked.event_uid))

    _sync(runtime)
    _sync(runtime)

    followup = get_followup(runtime.store, booked.id)
    assert (followup.status, followup.sequence) == ("cancelled", booked.sequence + 1)
    [entry] = _log(runtime, "followup.cancelled")
    assert (entry.data["by"], entry.data["via"]) == ("rep", "calendar:local")


def test_a_helper_declining_again_after_a_move_is_logged_again(runtime, make_rep):
    make_rep("lee@example.com", name="Lee")
    rep = make_rep()
    followup = book_followup(booking(TUESDAY_3PM, helpers=["lee@example.com"]), rep=rep,
                             **runtime.deps()).followup
    runtime.tick()
    calendar, later = LocalCalendar(runtime.store), TUESDAY_3PM + timedelta(days=1)

    calendar.respond(followup.event_uid, "lee@example.com", "declined")
    _sync(runtime)
    calendar.move(followup.event_uid, later, later + timedelta(minutes=30))
    _sync(runtime)
    calendar.respond(followup.event_uid, "lee@example.com", "declined")
    _sync(runtime)

    declines = _log(runtime, "attendee.declined")
    assert [(e.data["email"], e.data["by"]) for e in declines] == [
        ("lee@example.com", "helper"), ("lee@example.com", "helper")]
    assert get_followup(runtime.store, followup.id).status == "rescheduled"


def test_our_own_writes_are_not_mistaken_for_changes(runtime, booked):
    _sync(runtime)

    assert get_followup(runtime.store, booked.id).status == "booked"
    assert [e.kind for e in _log(runtime, "followup.rescheduled")] == []


def test_a_step_past_due_is_flagged_stalled_once(runtime, booked):
    runtime.clock.advance(timedelta(days=5))  # the plan's steps were due Fri 27 Nov

    first = flag_stalled_steps(store=runtime.store, clock=runtime.clock)
    second = flag_stalled_steps(store=runtime.store, clock=runtime.clock)

    assert (first, second) == (2, 0)
    assert len(_log(runtime, "step.stalled")) == 2


def test_a_done_step_never_stalls(runtime, booked):
    from scheduler.booking import mark_steps_done

    mark_steps_done(booked.id, [(0, True)], viewer=Viewer.rep(booked.rep_id), store=runtime.store,
                    clock=runtime.clock)
    runtime.clock.advance(timedelta(days=5))

    assert flag_stalled_steps(store=runtime.store, clock=runtime.clock) == 1
    assert [e.data["index"] for e in _log(runtime, "step.stalled")] == [1]


@pytest.mark.parametrize(("zone", "before", "after"), [
    # Friday 27 Nov ends at 05:00 UTC Saturday in New York, 15:00 UTC Friday in Tokyo.
    ("America/New_York", datetime(2026, 11, 28, 4, 59, tzinfo=UTC),
     datetime(2026, 11, 28, 5, 0, tzinfo=UTC)),
    ("Asia/Tokyo", datetime(2026, 11, 27, 14, 59, tzinfo=UTC),
     datetime(2026, 11, 27, 15, 0, tzinfo=UTC)),
])
def test_a_dated_step_stalls_at_the_end_of_its_day_in_the_reps_zone(runtime, booked, zone,
                                                                    before, after):
    from scheduler.store.models import User

    with runtime.store.transaction() as session:
        session.get(User, booked.rep_id).timezone = zone
    runtime.clock.advance(before - runtime.clock.now())
    assert flag_stalled_steps(store=runtime.store, clock=runtime.clock) == 0
    runtime.clock.advance(after - before)
    assert flag_stalled_steps(store=runtime.store, clock=runtime.clock) == 2
