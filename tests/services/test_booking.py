"""Booking a follow-up on the built-in calendar: what gets written, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.access import Viewer
from scheduler.booking import book_followup, cancel_followup, get_followup, reschedule_followup
from scheduler.errors import InvalidInput, InvalidPlan, SlotTaken
from scheduler.providers.local import LocalCalendar
from scheduler.store.models import FollowUp, LocalEvent, OutboxMessage, Reservation
from tests.conftest import logged_kinds
from tests.services.helpers import booking, plan

# Tuesday 24 Nov 2026, 15:00 UTC = 10:00 in New York, 07:00 in Los Angeles... too early for
# the prospect's daytime does not matter when booking a chosen time.
TUESDAY_3PM = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def count(runtime, model, *where) -> int:
    with runtime.store.reading() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))



@pytest.fixture
def rep(make_rep):
    return make_rep("riley@example.com", name="Riley Rivera")


@pytest.fixture
def lee(make_rep):
    return make_rep("lee@example.com", name="Lee Chen", timezone="America/Chicago")


def test_booking_writes_the_followup_plan_reservations_log_and_outbox(runtime, rep, lee):
    booked = book_followup(booking(TUESDAY_3PM, helpers=["lee@example.com"]), rep=rep,
                           **runtime.deps())

    followup = booked.followup
    assert booked.created
    assert (followup.status, followup.start, followup.end) == (
        "booked", TUESDAY_3PM, TUESDAY_3PM + timedelta(minutes=30))
    assert [s.what for s in followup.steps] == ["send the security questionnaire",
                                                "send the proposal"]
    assert [h.email for h in followup.helpers] == ["lee@example.com"]
    assert count(runtime, Reservation, Reservation.followup_id == followup.id,
                 Reservation.active) == 2
    assert logged_kinds(runtime) == ["followup.booked"]
    assert count(runtime, OutboxMessage) == 2
    assert runtime.jobs.kicks == 1


def test_after_the_worker_runs_the_event_is_in_rep_and_helper_calendars(runtime, rep, lee):
    followup = book_followup(booking(TUESDAY_3PM, helpers=["lee@example.com"]), rep=rep,
                             **runtime.deps()).followup

    runtime.tick()

    with runtime.store.reading() as session:
        events = session.scalars(select(LocalEvent).where(
            LocalEvent.uid == followup.event_uid)).all()
    assert sorted(e.calendar_id for e in events) == ["lee@example.com", "riley@example.com"]
    assert "Dana Whitfield (Acme) will send the security questionnaire" in events[0].description
    assert events[0].properties["nextstep_followup_id"] == followup.id
    refreshed = get_followup(runtime.store, followup.id)
    assert [(e.provider, e.event_id) for e in refreshed.events] == [
        ("local", followup.event_uid)]
    sent = sorted(runtime.settings.outbox_dir.glob("*.eml"))
    assert len(sent) == 2  # the prospect and the helper


def test_retrying_with_the_same_key_returns_the_first_booking(runtime, rep):
    first = book_followup(booking(TUESDAY_3PM, idempotency_key="call-42"), rep=rep,
                          **runtime.deps())
    again = book_followup(booking(TUESDAY_3PM, idempotency_key="call-42"), rep=rep,
                          **runtime.deps())

    assert (again.created, again.followup.id) == (False, first.followup.id)
    assert count(runtime, FollowUp) == 1
    assert logged_kinds(runtime) == ["followup.booked"]


def test_a_busy_rep_gets_slot_taken_and_nothing_is_written(runtime, rep):
    LocalCalendar(runtime.store).add_busy(rep.email, TUESDAY_3PM - timedelta(minutes=15),
                                          TUESDAY_3PM + timedelta(minutes=15))

    with pytest.raises(SlotTaken) as raised:
        book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps())

    assert raised.value.field == "start"
    assert count(runtime, FollowUp) == 0
    assert logged_kinds(runtime) == []


def test_a_helper_booked_elsewhere_makes_the_slot_taken(runtime, rep, lee, make_rep):
    other = make_rep("ola@example.com", name="Ola Berg", timezone="Europe/Oslo")
    book_followup(booking(TUESDAY_3PM + timedelta(minutes=15), helpers=["lee@example.com"]),
                  rep=other, **runtime.deps())

    with pytest.raises(SlotTaken, match="Lee Chen"):
        book_followup(booking(TUESDAY_3PM, helpers=["lee@example.com"]), rep=rep,
                      **runtime.deps())


def test_an_invalid_plan_names_the_field_and_writes_nothing(runtime, rep):
    bad = plan()
    bad["steps"][1]["type"] = "lunch"

    with pytest.raises(InvalidPlan) as raised:
        book_followup(booking(TUESDAY_3PM, plan=bad), rep=rep, **runtime.deps())

    assert raised.value.field == "plan.steps.1.type"
    assert count(runtime, FollowUp) == 0


def test_an_unknown_helper_is_named(runtime, rep):
    with pytest.raises(InvalidInput) as raised:
        book_followup(booking(TUESDAY_3PM, helpers=["nobody@example.com"]), rep=rep,
                      **runtime.deps())
    assert raised.value.field == "helpers.0"


def test_a_start_in_the_past_is_refused(runtime, rep):
    with pytest.raises(InvalidInput) as raised:
        book_followup(booking(runtime.clock.now() - timedelta(hours=1)), rep=rep,
                      **runtime.deps())
    assert raised.value.field == "start"


def test_rescheduling_moves_event_and_reservations_and_bumps_the_sequence(runtime, rep):
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps()).followup
    runtime.tick()
    later = TUESDAY_3PM + timedelta(days=1)

    moved = reschedule_followup(followup.id, later, actor="rep", viewer=Viewer.rep(rep.id),
                                **runtime.deps())
    runtime.tick()

    assert (moved.status, moved.sequence, moved.start) == ("rescheduled", 1, later)
    with runtime.store.reading() as session:
        event = session.get(LocalEvent, (rep.email, followup.event_uid))
        reservation = session.scalar(select(Reservation).where(
            Reservation.followup_id == followup.id))
    assert (event.start, event.sequence) == (later, 1)
    assert reservation.start == later
    assert logged_kinds(runtime) == ["followup.booked", "followup.rescheduled"]


def test_rescheduling_by_fifteen_minutes_may_overlap_its_own_old_time(runtime, rep):
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps()).followup
    runtime.tick()

    moved = reschedule_followup(followup.id, TUESDAY_3PM + timedelta(minutes=15),
                                actor="rep", viewer=Viewer.rep(rep.id), **runtime.deps())

    assert moved.start == TUESDAY_3PM + timedelta(minutes=15)


def test_rescheduling_onto_a_busy_time_is_refused_and_changes_nothing(runtime, rep):
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps()).followup
    busy_start = TUESDAY_3PM + timedelta(days=1)
    LocalCalendar(runtime.store).add_busy(rep.email, busy_start,
                                          busy_start + timedelta(hours=1))

    with pytest.raises(SlotTaken):
        reschedule_followup(followup.id, busy_start, actor="rep", viewer=Viewer.rep(rep.id),
                            **runtime.deps())

    assert get_followup(runtime.store, followup.id).start == TUESDAY_3PM


def test_cancelling_frees_the_time_and_removes_the_event(runtime, rep):
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps()).followup
    runtime.tick()

    cancelled = cancel_followup(followup.id, actor="rep", viewer=Viewer.rep(rep.id),
                                calendars=runtime.calendars, store=runtime.store,
                                clock=runtime.clock, jobs=runtime.jobs)
    runtime.tick()

    assert (cancelled.status, cancelled.sequence) == ("cancelled", 1)
    assert count(runtime, Reservation, Reservation.active) == 0
    with runtime.store.reading() as session:
        assert session.get(LocalEvent, (rep.email, followup.event_uid)).status == "cancelled"
    again = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps())
    assert again.created


def test_another_reps_followup_is_not_found(runtime, rep, make_rep):
    other = make_rep("ola@example.com")
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps()).followup

    assert get_followup(runtime.store, followup.id, viewer=Viewer.rep(other.id)) is None
