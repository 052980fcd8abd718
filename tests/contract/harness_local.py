"""The built-in calendar on a real SQLite database, for the contract suite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from scheduler.providers.base import EventRef
from scheduler.providers.local import LocalCalendar
from scheduler.store import Store
from scheduler.store.migrate import upgrade
from scheduler.store.models import LocalEvent, User


@dataclass
class LocalHarness:
    provider: LocalCalendar
    calendar_id: str = "rep@example.com"
    other_calendar_ids: list[str] = field(
        default_factory=lambda: ["helper1@example.com", "helper2@example.com"])
    changes_carry_followup_id: bool = True

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> None:
        self.provider.add_busy(calendar_id, start, end)

    def count_events(self, calendar_id: str) -> int:
        with self.provider.store.reading() as session:
            return session.scalar(select(func.count()).select_from(LocalEvent).where(
                LocalEvent.calendar_id == calendar_id, LocalEvent.status != "cancelled"))

    def respond_as_attendee(self, ref: EventRef, email: str, response: str) -> None:
        self.provider.respond(ref.event_id, email, response)

    def move_event(self, ref: EventRef, start: datetime, end: datetime) -> None:
        self.provider.move(ref.event_id, start, end)

    def delete_event(self, ref: EventRef) -> None:
        self.provider.cancel_event(ref)


@contextmanager
def open_harness(tmp_path) -> Iterator[LocalHarness]:
    url = f"sqlite:///{tmp_path / 'local.sqlite3'}"
    upgrade(url)
    store = Store(url)
    with store.transaction() as session:
        for email in ("rep@example.com", "helper1@example.com", "helper2@example.com"):
            session.add(User(email=email, name=email.split("@")[0], timezone="UTC",
                             working_hours={}, created_at=datetime.now(UTC)))
    try:
        yield LocalHarness(provider=LocalCalendar(store))
    finally:
        store.dispose()
