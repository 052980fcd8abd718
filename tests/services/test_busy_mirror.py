"""The busy mirror against the database it mirrors. Two runtimes on one database stand for
two processes (each its own Store, pool and mirror): whatever one does (bookings, holds,
releases, expiries, moves, cancellations, busy time in the built-in calendar, the worker's
calendar writes, meetings dragged in the calendar and the syncs that follow), the other's
next proposal, answered from its warm mirror, equals the proposal a fresh process computes
by reading everything from the database."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from scheduler.access import Viewer
from scheduler.booking import (
    book_followup,
    cancel_followup,
    get_followup,
    propose_slots,
    reschedule_followup,
)
from scheduler.errors import SchedulerError
from scheduler.jobs import ManualJobs
from scheduler.lifecycle import LIVE
from scheduler.offers import create_offer, withdraw_offer
from scheduler.providers.base import EventRef
from scheduler.requests import OfferRequest
from scheduler.runtime import Nextstep
from scheduler.sync import sync_all
from tests.conftest import build_runtime, make_settings
from tests.services.helpers import PROSPECT, booking, plan, proposal

OPERATIONS = ["book", "book_with_helper", "offer", "withdraw", "expire", "cancel",
              "reschedule", "busy", "move_busy", "drop_busy", "work", "drag_booked", "sync",
              "later"]


@pytest.fixture(params=["sqlite", "postgresql"])
def pair(request, tmp_path, clock):
    """(writer, reader, settings): two runtimes on one freshly emptied database."""
    if request.param == "postgresql":
        writer = request.getfixturevalue("pg_runtime")
    else:
        writer = build_runtime(make_settings(tmp_path), clock)
    reader = Nextstep.build(writer.settings, clock=writer.clock, builders={}).use_jobs(
        ManualJobs())
    yield writer, reader
    reader.store.dispose()
    writer.store.dispose()


def fresh_proposal(runtime: Nextstep, rep, **overrides):
    """What a process that has never proposed answers: every copy read from the database."""
    fresh = Nextstep.build(runtime.settings, clock=runtime.clock, builders={})
    try:
        return propose_slots(proposal(**overrides), rep=rep, store=fresh.store,
                             calendars=fresh.calendars, clock=fresh.clock,
                             settings=fresh.settings).slots
    finally:
        fresh.store.dispose()


def mirrored_proposal(runtime: Nextstep, rep, **overrides):
    return propose_slots(proposal(**overrides), rep=rep, store=runtime.store,
                         calendars=runtime.calendars, clock=runtime.clock,
                         settings=runtime.settings).slots


class World:
    """What the writer has made so far, to pick the next operation's target from."""

    def __init__(self, writer: Nextstep, rep, helper) -> None:
        self.writer, self.rep, self.helper = writer, rep, helper
        self.followups: list[str] = []
        self.offers: list[str] = []
        self.busy: list[tuple[str, str]] = []  # (calendar, uid)

    def deps(self) -> dict:
        return self.writer.deps()

    def slot(self, pick: int, **overrides):
        slots = mirrored_proposal(self.writer, self.rep, count=4, **overrides)
        return slots[pick % len(slots)] if slots else None

    def run(self, operation: str, pick: int) -> None:
        w, rep, viewer = self.writer, self.rep, Viewer.rep(self.rep.id)
        if operation in ("book", "book_with_helper"):
            helpers = [self.helper.email] if operation == "book_with_helper" else []
            slot = self.slot(pick, helpers=helpers)
            if slot:
                booked = book_followup(booking(slot.start, helpers=helpers), rep=rep,
                                       **self.deps())
                self.followups.append(booked.followup.id)
        elif operation == "offer":
            sent = create_offer(OfferRequest.model_validate(
                {"prospect": PROSPECT, "duration_minutes": 30, "plan": plan(), "count": 2,
                 "expires_in_minutes": 60}), rep=rep, **self.deps())
            self.offers.append(sent.offer.id)
        elif operation == "withdraw" and self.offers:
            withdraw_offer(self.offers.pop(pick % len(self.offers)), rep_id=rep.id,
                           store=w.store, clock=w.clock)
        elif operation == "expire":
            w.clock.advance(timedelta(minutes=61))  # every hold so far lapses
        elif operation == "later":
            w.clock.advance(timedelta(minutes=5 * (1 + pick % 12)))
        elif operation == "cancel" and self.followups:
            cancel_followup(self.followups.pop(pick % len(self.followups)), actor="rep",
                            viewer=viewer, store=w.store, calendars=w.calendars,
                            clock=w.clock, jobs=w.jobs)
        elif operation == "reschedule" and self.followups:
            slot = self.slot(pick)
            if slot:
                reschedule_followup(self.followups[pick % len(self.followups)], slot.start,
                                    actor="rep", viewer=viewer, **self.deps())
        elif operation == "busy":
            person = self.helper if pick % 2 else rep
            slot = self.slot(pick, helpers=[self.helper.email])
            if slot:
                uid = w.calendars.local.add_busy(person.email, slot.start, slot.end)
                self.busy.append((person.email, uid))
        elif operation == "move_busy" and self.busy:
            _, uid = self.busy[pick % len(self.busy)]
            slot = self.slot(pick + 1)
            if slot:
                w.calendars.local.move(uid, slot.start, slot.end + timedelta(minutes=15))
        elif operation == "drop_busy" and self.busy:
            calendar, uid = self.busy.pop(pick % len(self.busy))
            w.calendars.local.cancel_event(EventRef("local", calendar, uid))
        elif operation == "work":
            w.tick()  # the outbox writes bookings into the built-in calendars
        elif operation == "drag_booked" and self.followups:
            # The rep drags a booked meeting in the calendar; a sync moves the follow-up.
            followup = get_followup(w.store, self.followups[pick % len(self.followups)])
            slot = self.slot(pick + 2)
            if slot and followup.status in LIVE:
                w.calendars.local.move(followup.event_uid, slot.start, slot.end)
        elif operation == "sync":
            sync_all(store=w.store, calendars=w.calendars, clock=w.clock)


@settings(max_examples=12, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 99)),
                min_size=1, max_size=10))
def test_a_warm_mirror_proposes_what_the_database_says(pair, make_rep_on, steps) -> None:
    writer, reader = pair
    rep, helper = make_rep_on(writer)
    world = World(writer, rep, helper)
    for operation, pick in steps:
        mirrored_proposal(reader, rep)  # the reader's copies are warm before each change
        mirrored_proposal(reader, rep, helpers=[helper.email])
        with suppress(SchedulerError):  # a refused change (nothing free) changes nothing
            world.run(operation, pick)
        for helpers in ([], [helper.email]):
            assert mirrored_proposal(reader, rep, count=5, helpers=helpers) == \
                fresh_proposal(writer, rep, count=5, helpers=helpers), (operation, helpers)


@pytest.fixture
def make_rep_on():
    """The rep and helper, made once per database (hypothesis runs many examples)."""
    from scheduler.accounts import add_user, get_user_by_email

    def make(runtime):
        people = []
        for email, zone in (("riley@example.com", "America/New_York"),
                            ("lee@example.com", "America/Chicago")):
            person = get_user_by_email(runtime.store, email) or add_user(
                email, name=email.split("@")[0].title(), timezone=zone,
                store=runtime.store, clock=runtime.clock)
            people.append(person)
        return people
    return make


def test_a_current_mirror_reads_no_busy_rows(runtime, rep, helpers) -> None:
    """After the first proposal, the next reads one query: users, connections, versions."""
    emails = [h.email for h in helpers]
    runtime.calendars.local.add_busy(rep.email, *_hour(runtime))
    mirrored_proposal(runtime, rep, helpers=emails)
    statements: list[str] = []

    def record(_connection, _cursor, sql, *_args) -> None:
        statements.append(sql)

    event.listen(runtime.store.engine, "before_cursor_execute", record)
    try:
        slots = mirrored_proposal(runtime, rep, helpers=emails)
    finally:
        event.remove(runtime.store.engine, "before_cursor_execute", record)
    assert len(slots) == 3
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, statements
    assert "local_events" not in reads[0] and "FROM reservations" not in reads[0]


def _hour(runtime):
    start = runtime.clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    return start, start + timedelta(hours=1)
