"""The calendar write after the commit: never lost, never duplicated, even when the
calendar fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.booking import book_followup
from scheduler.errors import ProviderRejected, ProviderUnavailable
from scheduler.providers.local import LocalCalendar
from scheduler.store.models import Connection, LocalEvent, LogEntry, OutboxMessage
from tests.conftest import build_runtime
from tests.services.helpers import booking

TUESDAY_3PM = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


class FlakyCalendar(LocalCalendar):
    """The real built-in calendar behind a connection that fails as told: before the write
    (`fail_before`) or after the write went through (`fail_after`, like a lost response)."""

    name = "flaky"

    def __init__(self, store, script: list[str]) -> None:
        super().__init__(store)
        self.script = script
        self.calls = 0

    def create_event(self, event):
        self.calls += 1
        step = self.script.pop(0) if self.script else "ok"
        if step == "fail_before":
            raise ProviderUnavailable("503 from the calendar", retry_after=1)
        if step == "reject":
            raise ProviderRejected("400 from the calendar")
        ref = super().create_event(event)
        if step == "fail_after":
            raise ProviderUnavailable("timed out after the write")
        return ref


@pytest.fixture
def flaky(settings, clock):
    script: list[str] = []
    holder: dict[str, FlakyCalendar] = {}

    def build(connection, credentials, settings, save):
        holder.setdefault("calendar", FlakyCalendar(runtime.store, script))
        return holder["calendar"]

    runtime = build_runtime(settings, clock, builders={"flaky": build})
    yield runtime, script, holder
    runtime.store.dispose()


def _rep_on_flaky(runtime, make_rep_fn):
    from scheduler.accounts import add_user

    rep = add_user("riley@example.com", name="Riley", timezone="America/New_York",
                   store=runtime.store, clock=runtime.clock)
    key_id, token = runtime.calendars.cipher.encrypt({"token": "x"})
    with runtime.store.transaction() as session:
        session.add(Connection(user_id=rep.id, provider="flaky", account=rep.email,
                               status="active", credentials=token, key_id=key_id,
                               busy_calendars=[rep.email], booking_calendar=rep.email,
                               created_at=runtime.clock.now()))
    return rep


def _events(runtime, uid) -> int:
    with runtime.store.reading() as session:
        return session.scalar(select(func.count()).select_from(LocalEvent).where(
            LocalEvent.uid == uid, LocalEvent.status != "cancelled"))


def _outbox(runtime):
    with runtime.store.reading() as session:
        return session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "calendar.sync")).all()


def test_a_provider_error_is_retried_until_the_event_is_written(flaky):
    runtime, script, holder = flaky
    rep = _rep_on_flaky(runtime, None)
    script += ["fail_before", "fail_after"]
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps()).followup

    runtime.tick()
    [message] = _outbox(runtime)
    assert message.done_at is None and message.attempts == 1
    assert "503" in message.last_error
    assert message.next_attempt_at >= runtime.clock.now() + timedelta(seconds=1)

    for _ in range(3):
        runtime.clock.advance(timedelta(hours=1))
        runtime.tick()

    [message] = _outbox(runtime)
    assert message.done_at is not None
    assert holder["calendar"].calls == 3
    assert _events(runtime, followup.event_uid) == 1


def test_a_rejected_write_stops_and_is_logged(flaky):
    runtime, script, _ = flaky
    rep = _rep_on_flaky(runtime, None)
    script.append("reject")
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps()).followup

    runtime.tick()

    [message] = _outbox(runtime)
    assert message.failed_at is not None
    with runtime.store.reading() as session:
        entry = session.scalar(select(LogEntry).where(LogEntry.kind == "calendar.write_failed"))
    assert entry.followup_id == followup.id


def test_a_crash_between_commit_and_write_loses_nothing(runtime, make_rep):
    rep = make_rep()
    followup = book_followup(booking(TUESDAY_3PM), rep=rep, **runtime.deps()).followup
    # The process "dies" here: nothing ran the outbox. A fresh worker picks it up.
    fresh = build_runtime(runtime.settings, runtime.clock)

    fresh.tick()
    fresh.tick()

    assert _events(fresh, followup.event_uid) == 1
    fresh.store.dispose()
