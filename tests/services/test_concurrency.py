"""Two reps' clicks on one slot at the same moment: exactly one booking, on SQLite and on
the real PostgreSQL server (exclusion constraint)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from scheduler.access import Viewer
from scheduler.accounts import add_user
from scheduler.booking import book_followup
from scheduler.errors import SlotTaken
from scheduler.store.models import FollowUp
from tests.services.helpers import booking

TUESDAY_3PM = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def _race(runtime, attempts: int) -> tuple[list, list, list]:
    rep = add_user("riley@example.com", name="Riley", timezone="America/New_York",
                   store=runtime.store, clock=runtime.clock)
    barrier = threading.Barrier(attempts)
    booked, taken, other = [], [], []

    def attempt(index: int) -> None:
        request = booking(TUESDAY_3PM, idempotency_key=f"click-{index}")
        barrier.wait()
        try:
            booked.append(book_followup(request, rep=rep, **runtime.deps()))
        except SlotTaken as exc:
            taken.append(exc)
        except Exception as exc:
            other.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return booked, taken, other


def _followups(runtime) -> int:
    with runtime.store.reading() as session:
        return session.scalar(select(func.count()).select_from(FollowUp))


def test_two_concurrent_bookings_on_sqlite_yield_exactly_one(runtime):
    booked, taken, other = _race(runtime, 2)

    assert (len(booked), len(taken), other) == (1, 1, [])
    assert _followups(runtime) == 1


@pytest.mark.postgres
def test_concurrent_bookings_on_postgresql_yield_exactly_one(pg_runtime):
    booked, taken, other = _race(pg_runtime, 20)

    assert (len(booked), len(taken), other) == (1, 19, [])
    assert _followups(pg_runtime) == 1


@pytest.mark.postgres
def test_the_exclusion_constraint_refuses_overlaps_the_application_missed(pg_runtime):
    from sqlalchemy.exc import IntegrityError

    from scheduler.store.models import Reservation

    rep = add_user("riley@example.com", name="Riley", timezone="UTC",
                   store=pg_runtime.store, clock=pg_runtime.clock)
    start = TUESDAY_3PM
    with (pytest.raises(IntegrityError, match="reservations_no_overlap"),
          pg_runtime.store.transaction() as session):
        session.add(Reservation(user_id=rep.id, start=start, end=start.replace(hour=16),
                                active=True))
        session.add(Reservation(user_id=rep.id, start=start.replace(minute=30),
                                end=start.replace(hour=17), active=True))


@pytest.mark.postgres
def test_rescheduling_and_cancelling_work_on_postgresql(pg_runtime):
    from datetime import timedelta

    from scheduler.booking import cancel_followup, reschedule_followup

    rep = add_user("riley@example.com", name="Riley", timezone="America/New_York",
                   store=pg_runtime.store, clock=pg_runtime.clock)
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **pg_runtime.deps()).followup

    moved = reschedule_followup(followup.id, TUESDAY_3PM + timedelta(minutes=15), actor="rep",
                                viewer=Viewer.rep(rep.id), **pg_runtime.deps())
    cancelled = cancel_followup(followup.id, actor="rep", viewer=Viewer.rep(rep.id),
                                store=pg_runtime.store, calendars=pg_runtime.calendars,
                                clock=pg_runtime.clock, jobs=pg_runtime.jobs)

    assert (moved.status, moved.sequence) == ("rescheduled", 1)
    assert (cancelled.status, cancelled.sequence) == ("cancelled", 2)
