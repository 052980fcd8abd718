"""A follow-up followed for its whole life through sync, on every calendar Nextstep books
into: the built-in one, Google (google-api-python-client against the emulator) and Outlook
(msal and Graph against the emulator). The prospect declines, the rep moves the event, the
prospect accepts, the rep deletes it; each change is seen in one sync, then seen again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from scheduler.accounts import add_user
from scheduler.booking import book_followup, get_followup
from scheduler.connections import connect_account
from scheduler.providers.base import EventRef
from scheduler.providers.local import LocalCalendar
from scheduler.runtime import Nextstep, default_builders
from scheduler.store.models import Connection, LogEntry, Reservation, User
from scheduler.sync import sync_all
from tests.conftest import build_runtime, make_settings
from tests.contract.harness_google import running_emulator
from tests.contract.harness_outlook import emulated_outlook
from tests.services.helpers import PROSPECT, booking

TUESDAY_3PM = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
REP = "rep@example.com"
DANA = PROSPECT["email"]


@dataclass
class World:
    """Nextstep booking into one calendar, and the people acting on the event there."""

    runtime: Nextstep
    backend: Any  # the emulator's state, or the built-in calendar
    name: str
    credentials: dict[str, Any] | None = None  # what connecting the account returned
    rep: User | None = None

    def event_id(self, followup_id: str) -> str:
        [record] = get_followup(self.runtime.store, followup_id).events
        return record.event_id

    def respond(self, event_id: str, response: str) -> None:
        if self.name == "google":
            self.backend.respond(REP, event_id, DANA, response)
        else:
            self.backend.respond(event_id, DANA, response)

    def move(self, event_id: str, start: datetime) -> None:
        end = start + timedelta(minutes=30)
        if self.name == "google":
            self.backend.move(REP, event_id, start, end)
        elif self.name == "outlook":
            self.backend.move_event(event_id, start, end)
        else:
            self.backend.move(event_id, start, end)

    def delete(self, event_id: str) -> None:
        if self.name == "google":
            self.backend.delete_event(REP, event_id)
        elif self.name == "outlook":
            self.backend.delete_event(event_id)
        else:
            self.backend.cancel_event(EventRef("local", REP, event_id))


def _local(stack: ExitStack, tmp_path, clock) -> World:
    runtime = build_runtime(make_settings(tmp_path), clock)
    return World(runtime, LocalCalendar(runtime.store), "local")


def _google(stack: ExitStack, tmp_path, clock) -> World:
    google = stack.enter_context(running_emulator())
    identity = google.state.identity
    runtime = build_runtime(make_settings(tmp_path, **google.pointing), clock,
                            builders=default_builders())
    return World(runtime, google.state, "google",
                 credentials={**identity.issue(), "email": REP, "email_verified": True})


def _outlook(stack: ExitStack, tmp_path, clock) -> World:
    outlook = stack.enter_context(emulated_outlook())
    runtime = build_runtime(make_settings(tmp_path, **outlook.pointing), clock,
                            builders=default_builders(outlook.session), http=outlook.session)
    return World(runtime, outlook.state, "outlook", credentials=outlook.connect())


@pytest.fixture(params=["local", "google", "outlook"])
def world(request, tmp_path, clock) -> Iterator[World]:
    with ExitStack() as stack:
        opened = {"local": _local, "google": _google, "outlook": _outlook}[request.param](
            stack, tmp_path, clock)
        opened.rep = add_user(REP, name="Riley Rep", timezone="America/New_York",
                              store=opened.runtime.store, clock=clock)
        if opened.credentials is not None:
            connect_account(user_id=opened.rep.id, provider=opened.name,
                            credentials=opened.credentials,
                            store=opened.runtime.store, calendars=opened.runtime.calendars,
                            clock=clock)
        yield opened
        opened.runtime.store.dispose()


def _sync(world: World) -> int:
    """Sync every connection; how many changes the calendars reported."""
    runtime = world.runtime
    return sum(result.changes for result in sync_all(
        store=runtime.store, calendars=runtime.calendars, clock=runtime.clock))


def _sync_twice(world: World) -> None:
    """Sync, then deliver the same changes again (a replayed page, a re-sent delta): the
    cursors are put back to where they were and the sync runs once more."""
    with world.runtime.store.reading() as session:
        cursors = dict(session.execute(select(Connection.id, Connection.sync_cursor)).all())
    _sync(world)
    with world.runtime.store.transaction() as session:
        for connection in session.scalars(select(Connection)):
            connection.sync_cursor = cursors[connection.id]
    assert _sync(world) > 0  # the change really came again


def _entries(world: World, followup_id: str) -> list[tuple[str, dict]]:
    with world.runtime.store.reading() as session:
        return [(e.kind, e.data) for e in session.scalars(
            select(LogEntry).where(LogEntry.followup_id == followup_id).order_by(LogEntry.id))]


def _claimed(world: World, followup_id: str) -> list[tuple[datetime, datetime]]:
    with world.runtime.store.reading() as session:
        return list(session.execute(select(Reservation.start, Reservation.end).where(
            Reservation.followup_id == followup_id, Reservation.active)).all())


def _book(world: World):
    followup = book_followup(booking(TUESDAY_3PM), rep=world.rep,
                             **world.runtime.deps()).followup
    world.runtime.tick()
    _sync(world)  # our own write comes back first: it changes nothing
    return followup


def test_decline_move_accept_delete_each_change_once_whatever_the_calendar(world):
    followup = _book(world)
    event_id = world.event_id(followup.id)
    via = f"calendar:{world.name}"
    later = TUESDAY_3PM + timedelta(days=2)

    world.respond(event_id, "declined")
    _sync_twice(world)
    declined = get_followup(world.runtime.store, followup.id)
    assert declined.status == "declined"
    assert _claimed(world, followup.id) == []

    world.move(event_id, later)
    _sync_twice(world)
    moved = get_followup(world.runtime.store, followup.id)
    assert (moved.status, moved.start) == ("rescheduled", later)
    assert moved.sequence == declined.sequence + 1
    assert _claimed(world, followup.id) == [(later, later + timedelta(minutes=30))]

    world.respond(event_id, "accepted")
    _sync_twice(world)
    accepted = get_followup(world.runtime.store, followup.id)
    assert (accepted.status, accepted.sequence) == ("rescheduled", moved.sequence)

    world.delete(event_id)
    _sync_twice(world)
    deleted = get_followup(world.runtime.store, followup.id)
    assert (deleted.status, deleted.sequence) == ("cancelled", accepted.sequence + 1)
    assert _claimed(world, followup.id) == []

    entries = _entries(world, followup.id)
    assert [kind for kind, _ in entries] == [
        "followup.booked", "attendee.declined", "followup.rescheduled", "attendee.accepted",
        "followup.cancelled"]
    assert [(data.get("by"), data.get("via")) for _, data in entries[1:]] == [
        ("prospect", via), ("rep", via), ("prospect", via), ("rep", via)]
    assert entries[2][1]["start"] == later.isoformat().replace("+00:00", "Z")


def test_accepting_after_a_decline_makes_the_followup_booked_again(world):
    followup = _book(world)
    event_id = world.event_id(followup.id)

    world.respond(event_id, "declined")
    _sync(world)
    world.respond(event_id, "accepted")
    _sync_twice(world)

    again = get_followup(world.runtime.store, followup.id)
    assert (again.status, again.sequence) == ("booked", followup.sequence)
    assert _claimed(world, followup.id) == [(TUESDAY_3PM, TUESDAY_3PM + timedelta(minutes=30))]
    assert [kind for kind, _ in _entries(world, followup.id)] == [
        "followup.booked", "attendee.declined", "attendee.accepted"]
