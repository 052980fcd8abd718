"""The fifth provider (memory_provider.py) for the contract suite, reached the way the app
reaches any provider: registered in the registry, an account connected through the
connections service, and the adapter built by Calendars from the stored credentials."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from scheduler.accounts import add_user
from scheduler.clock import SystemClock
from scheduler.connections import connect_account
from scheduler.providers.base import EventRef
from scheduler.runtime import PROVIDERS, Nextstep
from scheduler.settings import settings_from
from scheduler.store.migrate import upgrade
from tests.contract.memory_provider import NAME, MemoryBackend, MemoryCalendar, memory_provider

REP = "rep@example.com"


@dataclass
class MemoryHarness:
    provider: MemoryCalendar
    calendar_id: str = REP
    other_calendar_ids: list[str] = field(
        default_factory=lambda: ["helper1@example.com", "helper2@example.com"])
    changes_carry_followup_id: bool = True

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> None:
        self.provider.add_busy(calendar_id, start, end)

    def count_events(self, calendar_id: str) -> int:
        return len(self.provider.backend.live(calendar_id))

    def respond_as_attendee(self, ref: EventRef, email: str, response: str) -> None:
        self.provider.respond(ref.event_id, email, response)

    def move_event(self, ref: EventRef, start: datetime, end: datetime) -> None:
        self.provider.move(ref.event_id, start, end)

    def delete_event(self, ref: EventRef) -> None:
        self.provider.cancel_event(ref)


@contextmanager
def open_harness(tmp_path) -> Iterator[MemoryHarness]:
    settings = settings_from({"database_url": f"sqlite:///{tmp_path / 'memory.sqlite3'}",
                              "secret_key": "contract-secret"})
    upgrade(settings.database_url)
    runtime = Nextstep.build(settings, clock=SystemClock(),
                             providers=PROVIDERS.with_provider(memory_provider(MemoryBackend())))
    try:
        rep = add_user(REP, store=runtime.store, clock=runtime.clock)
        connection = connect_account(user_id=rep.id, provider=NAME,
                                     credentials={"email": REP, "account_id": REP},
                                     store=runtime.store, calendars=runtime.calendars,
                                     clock=runtime.clock)
        yield MemoryHarness(provider=runtime.calendars.provider(NAME, connection.id))
    finally:
        runtime.store.dispose()
